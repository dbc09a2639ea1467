import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { Recorded } from '../../packages/coordinator/src/history/run-history.js'
import type { DifferenceMessage } from '../../packages/coordinator/src/notify/announce.js'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import type { DifferenceResponse, HistoryPage } from '../../packages/coordinator/src/server/api-types.js'
import { captureLog } from '../support/log-lines.js'
import { demoHosts, startCoordinator, TOKEN } from '../support/loopback.js'
import { parseMetrics, sampleValue } from '../support/metrics-text.js'
import { havePromtool, promtool } from '../support/promtool.js'
import { SwitchedAgents } from '../support/switched-agents.js'

// Loopback addresses 127.82.0.x belong to this file (its agents bind nothing: they are switched by hand).
const HOSTS = demoHosts(82)
const VIEWER = 'viewer-token-82'
const DB_PORT = { flow: 'DEMO-03', from_role: 'app', to_role: 'db', protocol: 'tcp', port: '15432' }

/** A webhook receiver, as a team's chat bridge would be: it answers 503 to the first POST, then takes them all. */
async function receiver (t: Test): Promise<{ url: URL, messages: DifferenceMessage[], posts: () => number, headers: http.IncomingHttpHeaders[] }> {
  const messages: DifferenceMessage[] = []
  const headers: http.IncomingHttpHeaders[] = []
  let posts = 0
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      posts++
      headers.push(req.headers)
      if (posts === 1) { res.writeHead(503).end('restarting'); return }
      messages.push(JSON.parse(body) as DifferenceMessage)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/portcheck`), messages, posts: () => posts, headers }
}

async function until (test: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Every complete run the coordinator records, and a wait for the first one started after a moment. */
function recordings (c: Coordinator): { seen: Recorded[], startedAfter: (ms: number) => Promise<Recorded> } {
  const seen: Recorded[] = []
  c.history.on('recorded', (r) => { seen.push(r) })
  const startedAfter = async (ms: number): Promise<Recorded> => {
    const found = (): Recorded | undefined => seen.find((r) => r.run.startedAt.getTime() > ms)
    await until(() => found() !== undefined, `a complete run started after ${new Date(ms).toISOString()}`)
    return found() as Recorded
  }
  return { seen, startedAfter }
}

t.test('serve --every: a port blocked between two scheduled runs is logged, counted, in the metrics and in the webhook; opened again, it is fixed', async (t) => {
  const hook = await receiver(t)
  const log = captureLog()
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts: HOSTS, logger: log.logger, requireAuth: true, viewerToken: VIEWER, notify: { url: hook.url } })
  const net = new SwitchedAgents(c, HOSTS)
  t.teardown(() => net.close())
  await net.joined(c)
  const runs = recordings(c)
  c.startSchedule({ everyMs: 1000 })
  const scrape = async (): Promise<ReturnType<typeof parseMetrics>> => {
    const res = await c.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${VIEWER}` } })
    t.equal(res.statusCode, 200, 'the viewer token reads the metrics')
    return parseMetrics(res.body)
  }

  const first = await runs.startedAfter(0)
  t.equal(first.run.summary().verdict, 'pass', 'first scheduled run: every required flow passes')
  t.equal(first.difference, null, 'nothing to compare the first run with')
  t.ok(first.run.scheduled, 'started by the schedule')
  t.ok(first.run.participants.all().every((p) => p.peers.size === 0), 'a finished run keeps no list of each source\'s targets (sent once in run-start)')
  let m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 0, 'DEMO-03 tcp/15432: 0 pairs blocked, and the series is there')
  t.equal(sampleValue(m, 'portcheck_flow_regressions_total', DB_PORT), 0, 'its regression counter starts at 0')

  // The "firewall" drops tcp/15432 from the next run on: the run after the one just recorded.
  net.blocked.add('tcp/15432')
  const second = await runs.startedAfter(Date.now())
  t.equal(runs.seen.indexOf(second), 1, 'the very next run (the schedule starts none while the test looks)')
  t.match(second.run.summary(), { verdict: 'blocked', summary: { blocked: 4 } }, 'the next scheduled run finds app→db tcp/15432 blocked on its 4 host pairs')
  t.match(second.difference?.counts, { newlyBlocked: 4, newlyInconclusive: 0, fixed: 0 })
  t.same(second.difference?.flows.map((f) => [f.flow, f.protocol, f.port, f.newlyBlocked]), [['DEMO-03', 'tcp', '15432', 4]], 'one catalog row moved')
  const warned = log.find('warn', /^regression: /).map((r) => r.msg)
  t.equal(warned.length, 4, 'one warning per check that regressed')
  t.match(warned, [`regression: app1 → db1 tcp/15432 (flow DEMO-03, app → db) passed in run ${first.run.id} and is blocked now (timeout)`], 'naming the hosts, the protocol and port, the flow and its roles')
  t.match(log.find('warn', /^regression: /)[0], { flow: ['DEMO-03'], from: 'app1', to: 'db1', protocol: 'tcp', port: 15432, reason: 'timeout', runId: second.run.id, previousRunId: first.run.id })
  m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 4, 'metrics: 4 pairs of DEMO-03 tcp/15432 blocked')
  t.equal(sampleValue(m, 'portcheck_flow_regressions_total', DB_PORT), 4, 'and 4 regressions counted')
  t.equal(sampleValue(m, 'portcheck_checks', { status: 'blocked' }), 4)
  t.equal(sampleValue(m, 'portcheck_runs_total', { verdict: 'blocked' }), 1)

  // The webhook: the first POST meets a 503, the retry (after 1 to 2 s) is taken.
  await until(() => hook.messages.length >= 1, 'the webhook')
  t.equal(hook.posts(), 2, 'one failed attempt, one retry')
  t.ok(log.find('warn', /^webhook: attempt 1 failed \(the receiver answered HTTP 503\); retrying$/).length === 1, 'the failed attempt is logged')
  const msg = hook.messages[0] as DifferenceMessage
  t.match(msg, { type: 'portcheck.difference', catalog: 'demo', before: { id: first.run.id, verdict: 'pass' }, after: { id: second.run.id, verdict: 'blocked' }, counts: { newlyBlocked: 4, fixed: 0 }, truncated: false })
  t.same(msg.newlyBlocked.map((x) => `${x.from ?? ''}>${x.to ?? ''} ${x.protocol}/${x.port} ${x.before?.status ?? ''}→${x.after?.status ?? ''}`).sort(),
    ['app1>db1 tcp/15432 pass→blocked', 'app1>db2 tcp/15432 pass→blocked', 'app2>db1 tcp/15432 pass→blocked', 'app2>db2 tcp/15432 pass→blocked'], 'the webhook lists the newly blocked checks')
  t.match(msg.newlyBlocked[0], { change: 'newly-broken', flowIds: ['DEMO-03'], remedy: /allow tcp 15432 from 127\.82\.0\.12 to 127\.82\.0\.14/ })
  t.equal(msg.url, `${c.httpUrl ?? ''}api/runs/${second.run.id}`)
  t.equal(hook.headers[1]?.['content-type'], 'application/json')
  t.equal(hook.headers[1]?.authorization, undefined, 'no token goes to the webhook unless --notify-header says so')
  t.notOk(JSON.stringify(hook.messages).includes(TOKEN), 'nor anywhere in the message')

  net.blocked.delete('tcp/15432')
  const third = await runs.startedAfter(Date.now())
  t.match(third.difference, { counts: { newlyBlocked: 0, fixed: 4 }, before: { verdict: 'blocked' } }, 'opened again: the 4 checks are fixed')
  t.equal(log.find('info', /^fixed: 4 check\(s\) that failed in run /).length, 1, 'said in the log')
  m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 0, 'metrics: no pair blocked any more')
  t.equal(sampleValue(m, 'portcheck_flow_regressions_total', DB_PORT), 4, 'the counter keeps what happened')
  await until(() => hook.messages.length >= 2, 'the second webhook')
  t.match(hook.messages[1], { counts: { newlyBlocked: 0, fixed: 4 }, before: { verdict: 'blocked' }, after: { id: third.run.id, verdict: 'pass' } })
  t.equal(hook.messages.length, 2, 'runs that change nothing send nothing')
  t.equal(hook.messages[1]?.fixed.length, 4)

  // The dashboard's history: one column per complete run, DEMO-03's state in each, and the differences.
  const history = (await c.app.inject({ url: '/api/history?limit=50', headers: { authorization: `Bearer ${VIEWER}` } })).json() as HistoryPage
  t.match(history, { everyMs: 1000, offset: 0 })
  t.ok(history.total >= 3, `${history.total} complete runs in the history`)
  t.same(history.runs.map((r) => r.startedAt), [...history.runs.map((r) => r.startedAt)].sort().reverse(), 'newest first')
  const demo3 = history.flows.findIndex((f) => f.id === 'DEMO-03')
  const entry = (r: Recorded): HistoryPage['runs'][number] | undefined => history.runs.find((e) => e.id === r.run.id)
  t.same([first, second, third].map((r) => entry(r)?.flows[demo3]), ['pass', 'blocked', 'pass'], 'DEMO-03 over the three runs: pass, blocked, pass')
  t.same([first, second, third].map((r) => entry(r)?.changes), [null, { newlyBlocked: 4, newlyInconclusive: 0, fixed: 0 }, { newlyBlocked: 0, newlyInconclusive: 0, fixed: 4 }], 'and the differences counted')
  t.ok(history.runs.every((r) => r.scheduled), 'every one of them scheduled')
  const diff = (await c.app.inject({ url: `/api/history/${second.run.id}/difference`, headers: { authorization: `Bearer ${VIEWER}` } })).json() as DifferenceResponse
  t.match(diff, { id: second.run.id, difference: { counts: { newlyBlocked: 4 }, before: { id: first.run.id } } })
  t.equal((await c.app.inject({ url: '/api/history/nope/difference', headers: { authorization: `Bearer ${VIEWER}` } })).statusCode, 404)

  // What Prometheus scrapes passes promtool's own check.
  t.equal((await c.app.inject({ url: '/metrics' })).statusCode, 401, 'without a token: refused, like the API')
  if (!havePromtool(t)) return
  const text = (await c.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${VIEWER}` } })).body
  const checked = await promtool(['check', 'metrics'], text)
  t.same(checked, { code: 0, out: '' }, 'promtool check metrics: no problem')
})
