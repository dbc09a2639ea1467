import t from 'tap'
import type { ProbeResult } from '@portcheck/protocol'
import type { PlannedCheck } from '../src/plan/expand.js'
import { decide, type Observation } from '../src/scheduler/verdict.js'

const check = (protocol: 'tcp' | 'udp' = 'tcp'): PlannedCheck => ({
  index: 0, flowIds: ['F'], from: 'a', to: 'b', fromRole: 'x', toRole: 'y', fromAddress: '198.18.0.1', toAddress: '198.18.0.2', protocol, port: 9638, required: true, skip: null
})
const result = (outcome: ProbeResult['outcome'], extra: Partial<ProbeResult> = {}): ProbeResult => ({ id: 0, outcome, latencyMs: null, attempts: 1, echo: 'none', ...extra })
const obs = (o: Partial<Observation>): Observation => ({ source: 'ok', target: 'ok', listener: 'open', result: null, receipts: [], aborted: false, ...o })
const proof = { agent: 'b', protocol: 'tcp' as const, port: 9638, address: '198.18.0.1' }

t.test('pass needs the nonce at the target listener of this protocol and port', async (t) => {
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }), receipts: [proof] })), { status: 'pass', reason: null, observedSource: '198.18.0.1' })
  t.match(decide(check(), obs({ source: 'lost', result: null, receipts: [proof] })), { status: 'pass' }, 'proof stands even if the source left afterwards')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }) })), { status: 'blocked', reason: 'intercepted' }, 'a completed connection with an echo is not proof')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [{ ...proof, port: 9639 }] })), { status: 'blocked', reason: 'intercepted', detail: /arrived at b on tcp\/9639/ }, 'nonce on another port: redirected')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [{ ...proof, agent: 'c' }] })), { status: 'blocked', reason: 'intercepted', detail: /arrived at c/ }, 'nonce at another host')
  t.match(decide(check('udp'), obs({ result: result('timeout'), receipts: [{ ...proof, protocol: 'udp' }] })), { status: 'pass', echo: 'none' }, 'UDP one way: pass without echo')
})

t.test('blocked only with the listener confirmed open', async (t) => {
  for (const [outcome, reason] of [['timeout', 'timeout'], ['refused', 'refused'], ['unreachable', 'unreachable'], ['egress-denied', 'egress-denied'], ['replied', 'intercepted']] as const) {
    t.match(decide(check('udp'), obs({ result: result(outcome) })), { status: 'blocked', reason }, outcome)
  }
  t.match(decide(check(), obs({ listener: null, result: result('timeout') })), { status: 'inconclusive', reason: 'agent-lost' }, 'target never confirmed its listener')
  t.match(decide(check(), obs({ target: 'lost', result: result('timeout') })), { status: 'inconclusive', reason: 'agent-lost' }, 'target left: receipts may be lost')
  t.match(decide(check(), obs({ result: result('error', { error: 'EMFILE' }) })), { status: 'inconclusive', reason: 'probe-error', detail: /EMFILE/ })
  t.match(decide(check(), obs({ result: null })), { status: 'inconclusive', reason: 'agent-lost' }, 'no result')
  t.match(decide(check(), obs({ result: null, aborted: true })), { status: 'inconclusive', reason: 'aborted' })
  t.match(decide(check(), obs({ result: result('timeout'), aborted: true })), { status: 'inconclusive', reason: 'aborted' }, 'an aborted run skipped its barrier: no absence of proof is read as blocked')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [proof], aborted: true })), { status: 'pass' }, 'proof stands in an aborted run')
})

t.test('listeners that could not be opened', async (t) => {
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: null })), { status: 'inconclusive', reason: 'port-in-use' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('connected') })), { status: 'pass', reason: 'existing-listener' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('refused') })), { status: 'inconclusive', reason: 'port-in-use' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('timeout') })), { status: 'blocked', reason: 'timeout' })
  t.match(decide(check(), obs({ listener: 'denied', listenerError: 'EACCES' })), { status: 'inconclusive', reason: 'bind-denied', detail: /EACCES/ })
  t.match(decide(check(), obs({ listener: 'failed', listenerError: 'EADDRNOTAVAIL' })), { status: 'inconclusive', reason: 'bind-failed' })
})

t.test('missing agents and skips', async (t) => {
  t.match(decide(check(), obs({ target: 'missing', listener: null })), { status: 'inconclusive', reason: 'agent-missing', detail: 'no agent joined for b' })
  t.match(decide({ ...check(), skip: 'external' }, obs({})), { status: 'skipped', reason: 'external' })
})
