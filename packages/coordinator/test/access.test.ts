import t, { type Test } from 'tap'
import pino from 'pino'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { agentCredential } from '../src/security/credentials.js'
import { buildCoordinator, type Coordinator } from '../src/server/coordinator.js'

const hosts = [{ name: 'app1', address: '198.18.0.1', roles: ['app'] }, { name: 'db1', address: '198.18.0.2', roles: ['db'] }]

async function coordinator (t: Test, requireAuth: boolean): Promise<Coordinator> {
  const catalog = await loadCatalogFile('examples/demo/catalog.yaml')
  const c = await buildCoordinator({ catalog, hosts, settings: { metrics: true }, token: 'full-token', viewerToken: 'viewer-token', requireAuth, logger: pino({ level: 'silent' }), tls: null })
  // A real listener, so that the coordinator knows its own port (its origin) and the run list has a run.
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  return c
}

/** Every route, with the access it needs. A route added without a line here fails the test below. */
const ROUTES: Array<{ method: 'GET' | 'POST', url: string, need: 'none' | 'read' | 'full' }> = [
  { method: 'GET', url: '/', need: 'none' },
  { method: 'GET', url: '/assets/app.js', need: 'none' },
  { method: 'GET', url: '/api/health', need: 'none' },
  // The agent, for nodes: no secret in it (see agent-dist.test.ts for what these serve). A target
  // that is not this coordinator's, so that no executable is made here.
  { method: 'GET', url: '/agent/portcheck-agent.tgz', need: 'none' },
  { method: 'GET', url: '/agent/portcheck-agent.mjs', need: 'none' },
  { method: 'GET', url: '/agent/bin/aix-ppc64', need: 'none' },
  { method: 'GET', url: '/api/session', need: 'read' },
  { method: 'GET', url: '/api/agents', need: 'read' },
  { method: 'GET', url: '/api/catalog', need: 'read' },
  { method: 'GET', url: '/api/plan', need: 'read' },
  { method: 'POST', url: '/api/runs', need: 'full' },
  { method: 'GET', url: '/api/runs', need: 'read' },
  { method: 'GET', url: '/api/runs/latest', need: 'read' },
  { method: 'GET', url: '/api/runs/latest/matrix', need: 'read' },
  { method: 'GET', url: '/api/runs/latest/checks', need: 'read' },
  { method: 'GET', url: '/api/runs/latest/export.csv', need: 'read' },
  { method: 'GET', url: '/api/runs/latest/fix', need: 'read' },
  { method: 'GET', url: '/api/runs/latest/difference', need: 'read' },
  { method: 'POST', url: '/api/runs/latest/abort', need: 'full' },
  { method: 'GET', url: '/api/history', need: 'read' },
  { method: 'GET', url: '/api/history/latest/difference', need: 'read' },
  { method: 'GET', url: '/metrics', need: 'read' }
]

/** The ways one path can be spelled that a router may take for the same route. */
function spellings (url: string): string[] {
  const rest = url.slice(1)
  const out = [url, `/${rest.replace(/^a/, '%61')}`, `//${rest}`, `/./${rest}`, `/${rest.replace(/^a/, '%2561')}`, `/${rest.toUpperCase()}`, `/${rest}/`, `/${rest};x`]
  const slash = url.indexOf('/', 1)
  if (slash !== -1) out.push(`${url.slice(0, slash)}%2F${url.slice(slash + 1)}`, `${url.slice(0, slash)}%2f${url.slice(slash + 1)}`)
  return [...new Set(out)]
}

// An agent's credential (derived from the join token) is no API token: it opens nothing.
const TOKENS = { none: undefined, viewer: 'viewer-token', full: 'full-token', credential: agentCredential('full-token', 'lb1') } as const
const allowed = (need: 'none' | 'read' | 'full', who: keyof typeof TOKENS): boolean =>
  need === 'none' || (need === 'read' && (who === 'viewer' || who === 'full')) || (need === 'full' && who === 'full')

t.test('every route, under every spelling, with no token, the viewer token and the join token: access is decided on the matched route', async (t) => {
  const c = await coordinator(t, true)
  // Every route the app registered is in the list above, with the access it declares: a route
  // added without a line there, or without declaring its access, fails here.
  const key = (method: string, url: string): string => `${method} ${url}`
  const spelled = (url: string): string => url.replace('/latest', '/:id').replace('export.csv', 'export.:format').replace('app.js', ':file').replace('aix-ppc64', ':target')
  const declared = new Map(ROUTES.map((r) => [key(r.method, spelled(r.url)), r.need]))
  t.ok(c.routes.length >= ROUTES.length, `${c.routes.length} routes registered`)
  for (const r of c.routes) {
    t.ok(r.access !== undefined, `${r.method} ${r.url} declares its access (${r.access ?? 'none'})`)
    t.equal(declared.get(key(r.method, r.url)), r.access, `${r.method} ${r.url} is in the matrix, as ${r.access ?? '?'}`)
  }
  t.equal(c.routes.length, ROUTES.length, 'and the matrix lists nothing else')

  let tried = 0
  for (const r of ROUTES) {
    for (const url of spellings(r.url)) {
      for (const who of Object.keys(TOKENS) as Array<keyof typeof TOKENS>) {
        const token = TOKENS[who]
        const res = await c.app.inject({ method: r.method, url, headers: { host: '127.0.0.1', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) }, ...(r.method === 'POST' ? { payload: {} } : {}) })
        tried++
        const ok = res.statusCode >= 200 && res.statusCode < 300
        if (ok && !allowed(r.need, who)) t.fail(`${r.method} ${url} with ${who} token: ${res.statusCode}, but the route needs ${r.need}`)
        if (url === r.url && allowed(r.need, who) && (res.statusCode === 401 || res.statusCode === 403)) t.fail(`${r.method} ${url} with ${who} token refused (${res.statusCode})`)
        if (!ok && res.statusCode !== 404 && res.statusCode !== 400 && res.statusCode !== 401 && res.statusCode !== 403 && res.statusCode !== 409) t.fail(`${r.method} ${url} with ${who}: unexpected ${res.statusCode}`)
      }
    }
  }
  t.ok(tried > 300, `${tried} requests, none granted more than its route allows`)
  const bypass = await c.app.inject({ url: '/%61pi/agents', headers: { host: '127.0.0.1' } })
  t.equal(bypass.statusCode, 401, 'the measured bypass: /%61pi/agents without a token is refused')
  const post = await c.app.inject({ method: 'POST', url: '/%61pi/runs', headers: { host: '127.0.0.1', authorization: 'Bearer viewer-token' }, payload: {} })
  t.equal(post.statusCode, 403, 'and a viewer cannot start a run through it')
})

t.test('a coordinator on loopback needs no token, but only its own names, its own origin, and a same-origin proof to write', async (t) => {
  const c = await coordinator(t, false)
  const port = c.access.port
  const get = (headers: Record<string, string>): Promise<number> => c.app.inject({ url: '/api/agents', headers }).then((r) => r.statusCode)
  t.equal(await get({ host: `127.0.0.1:${port}` }), 200, 'its own address')
  t.equal(await get({ host: `localhost:${port}` }), 200, 'localhost')
  t.equal(await get({ host: `evil.example:${port}` }), 421, 'a foreign Host (DNS rebinding) is refused')
  t.equal(await get({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' }), 403, 'a read from a page of another origin')
  t.equal(await get({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }), 200, 'a read from its own page')

  const session = (await c.app.inject({ url: '/api/session', headers: { host: `127.0.0.1:${port}` } })).json() as { csrf?: string, access: string }
  t.match(session, { access: 'full', csrf: String })
  const post = (headers: Record<string, string>): Promise<number> => c.app.inject({ method: 'POST', url: '/api/runs', headers: { host: `127.0.0.1:${port}`, ...headers } }).then((r) => r.statusCode)
  t.equal(await post({ origin: 'http://evil.example' }), 403, 'a bodiless cross-origin POST is refused')
  t.equal(await post({}), 403, 'a POST without the same-origin proof is refused')
  t.equal(await post({ 'x-portcheck-csrf': 'guess' }), 403, 'a wrong proof is refused')
  t.equal(await post({ 'x-portcheck-csrf': session.csrf as string, origin: `http://127.0.0.1:${port}` }), 202, 'the dashboard\'s own POST is accepted')
  await c.runs.abortCurrent()
  t.equal(await post({ authorization: 'Bearer full-token' }), 202, 'a token always works')
  await c.runs.abortCurrent()
  t.equal((await c.app.inject({ url: '/api/session', headers: { host: `127.0.0.1:${port}`, authorization: 'Bearer viewer-token' } })).json().csrf, undefined, 'the viewer never gets the proof')
})
