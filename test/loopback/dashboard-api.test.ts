import t from 'tap'
import WebSocket from 'ws'
import { formatFix } from '../../packages/coordinator/src/fix/format-fix.js'
import { parseReport } from '../../packages/coordinator/src/report/read-report.js'
import type { FixResponse } from '../../packages/coordinator/src/server/api-types.js'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { until } from '../support/until.js'

t.test('the dashboard API: matrices, filtered checks, exports and live events', async (t) => {
  // db2 is reached through NAT at .15, but the NAT forwards nothing to its agent on .25: every flow to db2 is refused.
  const hosts = demoHosts(46).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true, viewerToken: 'viewer' })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? '127.46.0.25' : h.address })))
  const auth = { authorization: `Bearer ${TOKEN}` }

  const events: Array<{ type: string, state?: string }> = []
  const ws = new WebSocket(`${(c.agentUrl as string).replace('ws:', 'ws:')}/api/events?token=viewer`)
  t.teardown(() => ws.terminate())
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as { type: string }))
  await new Promise((resolve) => ws.once('open', resolve))
  const refused = new WebSocket(`${c.agentUrl as string}/api/events?token=wrong`)
  const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))
  t.equal(status, 401, 'events need a token too')

  const start = await c.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { timeoutMs: 1000, includeOptional: true } })
  const { id } = start.json() as { id: string }
  await c.runs.wait(c.runs.get(id) as NonNullable<ReturnType<typeof c.runs.get>>)
  await until(() => events.at(-1)?.type === 'run-finished')
  t.ok(events.some((e) => e.type === 'run'), 'progress events')
  t.match(events.at(-1), { type: 'run-finished', id, verdict: 'blocked', exitCode: 1 })

  const role = (await c.app.inject({ url: `/api/runs/${id}/matrix?by=role`, headers: auth })).json() as { rows: string[], cols: string[], cells: Array<{ from: string, to: string, worst: string, counts: Record<string, number>, ports: Array<{ protocol: string, port: number, pairs: number, counts: Record<string, number> }> }> }
  t.same(role.rows, ['users', 'lb', 'app', 'db'])
  const appDb = role.cells.find((x) => x.from === 'app' && x.to === 'db')
  t.match(appDb, { worst: 'blocked', counts: { pass: 4, blocked: 4 } })
  t.match(appDb?.ports, [{ protocol: 'tcp', port: 15432, pairs: 4, counts: { pass: 2, blocked: 2 } }, { protocol: 'udp', port: 18125, pairs: 4, counts: { pass: 2, blocked: 2 } }], 'each port with its state over all host pairs')

  const host = (await c.app.inject({ url: `/api/runs/${id}/matrix?by=host&offset=1&limit=2`, headers: auth })).json() as { rows: string[], totalRows: number, cells: Array<{ from: string, to: string, worst: string }> }
  t.equal(host.totalRows, 6, 'five hosts and the external (users) as sources')
  t.same(host.rows, ['lb1', 'app1'], 'a page of source rows')
  t.match(host.cells.find((x) => x.from === 'app1' && x.to === 'db2'), { worst: 'blocked' })

  const blocked = (await c.app.inject({ url: `/api/runs/${id}/checks?status=blocked&fromRole=app&protocol=udp`, headers: { authorization: 'Bearer viewer' } })).json() as { total: number, checks: Array<Record<string, unknown>> }
  t.equal(blocked.total, 2)
  t.match(blocked.checks[0], { from: 'app1', to: 'db2', status: 'blocked', reason: 'refused', flows: [{ id: 'DEMO-06', purpose: /metrics/, ref: 'demo, metrics' }], remedy: 'allow udp 18125 from 127.46.0.12 to 127.46.0.15: a firewall rejects it (check db2\'s own rules first)' })
  t.equal((await c.app.inject({ url: `/api/runs/${id}/checks?status=nonsense`, headers: auth })).statusCode, 400)
  const worst = (await c.app.inject({ url: `/api/runs/${id}/checks?toRole=db&sort=severity&limit=3`, headers: auth })).json() as { total: number, counts: Record<string, number>, checks: Array<{ status: string }> }
  t.match(worst, { total: 12, counts: { blocked: 6, pass: 6, inconclusive: 0, skipped: 0, pending: 0 } }, 'per-status totals of the whole selection')
  t.same(worst.checks.map((x) => x.status), ['blocked', 'blocked', 'blocked'], 'worst first')

  t.same((await c.app.inject({ url: '/api/session', headers: { authorization: 'Bearer viewer' } })).json(), { access: 'read', requireAuth: true, defaults: { timeoutMs: 3000, adaptive: false, includeOptional: false, concurrency: 256 } })
  t.match((await c.app.inject({ url: '/api/session', headers: auth })).json(), { access: 'full' })
  const list = (await c.app.inject({ url: '/api/runs', headers: auth })).json() as Array<Record<string, unknown>>
  t.match(list[0], { id, verdict: 'blocked', exitCode: 1, includeOptional: true, rerunOf: null, agents: { expected: 5 } }, 'run list entries carry what the dashboard shows')

  const json = await c.app.inject({ url: `/api/runs/${id}/export.json`, headers: auth })
  t.match(json.headers['content-disposition'], `attachment; filename="portcheck-demo-${id}.json"`)
  t.equal((JSON.parse(json.body) as { id: string }).id, id)
  const csv = await c.app.inject({ url: `/api/runs/${id}/export.csv`, headers: auth })
  const lines = csv.body.trim().split('\r\n')
  t.equal(lines[0], 'from,to,fromRole,toRole,fromAddress,toAddress,family,targetAddress,protocol,port,portEnd,required,status,reason,detail,latencyMs,attempts,observedSource,echo,flowIds,remedy,notes,droppedAt,rule')
  t.equal(lines.length, 20, 'a header and 19 checks')
  t.match((await c.app.inject({ url: `/api/runs/${id}/export.junit`, headers: auth })).body, /<testsuites name="portcheck demo"/)
  t.equal((await c.app.inject({ url: `/api/runs/${id}/export.json` })).statusCode, 401, 'exports need the token')

  // What to open, per format and host: exactly what `portcheck fix` writes from the saved report.
  const saved = parseReport(json.body, 'export.json')
  for (const format of ['iptables', 'csv'] as const) {
    const fix = (await c.app.inject({ url: `/api/runs/${id}/fix?format=${format}`, headers: { authorization: 'Bearer viewer' } })).json() as FixResponse
    t.equal(fix.all.text, formatFix(saved, format).text, `${format}: every host's rules, as portcheck fix writes them`)
    t.same(fix.all.aside, formatFix(saved, format).aside)
    t.same(fix.hosts.map((x) => x.host), ['db2'], `${format}: db2 refuses every flow to it: its rules only`)
    t.equal(fix.hosts[0]?.text, formatFix(saved, format, { host: 'db2' }).text, `${format}: db2's rules, as portcheck fix --host db2 writes them`)
  }
  t.equal((await c.app.inject({ url: `/api/runs/${id}/fix?format=pf`, headers: auth })).statusCode, 400, 'an unknown format')
  t.equal((await c.app.inject({ url: `/api/runs/${id}/fix` })).statusCode, 401, 'the rules need a token too')

  const page = await c.app.inject({ url: '/' })
  t.equal(page.statusCode, 200, 'the page itself needs no token: it holds no data')
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/)
})
