import t, { type Test } from 'tap'
import pino from 'pino'
import WebSocket from 'ws'
import { PROTOCOL_VERSION } from '@portcheck/protocol'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { agentCredential } from '../src/security/credentials.js'
import { buildCoordinator } from '../src/server/coordinator.js'

const hosts = [{ name: 'app1', address: '198.18.0.1', roles: ['app'] }, { name: 'db1', address: '198.18.0.2', roles: ['db'] }]

async function coordinator (t: Test, requireAuth: boolean): Promise<Awaited<ReturnType<typeof buildCoordinator>>> {
  const catalog = await loadCatalogFile('examples/demo/catalog.yaml')
  const c = await buildCoordinator({ catalog, hosts, settings: { metrics: true }, token: 'full-token', viewerToken: 'viewer-token', requireAuth, logger: pino({ level: 'silent' }) })
  t.teardown(() => c.close())
  return c
}

t.test('the API needs a token when it must, and the viewer token only reads', async (t) => {
  const c = await coordinator(t, true)
  t.equal((await c.app.inject({ url: '/api/agents' })).statusCode, 401)
  t.equal((await c.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer nope' } })).statusCode, 401)
  t.equal((await c.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer viewer-token' } })).statusCode, 200)
  const post = await c.app.inject({ method: 'POST', url: '/api/runs', payload: {}, headers: { authorization: 'Bearer viewer-token' } })
  t.equal(post.statusCode, 403, 'viewer cannot start a run')
  const ok = await c.app.inject({ method: 'POST', url: '/api/runs', headers: { authorization: 'Bearer full-token' } })
  t.equal(ok.statusCode, 202, 'no body at all: a run with the defaults')
  const viewed = (await c.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer viewer-token' } })).json() as { hosts: Array<{ joinCommand: string }> }
  t.notOk(JSON.stringify(viewed).includes('full-token'), 'the viewer never sees the join token: it grants full access')
  t.match(viewed.hosts[0]?.joinCommand, '--token <credential of app1> --name app1')
  const full = (await c.app.inject({ url: '/api/agents', headers: { authorization: 'Bearer full-token' } })).json() as { hosts: Array<{ joinCommand: string }> }
  t.match(full.hosts[0]?.joinCommand, `--token ${agentCredential('full-token', 'app1')} --name app1`, 'each host\'s own credential, never the join token')
  t.notOk(JSON.stringify(full).includes('full-token'), 'the join token itself is in no join command')
  const unknown = await c.app.inject({ url: '/api/nope', headers: { authorization: 'Bearer full-token' } })
  t.match({ status: unknown.statusCode, body: unknown.json() }, { status: 404, body: { error: { code: 'PC_ERR_NOT_FOUND' } } })
})

t.test('runs: start, busy, report, agents, bad input', async (t) => {
  const c = await coordinator(t, false)
  const agents = (await c.app.inject({ url: '/api/agents' })).json() as { hosts: Array<{ name: string, state: string, joinCommand: string }> }
  t.same(agents.hosts.map((h) => [h.name, h.state]), [['app1', 'missing'], ['db1', 'missing']])
  t.match(agents.hosts[0]?.joinCommand, /^curl -fsS http:\/\/\S+:\d+\/agent\/portcheck-agent\.mjs \| node --input-type=module - --coordinator ws:\/\/.+ --token \S{43} --name app1 --insecure$/)
  // On loopback no token is needed, but a write must prove it comes from the dashboard's own origin.
  const csrf = ((await c.app.inject({ url: '/api/session' })).json() as { csrf: string }).csrf
  const w = { 'x-portcheck-csrf': csrf }
  t.equal((await c.app.inject({ method: 'POST', url: '/api/runs', payload: {} })).statusCode, 403, 'no token and no same-origin proof: refused')

  // Silent agents for app1 and db1 that never confirm their listeners keep the run busy until aborted.
  await c.listen({ host: '127.0.0.1', port: 0 })
  const silent = async (name: string): Promise<{ ws: WebSocket, runStart: Promise<string> }> => {
    const ws = new WebSocket(`${c.agentUrl as string}/agent`, { headers: { authorization: 'Bearer full-token' } })
    t.teardown(() => ws.terminate())
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, name, credential: agentCredential('full-token', name), instance: `i-${name}`, version: 't', hostname: 'h', platform: 'p', pid: 1, bind: null, addresses: [] }))
    const runStart = new Promise<string>((resolve) => ws.on('message', (d) => { if (String(d).includes('run-start')) resolve(String(d)) }))
    await new Promise((resolve) => ws.once('message', resolve))
    return { ws, runStart }
  }
  const app1 = await silent('app1')
  const db1 = await silent('db1')

  const start = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { timeoutMs: 500 }, headers: w })
  t.equal(start.statusCode, 202)
  const { id } = start.json() as { id: string }
  t.match(JSON.parse(await db1.runStart), { type: 'run-start', runId: id, listeners: [{ protocol: 'tcp', port: 15432 }] }, 'db1 listens where app1 probes it')
  t.match(JSON.parse(await app1.runStart), { type: 'run-start', runId: id, listeners: [] }, 'app1 only probes: it opens no listener')
  const busy = await c.app.inject({ method: 'POST', url: '/api/runs', payload: {}, headers: w })
  t.equal(busy.statusCode, 409)
  t.match(busy.json(), { error: { code: 'PC_ERR_RUN_BUSY' } })
  const running = (await c.app.inject({ url: `/api/runs/${id}` })).json() as { state: string, verdict: unknown }
  t.match(running, { state: 'preparing', verdict: null }, 'a report in progress has no verdict yet')
  t.equal((await c.app.inject({ method: 'POST', url: `/api/runs/${id}/abort`, headers: w })).statusCode, 202)
  await c.runs.wait(c.runs.get(id) as NonNullable<ReturnType<typeof c.runs.get>>)
  const report = (await c.app.inject({ url: `/api/runs/${id}` })).json() as { state: string, verdict: string, checks: Array<{ from: string, to: string, reason: string, status: string }> }
  t.match(report, { state: 'aborted', verdict: 'inconclusive' })
  t.ok(report.checks.filter((x) => x.status !== 'skipped').every((x) => x.reason === 'agent-missing' || x.reason === 'aborted'), 'nothing passes in an aborted run without agents')
  t.equal((await c.app.inject({ url: '/api/runs/latest' })).json().id, id)
  const misspelt = await c.app.inject({ url: `/api/runs/${id}/checks?stauts=blocked` })
  t.same({ status: misspelt.statusCode, body: misspelt.json() }, { status: 400, body: { error: { code: 'PC_ERR_OPTION_INVALID', message: 'querystring: unknown parameter "stauts"' } } }, 'an unknown query parameter is named too')
  t.equal((await c.app.inject({ url: '/api/runs/nope' })).statusCode, 404)

  const bad = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { settings: { metrics: 'sometimes' } }, headers: w })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { error: { code: 'PC_ERR_SETTING_INVALID', details: [/metrics: setting "metrics" is a boolean/] } })
  const unknown = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { tiemout: 5 }, headers: w })
  t.equal(unknown.statusCode, 400, 'unknown fields are refused')
  t.same(unknown.json(), { error: { code: 'PC_ERR_OPTION_INVALID', message: 'body: unknown field "tiemout"' } }, 'the message names the field')
  const outOfRange = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { timeoutMs: 5 }, headers: w })
  t.match(outOfRange.json(), { error: { code: 'PC_ERR_OPTION_INVALID', message: 'body/timeoutMs must be >= 50' } }, 'other validation errors keep their message')
})
