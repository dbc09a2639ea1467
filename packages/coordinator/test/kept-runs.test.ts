import t, { type Test } from 'tap'
import pino from 'pino'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { formatCsv } from '../src/report/format-csv.js'
import { formatJunit } from '../src/report/format-junit.js'
import type { Run } from '../src/scheduler/run.js'
import { MIN_RUN_WEIGHT } from '../src/scheduler/run-manager.js'
import { buildCoordinator, type Coordinator } from '../src/server/coordinator.js'
import type { PlanPage } from '../src/server/api-types.js'

// 26 hosts of the demo catalog: 25 app hosts and one db host, no agent (every run ends at once, agent-missing).
const hosts = [...Array.from({ length: 25 }, (_, i) => ({ name: `app${i}`, address: `198.18.0.${i + 1}`, roles: ['app'] })), { name: 'db1', address: '198.18.1.1', roles: ['db'] }]

async function coordinator (t: Test, keepChecks?: number, inventory = hosts): Promise<Coordinator> {
  const catalog = await loadCatalogFile('examples/demo/catalog.yaml')
  const c = await buildCoordinator({ catalog, hosts: inventory, settings: { metrics: true }, token: 'full-token', viewerToken: 'viewer-token', requireAuth: true, logger: pino({ level: 'silent' }), tls: null, ...(keepChecks !== undefined ? { keepChecks } : {}) })
  t.teardown(() => c.close())
  return c
}

async function runs (c: Coordinator, n: number, req = {}): Promise<Run[]> {
  const out: Run[] = []
  for (let i = 0; i < n; i++) {
    const run = c.startRun(req)
    await c.runs.finished(run)
    out.push(run)
  }
  return out
}

t.test('runs are kept by their number of checks, oldest dropped first, the newest always', async (t) => {
  const c = await coordinator(t, 3500)
  const [first] = await runs(c, 1)
  const checks = (first as Run).plan.checks.length
  t.ok(checks > MIN_RUN_WEIGHT, `a run of ${checks} checks`)
  const kept = Math.floor(3500 / checks)
  const all = [first as Run, ...await runs(c, 4)]
  t.same(c.runs.list().map((r) => r.id), all.slice(-kept).reverse().map((r) => r.id), `the newest ${kept} runs fit in 3,500 checks`)
  t.same(c.runs.kept(), { runs: kept, checks: kept * checks })
  t.equal(c.runs.get(all[0]?.id as string), undefined, 'the oldest is gone')
  const viewer = { authorization: 'Bearer viewer-token' }
  const listed = (url: string): Promise<string[]> => c.app.inject({ url, headers: viewer }).then((r) => (r.json() as Array<{ id: string }>).map((x) => x.id))
  t.same(await listed('/api/runs'), c.runs.list().map((r) => r.id), 'GET /api/runs: every kept run, newest first')
  t.same(await listed('/api/runs?offset=1&limit=1'), [c.runs.list()[1]?.id], 'or a page of them')

  const tiny = await coordinator(t, 10)
  await runs(tiny, 3)
  t.equal(tiny.runs.list().length, 1, 'a bound smaller than one run: the newest run is still kept')

  // Runs of a handful of checks weigh MIN_RUN_WEIGHT each: bounded in number too.
  const few = await coordinator(t, 3 * MIN_RUN_WEIGHT, hosts.slice(-3))
  const small = await runs(few, 5)
  t.ok((small[0] as Run).plan.checks.length < MIN_RUN_WEIGHT)
  t.equal(few.runs.list().length, 3, 'three small runs under a bound of three times the minimum weight')
})

t.test('runs of the same inputs share one plan; a finished run\'s summary is made once', async (t) => {
  const c = await coordinator(t)
  const [a, b] = await runs(c, 2) as [Run, Run]
  t.equal(a.plan, b.plan, 'one plan object for both runs')
  const [withOptional] = await runs(c, 1, { includeOptional: true }) as [Run]
  t.not(withOptional.plan, a.plan, 'other inputs, another plan')
  const [again] = await runs(c, 1, { includeOptional: true }) as [Run]
  t.equal(again.plan, withOptional.plan, 'and that one is shared in turn')
  const [overridden] = await runs(c, 1, { settings: { metrics: false } }) as [Run]
  t.not(overridden.plan, a.plan)
  t.equal(c.plan(), a.plan, 'GET /api/plan reads the same plan')
  t.equal(a.summary(), a.summary(), 'the summary of a finished run is computed once')
  t.ok(Object.isFrozen(a.summary()), 'and kept frozen')
})

t.test('GET /api/plan: for the viewer, a page at a time, with the total', async (t) => {
  const c = await coordinator(t)
  const viewer = { authorization: 'Bearer viewer-token' }
  const page = (await c.app.inject({ url: '/api/plan?offset=10&limit=5', headers: viewer })).json() as PlanPage
  const plan = c.plan()
  t.match(page, { catalog: 'demo', includeOptional: false, total: plan.checks.length, offset: 10 })
  t.same(page.checks, plan.checks.slice(10, 15), 'the checks of that page, as planned')
  const first = (await c.app.inject({ url: '/api/plan', headers: viewer })).json() as PlanPage
  t.equal(first.checks.length, Math.min(500, plan.checks.length), 'a default page of at most 500')
  t.equal((await c.app.inject({ url: '/api/plan?limit=5001', headers: viewer })).statusCode, 400, 'at most 5,000 a page')
  t.equal((await c.app.inject({ url: '/api/plan' })).statusCode, 401, 'a token is still needed')
  const optional = (await c.app.inject({ url: '/api/plan?includeOptional=true&limit=5000', headers: viewer })).json() as PlanPage
  const metrics = (p: PlanPage): Array<string | null> => [...new Set(p.checks.filter((x) => x.flowIds.includes('DEMO-06')).map((x) => x.skip))]
  t.same(metrics(optional), [null], 'with includeOptional, the optional flow is tested')
  t.same(metrics((await c.app.inject({ url: '/api/plan?limit=5000', headers: viewer })).json() as PlanPage), ['optional'], 'without, skipped')
})

t.test('CSV and JUnit exports are streamed, byte for byte what the whole report renders to', async (t) => {
  const c = await coordinator(t)
  const [run] = await runs(c, 1) as [Run]
  const report = run.report()
  for (const [format, expected] of [['csv', formatCsv(report)], ['junit', formatJunit(report)]] as const) {
    const res = await c.app.inject({ url: `/api/runs/${run.id}/export.${format}`, headers: { authorization: 'Bearer viewer-token' } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['transfer-encoding'], 'chunked', `${format}: streamed, no length known in advance`)
    t.equal(res.body, expected, `${format}: the same bytes`)
  }
})
