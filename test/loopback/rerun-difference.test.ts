import dgram from 'node:dgram'
import t from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { diffReports } from '../../packages/coordinator/src/report/report-diff.js'
import type { ApiErrorBody, RerunDifferenceResponse, RunStarted } from '../../packages/coordinator/src/server/api-types.js'
import { MAX_DIFFERENCE_CHECKS } from '../../packages/coordinator/src/server/rerun-difference-route.js'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'

// Loopback addresses 127.57.x.x belong to this file. db2 is reached through NAT at .15, but the
// NAT forwards nothing to its agent on .25: every flow to db2 is refused (blocked), in both runs.
// A stray socket holds udp/15405 on db1 in the first run only: db2 → db1 on it cannot be proven
// (port-in-use) then, and passes in the re-run.
const NET = 57
const auth = { authorization: `Bearer ${TOKEN}` }
const key = (c: { from: string | null, to: string | null, protocol: string, port: number }): string => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`

t.test('GET /api/runs/:id/difference: a re-run against the run it repeats, over the checks it re-checked', async (t) => {
  const hosts = demoHosts(NET).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true, viewerToken: 'viewer' })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? `127.${NET}.0.25` : h.address })))
  const get = async (url: string, token = TOKEN): Promise<{ status: number, body: unknown }> => {
    const res = await c.app.inject({ url, headers: { authorization: `Bearer ${token}` } })
    return { status: res.statusCode, body: res.json() }
  }
  const start = async (payload: object): Promise<RunReport> => {
    const res = await c.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload })
    t.equal(res.statusCode, 202, `POST /api/runs ${JSON.stringify(payload)}`)
    return await c.runs.wait(c.runs.get((res.json() as RunStarted).id) as NonNullable<ReturnType<typeof c.runs.get>>)
  }

  const stray = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => stray.bind(15405, `127.${NET}.0.14`, resolve))
  const first = await start({ timeoutMs: 1000 })
  await new Promise<void>((resolve) => stray.close(() => resolve()))
  const failed = first.checks.filter((x) => x.status === 'blocked' || x.status === 'inconclusive')
  const blocked = failed.filter((x) => x.status === 'blocked')
  const unproven = failed.filter((x) => x.status === 'inconclusive')
  t.ok(blocked.length > 0 && blocked.every((x) => x.to === 'db2' && x.reason === 'refused'), `${blocked.length} checks to db2 refused`)
  t.same(unproven.map((x) => [key(x), x.reason]), [['db2>db1 udp/15405', 'port-in-use']], 'and db2 → db1 on the held port unproven')
  t.ok(first.checks.length > failed.length, 'the first run has passing checks too, which a re-run does not repeat')

  t.match(await get(`/api/runs/${first.id}/difference`), { status: 404, body: { error: { code: 'PC_ERR_NOT_FOUND', message: `run ${first.id} is not a re-run of failed checks: it has no run it repeats (GET /api/history/${first.id}/difference compares a complete run with the one before it)` } } }, 'a run that is not a re-run: 404')
  t.match(await get('/api/runs/nope/difference'), { status: 404, body: { error: { code: 'PC_ERR_NOT_FOUND', message: 'no run nope' } } }, 'an unknown run: 404')

  const second = await start({ rerunOf: first.id })
  t.equal(second.rerunOf, first.id)
  t.same(second.checks.map(key), failed.map(key), 'the re-run repeats the failed checks only')

  for (const url of [`/api/runs/${second.id}/difference`, '/api/runs/latest/difference']) {
    const res = await get(url, 'viewer')
    t.equal(res.status, 200, `${url}: the viewer token reads it`)
    const body = res.body as RerunDifferenceResponse
    t.equal(body.id, second.id)
    t.equal(body.rerunOf, first.id)
    const d = body.difference
    t.same(d.counts, { 'newly-broken': 0, fixed: 1, 'still-failing': blocked.length, changed: 0, 'only-before': 0, 'only-after': 0, unchanged: 0 }, 'exact counts: one fixed, every refused check still failing, nothing the re-run did not repeat')
    t.match(d.before, { id: first.id, rerunOf: null, checks: first.checks.length, verdict: 'blocked' }, 'the original, with its whole count of checks')
    t.match(d.after, { id: second.id, rerunOf: first.id, checks: failed.length, verdict: 'blocked' })
    t.same(d.changes.filter((x) => x.change === 'fixed').map((x) => [key(x), x.before?.status, x.before?.reason, x.after?.status, x.remedy]), [['db2>db1 udp/15405', 'inconclusive', 'port-in-use', 'pass', null]], 'fixed: the check whose port was freed')
    const still = d.changes.filter((x) => x.change === 'still-failing')
    t.same(still.map(key).sort(), blocked.map(key).sort(), 'still failing: the refused checks to db2')
    t.ok(still.every((x) => x.before?.reason === 'refused' && x.after?.status === 'blocked' && typeof x.remedy === 'string' && x.remedy.startsWith('allow ')), 'each with both states and its fix')
    t.equal(d.changes.length, failed.length, 'no entry for a check the re-run did not repeat')
    // The same as `portcheck diff` on the two saved reports, less what the re-run did not repeat.
    const whole = diffReports(first, second, { before: 'a', after: 'b' })
    t.same(d.changes, whole.changes.filter((x) => x.change !== 'only-before'), 'as `portcheck diff` of the two reports says it, check for check')
    t.equal(whole.counts['only-before'], first.checks.length - failed.length)
  }

  // A re-run of the re-run: compared with the re-run, not the first run.
  const third = await start({ rerunOf: second.id })
  const d3 = (await get(`/api/runs/${third.id}/difference`)).body as RerunDifferenceResponse
  t.equal(d3.rerunOf, second.id)
  t.same(d3.difference.counts, { 'newly-broken': 0, fixed: 0, 'still-failing': blocked.length, changed: 0, 'only-before': 0, 'only-after': 0, unchanged: 0 }, 'a re-run of the re-run: the refused checks still fail, nothing else was repeated')
  t.ok(MAX_DIFFERENCE_CHECKS > third.checks.length)
})

t.test('a re-run whose original is no longer kept, and a re-run still going on', async (t) => {
  // No agent at first. Runs of a few checks weigh 1000 each (MIN_RUN_WEIGHT): keeping 2000 keeps two runs.
  const hosts = demoHosts(NET).filter((h) => h.name !== 'db2')
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, keepChecks: 2000 })
  const first = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  t.ok(first.checks.some((x) => x.status === 'inconclusive'), 'no agent: every probed check inconclusive')
  const second = await c.runs.wait(c.startRun({ rerunOf: first.id }))
  t.equal((await c.app.inject({ url: `/api/runs/${second.id}/difference` })).statusCode, 200, 'while both are kept: 200')
  const third = await c.runs.wait(c.startRun({ rerunOf: second.id }))
  t.equal(c.runs.get(first.id), undefined, 'the first run is dropped for newer ones')
  const gone = await c.app.inject({ url: `/api/runs/${second.id}/difference` })
  t.equal(gone.statusCode, 404)
  t.equal((gone.json() as ApiErrorBody).error.message, `run ${first.id}, which run ${second.id} re-checks, is not kept in memory (dropped for newer runs, or a saved report): compare the two saved reports with \`portcheck diff ORIGINAL.json RERUN.json\``)
  t.equal((await c.app.inject({ url: `/api/runs/${third.id}/difference` })).statusCode, 200, 'the newer re-run still compares')

  // The agents join: a re-run now probes, which takes round trips over their sockets, so it is
  // still going on when the request (which waits for no socket) is answered.
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.address })))
  const hold = c.startRun({ rerunOf: third.id })
  const busy = await c.app.inject({ url: `/api/runs/${hold.id}/difference` })
  t.equal(busy.statusCode, 409, 'a re-run still going on: 409')
  t.match(busy.json(), { error: { code: 'PC_ERR_RUN_BUSY', message: `run ${hold.id} is still running: its difference to run ${third.id} is known when it ends` } })
  const done = await c.runs.wait(hold)
  t.ok(done.checks.length > 0 && done.checks.every((x) => x.status === 'pass'), 'with every agent there, every re-checked check passes')
  const fixed = (await c.app.inject({ url: `/api/runs/${hold.id}/difference` })).json() as RerunDifferenceResponse
  t.match(fixed.difference.counts, { fixed: done.checks.length, 'still-failing': 0, 'only-before': 0 }, 'once it has ended: all fixed')
})

t.test('a re-run of more than MAX_DIFFERENCE_CHECKS checks: 413, pointing to portcheck diff', async (t) => {
  // No agent: every probed check ends inconclusive (agent missing) at once, and is re-run.
  const hosts = Array.from({ length: 140 }, (_, i) => {
    const role = i < 10 ? 'lb' : i < 75 ? 'app' : 'db'
    return { name: `${role}-${i + 1}`, address: `127.${NET}.1.${i + 1}`, roles: [role] }
  })
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts })
  const first = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  const second = await c.runs.wait(c.startRun({ rerunOf: first.id }))
  t.ok(second.checks.length > MAX_DIFFERENCE_CHECKS, `${second.checks.length} checks re-run`)
  const res = await c.app.inject({ url: `/api/runs/${second.id}/difference` })
  t.equal(res.statusCode, 413)
  t.same(res.json(), { error: { code: 'PC_ERR_REQUEST', message: `run ${second.id} re-checks more than ${MAX_DIFFERENCE_CHECKS} checks: save both reports (GET /api/runs/${first.id} and GET /api/runs/${second.id}) and use \`portcheck diff ORIGINAL.json RERUN.json\`` } })
})
