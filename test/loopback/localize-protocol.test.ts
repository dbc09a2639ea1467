import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { ProbeOrder, TraceStartMessage } from '@portcheck/protocol'
import { FakeAgent } from '../support/fake-agent.js'
import { startCoordinator } from '../support/loopback.js'

// Drop localization as the coordinator runs it, with agents speaking the protocol by hand: what
// it asks (only blocked checks, each of its ends in its role), what it takes from the answers
// (only what it asked for), and how an agent that refuses or never answers is reported. The real
// tracing is the namespace lab's (test/lab/closed-loop.test.ts).

// Loopback addresses 127.76.0.x belong to this file (the fake agents bind nothing).
const hosts = [{ name: 'app1', address: '127.76.0.12', roles: ['app'] }, { name: 'db1', address: '127.76.0.14', roles: ['db'] }, { name: 'db2', address: '127.76.0.15', roles: ['db'] }]

function catalog (dir: string): string {
  const file = path.join(dir, 'catalog.yaml')
  writeFileSync(file, 'id: loc\ntitle: Localization\nroles:\n  app: { title: App }\n  db: { title: DB }\nflows:\n  - { id: F-1, from: app, to: db, tcp: [15432], purpose: test }\n')
  return file
}

const RULE = { family: 'inet', table: 'filter', chain: 'input', handle: 7, text: 'tcp dport 15432 drop', owner: 'nftables' }

t.test('the coordinator asks each end in its role, takes only what it asked, and says who could not trace', async (t) => {
  const c = await startCoordinator(t, { catalogFile: catalog(t.testdir()), hosts })
  const traced: Record<string, TraceStartMessage['items']> = {}
  const reprobes: ProbeOrder[] = []
  // app1's probes: db1's silent (blocked), db2's answered (db2 reports the nonce: a pass).
  let db2: FakeAgent | null = null
  const app1 = new FakeAgent(c, 'app1', {
    nftables: { usable: true },
    onProbes: (orders, me) => {
      for (const o of orders) {
        if (o.nonce.length !== 16) reprobes.push(o)
        if (o.host === '127.76.0.15' && o.nonce.length === 16) db2?.send({ type: 'received', runId: db2.runId, items: [{ protocol: 'tcp', port: 15432, nonce: o.nonce, address: '127.76.0.12', remotePort: 40000 }] })
      }
      me.results(orders.map((o) => ({ id: o.id, outcome: 'timeout', latencyMs: null, attempts: 10, unanswered: 10, echo: 'none' })))
    },
    onTraceStart: (m, me) => { traced.app1 = m.items; me.send({ type: 'trace-ready', runId: m.runId, error: 'not root' }) }
  })
  const db1 = new FakeAgent(c, 'db1', {
    nftables: { usable: true },
    onTraceStart: (m, me) => { traced.db1 = m.items; me.send({ type: 'trace-ready', runId: m.runId }) },
    onTraceStop: (me) => me.send({
      type: 'trace-result',
      runId: me.runId,
      items: [
        { id: 0, role: 'target', seen: 3, passed: 0, dropped: 3, rule: RULE },
        // Findings for what it was not asked: another role, another check. Ignored.
        { id: 0, role: 'source', seen: 3, passed: 0, dropped: 3, rule: { ...RULE, chain: 'output' } },
        { id: 1, role: 'target', seen: 3, passed: 0, dropped: 3, rule: RULE }
      ]
    })
  })
  db2 = new FakeAgent(c, 'db2', { nftables: { usable: false, why: 'nft not found' } })
  await Promise.all([app1.joined(), db1.joined(), db2.joined()])

  const run = c.startRun({ timeoutMs: 1000 })
  const report = await c.runs.wait(run)
  const check = (to: string): Record<string, unknown> => report.checks.find((x) => x.to === to) as unknown as Record<string, unknown>
  t.match(check('db1'), { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { family: 'inet', table: 'filter', chain: 'input', handle: 7, text: 'tcp dport 15432 drop' } }, 'the target\'s finding places the drop, its rule named')
  t.match(check('db2'), { status: 'pass' })
  t.notOk('droppedAt' in check('db2'), 'a passing check is not localized')
  t.same(traced.app1, [{ id: 0, role: 'source', protocol: 'tcp', port: 15432, host: '127.76.0.14' }], 'the source is asked to watch its own packets to the target, as its probes named it')
  t.same(traced.db1, [{ id: 0, role: 'target', protocol: 'tcp', port: 15432, from: ['127.76.0.12'] }], 'the target, the packets from the source\'s address')
  t.same(reprobes.map((o) => ({ id: o.id, host: o.host, port: o.port, need: o.need })), [{ id: 0, host: '127.76.0.14', port: 15432, need: 3 }], 'one re-probe of the blocked check, with a nonce of its own')
  t.match(report.localization, {
    limit: 64,
    candidates: 1,
    traced: 1,
    localized: 1,
    unavailable: [{ host: 'app1', why: 'not root' }],
    text: 'localization: 1 of 1 blocked check(s) localized; unavailable on app1 (not root)'
  }, 'who could not trace, and why, in one line: only the hosts of the checks to localize (db2 has none)')
})

t.test('an agent that never answers holds localization up a bounded time, and the verdicts stand', async (t) => {
  const c = await startCoordinator(t, { catalogFile: catalog(t.testdir()), hosts: hosts.slice(0, 2) })
  const app1 = new FakeAgent(c, 'app1', { nftables: { usable: true } })
  const db1 = new FakeAgent(c, 'db1', { nftables: { usable: true } })
  await Promise.all([app1.joined(), db1.joined()])
  const run = c.startRun({ timeoutMs: 500 })
  const states: string[] = []
  run.on('state', (s) => states.push(s))
  const report = await c.runs.wait(run)
  t.match(report, { state: 'done', verdict: 'blocked', exitCode: 1 })
  t.ok(states.includes('localizing'), 'the run went through localization')
  t.match(report.localization, { candidates: 1, traced: 0, localized: 0, unavailable: [{ host: 'app1', why: 'it did not start tracing in time' }, { host: 'db1', why: 'it did not start tracing in time' }] })
  t.notOk('droppedAt' in (report.checks[0] ?? {}), 'nothing is claimed')
})

t.test('a target watches for a NAT source\'s packets from its agent\'s --bind address too', async (t) => {
  // app1 is reached at 127.76.0.12 (nat: true) but its agent runs on 127.76.0.92: its probes leave from there.
  const c = await startCoordinator(t, { catalogFile: catalog(t.testdir()), hosts: [{ ...hosts[0], nat: true } as typeof hosts[number], hosts[1] as typeof hosts[number]] })
  let watched: TraceStartMessage['items'] = []
  const app1 = new FakeAgent(c, 'app1', { bind: ['127.76.0.92'], nftables: { usable: true }, onTraceStart: (m, me) => me.send({ type: 'trace-ready', runId: m.runId, error: 'not root' }) })
  const db1 = new FakeAgent(c, 'db1', { nftables: { usable: true }, onTraceStart: (m, me) => { watched = m.items; me.send({ type: 'trace-ready', runId: m.runId, error: 'not root' }) } })
  await Promise.all([app1.joined(), db1.joined()])
  const report = await c.runs.wait(c.startRun({ timeoutMs: 500 }))
  t.match(report.checks, [{ from: 'app1', to: 'db1', status: 'blocked' }])
  t.same(watched, [{ id: 0, role: 'target', protocol: 'tcp', port: 15432, from: ['127.76.0.12', '127.76.0.92'] }], 'its inventory address, and where its agent runs')
})
