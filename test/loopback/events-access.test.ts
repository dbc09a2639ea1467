import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { FakeAgent } from '../support/fake-agent.js'
import { captureLog } from '../support/log-lines.js'
import { demoHosts, startCoordinator, TOKEN } from '../support/loopback.js'

// The dashboard's live WebSocket, /api/events, follows the rules of a `read` route: the Host must
// be the coordinator's own (DNS rebinding), a browser's Origin too, and a token is required unless
// the coordinator is on loopback. The refusal comes before the upgrade, as an HTTP status.

const VIEWER = 'viewer-token-0123456789'

/** Opens /api/events with `headers` (and `?token=`): the open socket, or the status of the refusal. */
function subscribe (t: Test, c: Coordinator, opts: { token?: string, headers?: Record<string, string> } = {}): Promise<WebSocket | { status: number, message: string }> {
  const query = opts.token === undefined ? '' : `?token=${encodeURIComponent(opts.token)}`
  const ws = new WebSocket(`${c.agentUrl as string}/api/events${query}`, { headers: opts.headers ?? {} })
  t.teardown(() => ws.terminate())
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, message: res.statusMessage ?? '' }))
    ws.once('error', reject)
  })
}

/** The next event a subscriber receives. */
function nextEvent (ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))))
}

/** Has an agent join, which every subscriber hears as `{ type: 'agents' }`. */
async function agentJoins (c: Coordinator, subscribers: WebSocket[]): Promise<unknown[]> {
  const events = Promise.all(subscribers.map(nextEvent))
  const agent = new FakeAgent(c, 'lb1')
  await agent.joined()
  try {
    return await events
  } finally {
    agent.close()
  }
}

const forbidden = { status: 403, message: 'Forbidden' }
const unauthorized = { status: 401, message: 'Unauthorized' }
const misdirected = { status: 421, message: 'Misdirected Request' }

t.test('on loopback without a token: a foreign Origin or Host is refused, a token-less subscriber gets events', async (t) => {
  const log = captureLog()
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts: demoHosts(87), logger: log.logger })
  t.equal(c.requireAuth, false, 'a coordinator on 127.0.0.1 requires no token')
  const port = new URL(c.agentUrl as string).port
  t.same(await subscribe(t, c, { headers: { Origin: 'http://evil.example' } }), forbidden, 'a page of another site')
  t.same(await subscribe(t, c, { headers: { Origin: `http://127.0.0.1:${Number(port) + 1}` } }), forbidden, 'another port is another origin')
  t.same(await subscribe(t, c, { headers: { Host: `rebound.example:${port}` } }), misdirected, 'a foreign Host: DNS rebinding')
  t.same(await subscribe(t, c, { headers: { Host: `rebound.example:${port}` }, token: TOKEN }), misdirected, 'even with the token')
  t.same(await subscribe(t, c, { token: 'not-a-token' }), unauthorized, 'a wrong token, on loopback too')
  // Each kind of refusal is logged once at first (the refusal log), with the path and never the query's token.
  t.same(log.find('warn', /^request refused/).map((r) => [r.msg, r.component, r.method, r.path, r.host]), [
    ['request refused: cross-origin requests are refused', 'http', 'GET', '/api/events', undefined],
    ['request refused: a Host header that names none of the coordinator\'s names or addresses', 'http', 'GET', '/api/events', `rebound.example:${port}`],
    ['request refused: a valid token is required: Authorization: Bearer TOKEN', 'http', 'GET', '/api/events', undefined]
  ])
  t.notOk(JSON.stringify(log.records).includes(TOKEN) || JSON.stringify(log.records).includes('not-a-token'), 'no token in the log')

  const plain = await subscribe(t, c)
  const sameOrigin = await subscribe(t, c, { headers: { Origin: `http://127.0.0.1:${port}` } })
  t.ok(plain instanceof WebSocket && sameOrigin instanceof WebSocket, 'no Origin (a script) and the coordinator\'s own origin (its dashboard) are accepted')
  t.same(await agentJoins(c, [plain as WebSocket, sameOrigin as WebSocket]), [{ type: 'agents' }, { type: 'agents' }], 'both hear an agent join')
})

t.test('with tokens required: no token or a wrong one is 401; the viewer and join tokens are accepted, but not cross-origin', async (t) => {
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts: demoHosts(87), requireAuth: true, viewerToken: VIEWER })
  const port = new URL(c.agentUrl as string).port
  t.same(await subscribe(t, c), unauthorized, 'no token')
  t.same(await subscribe(t, c, { token: 'not-a-token' }), unauthorized, 'a wrong token')
  t.same(await subscribe(t, c, { token: VIEWER, headers: { Origin: 'http://evil.example' } }), forbidden, 'the viewer token from another site')
  t.same(await subscribe(t, c, { token: TOKEN, headers: { Host: `rebound.example:${port}` } }), misdirected, 'the join token under a foreign Host')

  const viewer = await subscribe(t, c, { token: VIEWER })
  const full = await subscribe(t, c, { token: TOKEN, headers: { Origin: `http://127.0.0.1:${port}` } })
  t.ok(viewer instanceof WebSocket && full instanceof WebSocket, 'the viewer token, and the join token from the coordinator\'s own origin, are accepted')
  t.same(await agentJoins(c, [viewer as WebSocket, full as WebSocket]), [{ type: 'agents' }, { type: 'agents' }], 'both hear an agent join')
})

t.test('requests with made-up Host headers are one kind of refusal: logged once, then counted, whatever the Host', async (t) => {
  const log = captureLog()
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts: demoHosts(88), logger: log.logger })
  const port = new URL(c.agentUrl as string).port
  for (let i = 0; i < 200; i++) {
    const res = await c.app.inject({ url: '/api/agents', headers: { host: `h${i}.rebound.example:${port}` } })
    if (res.statusCode !== 421) t.fail(`Host number ${i} got ${res.statusCode}`)
  }
  const lines = log.find('warn', /^request refused/)
  t.same(lines.map((r) => [r.msg, r.host]), [['request refused: a Host header that names none of the coordinator\'s names or addresses', `h0.rebound.example:${port}`]], 'one line for 200 Hosts: the first, with its Host as a field')
  t.ok(log.records.length < 10, `nothing else per request (${log.records.length} lines in all)`)
})
