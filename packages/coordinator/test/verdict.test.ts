import t from 'tap'
import type { ProbeResult } from '@portcheck/protocol'
import type { PlannedCheck } from '../src/plan/expand.js'
import type { JudgedSample } from '../src/scheduler/path-stats.js'
import { decide, type Observation } from '../src/scheduler/verdict.js'

const check = (protocol: 'tcp' | 'udp' = 'tcp'): PlannedCheck => ({
  index: 0, flowIds: ['F'], from: 'a', to: 'b', fromRole: 'x', toRole: 'y', fromAddress: '198.18.0.1', toAddress: '198.18.0.2', family: 'ipv4', protocol, port: 9638, required: true, skip: null
})
const result = (outcome: ProbeResult['outcome'], extra: Partial<ProbeResult> = {}): ProbeResult => ({ id: 0, outcome, latencyMs: null, attempts: 1, unanswered: 0, echo: 'none', ...extra })
/** A clean path: 200 answered attempts, none lost. */
const clean: JudgedSample = { sample: { attempts: 200, failed: 0 }, scope: 'path', rttMs: 0.3 }
/** A path losing a third of its attempts. */
const lossy: JudgedSample = { sample: { attempts: 300, failed: 100 }, scope: 'path', rttMs: 0.3 }
const owners: Record<string, string> = { '198.18.0.1': 'a', '198.18.0.2': 'b', '198.18.0.3': 'c' }
const obs = (o: Partial<Observation>): Observation => ({
  source: 'ok', target: 'ok', misplaced: {}, listener: 'open', result: null, receipts: [], ownerOf: (x) => owners[x], reached: 0, judged: clean, roundsLeft: 0, aborted: false, ...o
})
const proof = { agent: 'b', protocol: 'tcp' as const, port: 9638, address: '198.18.0.1' }

t.test('pass needs the nonce at the target listener of this protocol and port, from the source', async (t) => {
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }), receipts: [proof] })), { status: 'pass', reason: null, observedSource: '198.18.0.1' })
  t.match(decide(check(), obs({ source: 'lost', result: null, receipts: [proof] })), { status: 'pass' }, 'proof stands even if the source left afterwards')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }) })), { status: 'blocked', reason: 'intercepted' }, 'a completed connection with an echo is not proof')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [{ ...proof, port: 9639 }] })), { status: 'blocked', reason: 'intercepted', detail: /arrived at b on tcp\/9639/ }, 'nonce on another port: redirected')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [{ ...proof, agent: 'c' }] })), { status: 'blocked', reason: 'intercepted', detail: /arrived at c/ }, 'nonce at another host')
  t.match(decide(check('udp'), obs({ result: result('timeout'), receipts: [{ ...proof, protocol: 'udp' }] })), { status: 'pass', echo: 'none' }, 'UDP one way: pass without echo')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }), receipts: [{ ...proof, address: '198.18.0.3' }] })),
    { status: 'inconclusive', reason: 'agent-misplaced', detail: /from 198\.18\.0\.3, which is c's address, not from a/ }, 'a nonce from another inventory host\'s address is never a pass')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }), receipts: [{ ...proof, address: '203.0.113.9' }] })), { status: 'pass' }, 'an address no inventory host has: NAT on the way, still a pass')
})

t.test('positive evidence of a block', async (t) => {
  for (const [outcome, reason] of [['refused', 'refused'], ['unreachable', 'unreachable'], ['egress-denied', 'egress-denied']] as const) {
    t.match(decide(check('udp'), obs({ result: result(outcome), judged: lossy })), { status: 'blocked', reason }, `${outcome}, whatever the loss`)
  }
  t.match(decide(check('udp'), obs({ result: result('replied', { echo: 'other' }), judged: lossy })), { status: 'blocked', reason: 'intercepted' }, 'something else answered')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'other', connected: [40000] }), judged: lossy })), { status: 'blocked', reason: 'intercepted' }, 'bytes that are not our acknowledgement')
})

t.test('silence is blocked only when the measured loss cannot explain it', async (t) => {
  t.match(decide(check(), obs({ result: result('timeout', { attempts: 8, unanswered: 8 }) })), { status: 'blocked', reason: 'timeout', detail: /no answer to 8 attempt\(s\).*lost 0% of 200 attempts/ }, 'clean path, 8 unanswered')
  t.match(decide(check(), obs({ result: result('timeout', { attempts: 2, unanswered: 2 }) })), { status: 'inconclusive', reason: 'lossy-path' }, 'two unanswered attempts are not evidence, even on a clean path')
  t.match(decide(check(), obs({ result: result('timeout', { attempts: 8, unanswered: 8 }), judged: lossy })), { status: 'inconclusive', reason: 'lossy-path', detail: /lost 33% of 300 attempts/ }, 'on a lossy path, eight are not enough')
  t.match(decide(check(), obs({ result: result('timeout', { attempts: 40, unanswered: 40 }), judged: lossy })), { status: 'blocked', reason: 'timeout' }, 'forty are')
  const more = decide(check(), obs({ result: result('timeout', { attempts: 8, unanswered: 8 }), judged: lossy, roundsLeft: 1 }))
  t.match(more, { status: 'inconclusive', reason: 'lossy-path' })
  t.ok(more.more !== undefined && more.more > 0 && more.more <= 40, `another round asks for ${more.more} more attempts`)
  t.equal(decide(check(), obs({ result: result('timeout', { unanswered: 8 }), judged: lossy, roundsLeft: 0 })).more, undefined, 'no round left: final')
  t.match(decide(check(), obs({ result: result('timeout', { unanswered: 6 }), judged: null })), { status: 'inconclusive', reason: 'lossy-path', detail: /nothing was measured/ }, 'nothing measured anywhere: the prior alone asks for more than 6')
  t.match(decide(check(), obs({ result: result('timeout', { unanswered: 8 }), judged: null })), { status: 'blocked', reason: 'timeout' }, 'and 8 are enough (one lost attempt in 20 assumed)')
})

t.test('completed handshakes: interception needs the target listener never to have seen them', async (t) => {
  const silent = result('connected', { attempts: 8, unanswered: 8, connected: [40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008] })
  t.match(decide(check(), obs({ result: silent })), { status: 'blocked', reason: 'intercepted', detail: /completed 8 time\(s\) but b's listener never accepted one/ }, 'a silent interceptor on a clean path')
  t.match(decide(check(), obs({ result: silent, reached: 2, roundsLeft: 1 })), { status: 'inconclusive', reason: 'lossy-path' }, 'two reached our listener: data lost on the way, not interception; probe again')
  t.match(decide(check(), obs({ result: silent, reached: 8 })), { status: 'blocked', reason: 'timeout', detail: /reached b's listener 8 time\(s\), but the probe's data never did/ }, 'every one reached us and no data ever did: the payload is dropped')
  t.match(decide(check(), obs({ result: result('connected', { attempts: 3, unanswered: 3, connected: [1, 2, 3] }), judged: lossy })), { status: 'inconclusive', reason: 'lossy-path' }, 'three handshakes on a lossy path prove nothing')
})

t.test('agents missing, misplaced or lost, and aborted runs', async (t) => {
  t.match(decide(check(), obs({ listener: null, result: result('timeout') })), { status: 'inconclusive', reason: 'agent-lost' }, 'target never confirmed its listener')
  t.match(decide(check(), obs({ target: 'lost', result: result('timeout') })), { status: 'inconclusive', reason: 'agent-lost' }, 'target left: receipts may be lost')
  t.match(decide(check(), obs({ result: result('error', { error: 'EMFILE' }) })), { status: 'inconclusive', reason: 'probe-error', detail: /EMFILE/ })
  t.match(decide(check(), obs({ result: result('unresolved', { error: 'EAI_AGAIN' }) })), { status: 'inconclusive', reason: 'unresolved', detail: /could not resolve 198\.18\.0\.2 \(EAI_AGAIN\)/ })
  t.match(decide(check(), obs({ result: null })), { status: 'inconclusive', reason: 'agent-lost' }, 'no result')
  t.match(decide(check(), obs({ result: null, aborted: true })), { status: 'inconclusive', reason: 'aborted' })
  t.match(decide(check(), obs({ result: result('timeout', { unanswered: 40 }), aborted: true })), { status: 'inconclusive', reason: 'aborted' }, 'an aborted run skipped its barrier: no absence of proof is read as blocked')
  t.match(decide(check(), obs({ result: result('connected'), receipts: [proof], aborted: true })), { status: 'pass' }, 'proof stands in an aborted run')
  t.match(decide(check(), obs({ target: 'missing', listener: null })), { status: 'inconclusive', reason: 'agent-missing', detail: 'no agent joined for b' })
  t.match(decide(check(), obs({ target: 'misplaced', misplaced: { target: "b's agent runs elsewhere" }, listener: null })), { status: 'inconclusive', reason: 'agent-misplaced', detail: "b's agent runs elsewhere" })
  t.match(decide({ ...check(), skip: 'external' }, obs({})), { status: 'skipped', reason: 'external' })
})

t.test('listeners that could not be opened', async (t) => {
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: null })), { status: 'inconclusive', reason: 'port-in-use' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('connected') })), { status: 'pass', reason: 'existing-listener' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('refused') })), { status: 'inconclusive', reason: 'port-in-use' })
  t.match(decide(check(), obs({ listener: 'in-use', result: result('timeout', { unanswered: 10 }) })), { status: 'blocked', reason: 'timeout' })
  t.match(decide(check(), obs({ listener: 'denied', listenerError: 'EACCES' })), { status: 'inconclusive', reason: 'bind-denied', detail: /EACCES/ })
  t.match(decide(check(), obs({ listener: 'failed', listenerError: 'EADDRNOTAVAIL' })), { status: 'inconclusive', reason: 'bind-failed' })
})

t.test('address families: none in common, a gap on one end, proof over the other family', async (t) => {
  const v6to4: PlannedCheck = { ...check(), fromAddress: '2001:2::1', toAddress: '198.18.0.2', family: null }
  t.match(decide(v6to4, obs({ result: null, listener: null })), { status: 'inconclusive', reason: 'no-common-family', detail: /a has only an IPv6 address in the inventory \(2001:2::1\) and b only an IPv4 one \(198\.18\.0\.2\)/ }, 'whatever the agents did')
  t.match(decide(v6to4, obs({ source: 'missing' })), { reason: 'no-common-family' }, 'before any agent question: no agent would change it')
  const six: PlannedCheck = { ...check(), fromAddress: '2001:2::1', toAddress: '2001:2::2', family: 'ipv6' }
  t.match(decide(six, obs({ familyGap: { host: 'b', reason: 'agent-misplaced', detail: "b's agent does not have b's inventory IPv6 address" }, listener: null })),
    { status: 'inconclusive', reason: 'agent-misplaced', agentHosts: ['b'], detail: /IPv6 address/ }, 'an end that cannot serve the family')
  t.match(decide(six, obs({ familyGap: { host: 'a', reason: 'no-common-family', detail: "a's agent runs on a host with no IPv6 address" }, listener: null })),
    { status: 'inconclusive', reason: 'no-common-family', detail: /no IPv6 address/ })
  t.match(decide(six, obs({ result: result('connected', { echo: 'ours' }), receipts: [{ ...proof, address: '2001:2::1' }] })), { status: 'pass', observedSource: '2001:2::1' }, 'proof from the source\'s IPv6 address')
  t.match(decide(six, obs({ result: result('connected', { echo: 'ours' }), receipts: [{ ...proof, address: '198.18.0.99' }] })),
    { status: 'inconclusive', reason: 'translated', observedSource: '198.18.0.99', detail: /from 198\.18\.0\.99, an IPv4 address, though it was sent over IPv6 to 2001:2::2/ }, 'an IPv6 check proven over IPv4 is no pass')
  const named: PlannedCheck = { ...check(), toAddress: 'b.example', family: null }
  t.match(decide(named, obs({ result: result('connected', { echo: 'ours', address: '2001:2::2' }), receipts: [{ ...proof, address: '198.18.0.1' }] })),
    { status: 'inconclusive', reason: 'translated' }, 'a name resolved to IPv6, proven over IPv4: translated')
  t.match(decide(named, obs({ result: result('connected', { echo: 'ours', address: '198.18.0.2' }), receipts: [proof] })), { status: 'pass' }, 'resolved to IPv4, proven over IPv4')
})

t.test('a UDP port another process holds: counted arrivals prove it, nothing else does', async (t) => {
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: result('timeout', { unanswered: 12 }), counted: 3 })), { status: 'pass', reason: 'counted', detail: "another process holds udp/9638 on b; b's agent counted 3 probe datagram(s) of this check from a getting past b's firewall" })
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: result('replied', { echo: 'other' }), counted: 1 })), { status: 'pass', reason: 'counted' }, 'the other process answering does not matter: the datagram arrived')
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: result('timeout', { unanswered: 40 }), counted: 0 })), { status: 'inconclusive', reason: 'port-in-use', detail: /b's agent counted none of the probe's datagrams arriving/ }, 'none counted is no proof of a drop either: it stays unproven')
  t.match(decide(check('udp'), obs({ listener: 'in-use', result: null, counted: null })), { status: 'inconclusive', reason: 'port-in-use', detail: 'another process holds udp/9638 on b; stop it, or check this port once it is free' }, 'not counted (no root on the target): as before')
  t.match(decide(check('udp'), obs({ listener: 'open', result: result('timeout', { unanswered: 8 }), counted: 5 })), { status: 'blocked', reason: 'timeout' }, 'a count never stands in for our own listener')
})

t.test('a TCP port another process holds: a completed handshake, proven by its SYN where the target counts them', async (t) => {
  const connected = result('connected', { connected: [40001, 40002] })
  t.match(decide(check(), obs({ listener: 'in-use', result: connected })), { status: 'pass', reason: 'existing-listener', detail: 'another process holds tcp/9638 on b; a connection to it completed' }, 'not counted (no root on the target): the handshake is all there is')
  t.match(decide(check(), obs({ listener: 'in-use', result: connected, syns: 2 })), { status: 'pass', reason: 'counted', detail: "another process holds tcp/9638 on b; b's agent saw the SYN of 2 of a's completed connection(s) to it getting past b's firewall" }, 'the SYN of the very connection reached b: b answered')
  t.match(decide(check(), obs({ listener: 'in-use', result: connected, syns: 0 })), { status: 'inconclusive', reason: 'port-in-use', detail: "another process holds tcp/9638 on b; a connection to it completed, but b's agent saw none of its SYNs arrive from a: something else may have answered in b's place (a DNAT, a proxy or another host on the way), or a NAT changed a's address; stop that process and re-run, or check this port once it is free" }, 'counted, and none seen: not a pass, for something else may have answered')
  t.match(decide(check(), obs({ listener: 'in-use', result: connected, syns: 0, synsOverflowed: true })), { status: 'inconclusive', reason: 'port-in-use', detail: /b reported more SYNs than a run keeps/ }, 'none seen, but not every SYN was kept: said so')
  t.match(decide(check(), obs({ listener: 'in-use', result: connected, syns: 1, synsOverflowed: true })), { status: 'pass', reason: 'counted' }, 'one seen is proof, whatever was not kept')
  t.match(decide(check(), obs({ listener: 'in-use', result: result('refused'), syns: 0 })), { status: 'inconclusive', reason: 'port-in-use' }, 'refused: as before')
})

t.test('a flooded TCP listener: its silence is no evidence of a firewall', async (t) => {
  const silentSyns = result('timeout', { unanswered: 8 })
  t.match(decide(check(), obs({ result: silentSyns, crowd: 1312 })), { status: 'inconclusive', reason: 'listener-flooded', detail: /b's listener accepted 1312 connection\(s\) from other addresses that never sent a nonce while a's 8 attempt\(s\) went unanswered/ }, 'unanswered handshakes while others crowd the listener')
  t.match(decide(check(), obs({ result: result('timeout', { unanswered: 8, connected: [40001, 40002] }), crowd: 64 })), { status: 'inconclusive', reason: 'listener-flooded' }, 'handshakes the crowded listener never accepted: not interception')
  t.match(decide(check(), obs({ result: result('connected', { attempts: 8, unanswered: 8, connected: [40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008] }), reached: 8, crowd: 500 })), { status: 'blocked', reason: 'timeout', detail: /reached b's listener 8 time\(s\), but the probe's data never did/ }, 'our listener accepted it and the payload never came: still a drop')
  t.match(decide(check(), obs({ result: silentSyns, crowd: 63 })), { status: 'blocked', reason: 'timeout' }, 'a few nonce-less connections from others (a lossy path) are no flood')
  t.match(decide(check('udp'), obs({ result: silentSyns, crowd: 1000 })), { status: 'blocked', reason: 'timeout' }, 'TCP listeners only')
  t.match(decide(check(), obs({ result: result('connected', { echo: 'ours' }), receipts: [proof], crowd: 5000 })), { status: 'pass' }, 'the nonce arrived: a pass, flood or not')
})

t.test('a flooded UDP listener: datagrams its socket dropped make silence no evidence of a firewall', async (t) => {
  const silent = result('timeout', { unanswered: 8 })
  const flood = { port: 9638, strangers: 250_000, dropped: 41_000 }
  t.match(decide(check('udp'), obs({ result: silent, udpCrowd: flood })),
    { status: 'inconclusive', reason: 'listener-flooded', detail: "b's listener dropped 41000 datagram(s) because its receive buffer was full (it read 250000 datagram(s) that were no probe) while a's 8 attempt(s) went unanswered: a flood fills the socket faster than it is read, so this silence is no evidence of a firewall; stop the flood, or re-run when it is over" }, 'the last round: inconclusive')
  t.notOk('more' in decide(check('udp'), obs({ result: silent, udpCrowd: flood })), 'the last round asks for nothing more')
  t.match(decide(check('udp'), obs({ result: silent, udpCrowd: flood, roundsLeft: 2 })), { status: 'inconclusive', reason: 'listener-flooded', more: 40 }, 'rounds left: another round may get a probe through')
  t.match(decide(check('udp'), obs({ result: silent, udpCrowd: { ...flood, dropped: 0 } })), { status: 'blocked', reason: 'timeout' }, 'strangers read, none dropped: every datagram that arrived was read, so the probe\'s never did')
  t.match(decide(check('udp'), obs({ result: silent, udpCrowd: { ...flood, dropped: null } })), { status: 'blocked', reason: 'timeout' }, 'drops unknown: as without a flood')
  t.match(decide(check(), obs({ result: silent, udpCrowd: flood })), { status: 'blocked', reason: 'timeout' }, 'a TCP check is not judged on a UDP listener')
  t.match(decide(check('udp'), obs({ result: silent, receipts: [{ ...proof, protocol: 'udp' }], udpCrowd: flood })), { status: 'pass' }, 'the nonce arrived: a pass, flood or not')
  t.match(decide(check('udp'), obs({ result: result('unreachable'), udpCrowd: flood })), { status: 'blocked', reason: 'unreachable' }, 'positive evidence of a block stands')
})
