import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { CoordinatorMessage } from '@portcheck/protocol'
import { FakeAgent } from '../support/fake-agent.js'
import { startCoordinator } from '../support/loopback.js'

// Agents close a run's listeners when its TTL ends, whatever happens next: a probe after that
// meets a reset and would read as `blocked refused`. A run still going near its TTL (capped at
// an hour in the field, lowered here with maxTtlMs) is aborted first: what is unfinished ends
// `inconclusive` `aborted`, never blocked.

// Loopback addresses 127.77.0.x belong to this file (the fake agents bind nothing).
const hosts = [{ name: 'app1', address: '127.77.0.12', roles: ['app'] }, { name: 'db1', address: '127.77.0.14', roles: ['db'] }]

t.test('a run reaching the time its agents keep listeners is aborted before they close them', async (t) => {
  const file = path.join(t.testdir(), 'catalog.yaml')
  writeFileSync(file, 'id: ttl\ntitle: TTL\nroles:\n  app: { title: App }\n  db: { title: DB }\nflows:\n  - { id: F-1, from: app, to: db, tcp: [15432], purpose: test }\n')
  const c = await startCoordinator(t, { catalogFile: file, hosts, runDefaults: { closeTimeoutMs: 1000, maxTtlMs: 12_000 } })
  // app1 takes its probe orders and never reports a result: the round would wait its budget (a minute and more).
  const app1 = new FakeAgent(c, 'app1', { onProbes: () => {} })
  const db1 = new FakeAgent(c, 'db1')
  const ttls: number[] = []
  for (const a of [app1, db1]) {
    a.ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as CoordinatorMessage
      if (m.type === 'run-start') ttls.push(m.ttlMs)
    })
  }
  await Promise.all([app1.joined(), db1.joined()])

  const run = c.startRun({ timeoutMs: 1000, localize: 0 })
  const report = await c.runs.wait(run)
  t.same(ttls, [12_000, 12_000], 'the agents were told the capped TTL')
  t.equal(app1.orders.length, 1, 'the probe was ordered')
  t.match(report, { state: 'aborted', verdict: 'inconclusive' })
  t.match(report.checks, [{ from: 'app1', to: 'db1', status: 'inconclusive', reason: 'aborted' }], 'unfinished: aborted, not blocked')
  t.equal(report.summary.blocked, 0)
})
