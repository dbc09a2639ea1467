import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { PROTOCOL_VERSION } from '@portcheck/protocol'
import { NUDGE_PAYLOAD } from '@portcheck/protocol/node'
import { startAgent } from '../../packages/agent/src/index.js'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { FakeAgent } from '../support/fake-agent.js'
import { TOKEN, demoHosts, silent, startAgents, startCoordinator } from '../support/loopback.js'
import { until } from '../support/until.js'

const CATALOG = 'examples/demo/catalog.yaml'

function rawClient (c: Coordinator, token = TOKEN): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${c.agentUrl as string}/agent`, { headers: { authorization: `Bearer ${token}` } })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function closeCode (ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

const hello = (name: string, instance = 'inst1', credential = agentCredential(TOKEN, name)): string => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, name, credential, instance, version: 't', hostname: 'h', platform: 'p', pid: 1, bind: [], addresses: [] })

t.test('a wrong credential is refused once, clearly, and the agent stops', async (t) => {
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(41) })
  let upgrades = 0
  c.app.server.prependListener('upgrade', () => { upgrades++ })
  const agent = startAgent({ coordinator: c.agentUrl as string, insecure: true, token: agentCredential('another-join-token', 'lb1'), name: 'lb1', logger: silent, reconnectMinMs: 50 })
  const err = await agent.stopped
  t.match(err, { code: 'PC_ERR_AGENT_AUTH', message: /join token changed since the join command was printed/ })
  await t.rejects(agent.registered, { code: 'PC_ERR_AGENT_AUTH' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(upgrades, 1, 'no retry storm: one attempt')
  t.same(c.hub.connectedNames(), [])
})

t.test('an agent of an older protocol is told which version to run, not "invalid message"', async (t) => {
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(43) })
  const old = await rawClient(c)
  const closed = closeCode(old)
  const said = new Promise<string>((resolve) => old.once('message', (d) => resolve(d.toString())))
  // Protocol 3's hello: `bind` was one address, which this version's schema does not accept.
  old.send(JSON.stringify({ type: 'hello', protocol: 3, name: 'lb1', credential: agentCredential(TOKEN, 'lb1'), instance: 'i', version: 't', hostname: 'h', platform: 'p', pid: 1, bind: '127.0.0.1', addresses: [] }))
  t.match(JSON.parse(await said), { type: 'rejected', code: 'PC_ERR_PROTOCOL_VERSION', fatal: true, message: new RegExp(`speaks protocol ${PROTOCOL_VERSION}, the agent 3`) })
  t.equal(await closed, 1008)
  t.same(c.hub.connectedNames(), [])
})

t.test('malformed, oversized and out-of-order frames close that connection only', async (t) => {
  const hosts = demoHosts(42)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })

  const garbage = await rawClient(c)
  garbage.send(hello('lb1'))
  const welcome = await new Promise<string>((resolve) => garbage.once('message', (d) => resolve(d.toString())))
  t.match(JSON.parse(welcome), { type: 'welcome', protocol: PROTOCOL_VERSION })
  const closed1 = closeCode(garbage)
  garbage.send('{"type":"received","runId":"x","items":"lots"}')
  t.equal(await closed1, 1008, 'invalid message: policy violation')

  const early = await rawClient(c)
  const closed2 = closeCode(early)
  early.send('{"type":"flushed","runId":"r1","seq":1}')
  t.equal(await closed2, 1008, 'a message before hello')

  const big = await rawClient(c)
  const closed3 = closeCode(big)
  big.send('x'.repeat(2 * 1024 * 1024))
  t.equal(await closed3, 1009, 'an oversized frame: message too big')

  const binary = await rawClient(c)
  binary.send(hello('app1'))
  await new Promise((resolve) => binary.once('message', resolve))
  const closed4 = closeCode(binary)
  binary.send(Buffer.from([1, 2, 3]), { binary: true })
  t.equal(await closed4, 1008, 'binary frames are not part of the protocol')

  // The coordinator keeps serving: real agents join and a run completes.
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.address })))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  t.equal(report.verdict, 'pass', 'a full run still passes afterwards')
})

t.test('a hello that arrives after the coordinator gave up waiting for it registers nothing', async (t) => {
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(44), helloTimeoutMs: 200 })
  const joined: string[] = []
  c.hub.on('joined', (conn) => joined.push(conn.name))
  const late = await rawClient(c)
  const closed = closeCode(late)
  // A lossy link as the coordinator sees it: the close frame it sends at 200 ms does not reach
  // the agent yet, and the agent's hello, sent at 400 ms, arrives during the close handshake.
  const socket = (late as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  socket.pause()
  await new Promise((resolve) => setTimeout(resolve, 400))
  late.send(hello('lb1'))
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(joined, [], 'no agent joined')
  t.same(c.hub.connectedNames(), [], 'none connected')
  socket.resume()
  t.equal(await closed, 1008, 'closed: hello expected')
  // The agent, reconnecting, joins as usual.
  const again = await rawClient(c)
  again.send(hello('lb1'))
  t.match(JSON.parse(await new Promise<string>((resolve) => again.once('message', (d) => resolve(d.toString())))), { type: 'welcome' })
  t.same(c.hub.connectedNames(), ['lb1'])
  again.close()
})

t.test('a second agent with a name already connected is refused, not swapped in', async (t) => {
  const hosts = demoHosts(43)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const [first] = await startAgents(t, c, [{ name: 'db1', bind: '127.43.0.14' }])
  const impostor = await rawClient(c)
  impostor.send(hello('db1', 'other-instance'))
  const msg = JSON.parse(await new Promise<string>((resolve) => impostor.once('message', (d) => resolve(d.toString())))) as Record<string, unknown>
  t.match(msg, { type: 'rejected', code: 'PC_ERR_AGENT_DUPLICATE', fatal: false, message: /already connected/ })
  t.equal(await closeCode(impostor), 1008)
  t.equal(c.hub.get('db1')?.instance !== 'other-instance', true, 'the first agent keeps the name')
  t.ok(first !== undefined)
})

t.test('an agent process killed mid-run: its checks are agent-lost and the run ends on time', async (t: Test) => {
  const net = 44
  // db2 is reached through NAT at .15 (its agent is on .25).
  const hosts = demoHosts(net).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  // db2 is reached at .15 where a silent socket swallows UDP, so db1's probe of udp/15405 runs its full timeout.
  const silentSock = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => silentSock.bind(15405, `127.${net}.0.15`, resolve))
  t.teardown(() => silentSock.close())
  await startAgents(t, c, hosts.filter((h) => h.name !== 'db1').map((h) => ({ name: h.name, bind: h.name === 'db2' ? `127.${net}.0.25` : h.address })))
  const db1 = spawn(process.execPath, ['packages/agent/bin/portcheck-agent.js', '--coordinator', c.agentUrl as string, '--insecure', '--token', agentCredential(TOKEN, 'db1'), '--name', 'db1', '--bind', `127.${net}.0.14`, '--log-level', 'error'], { stdio: 'ignore' })
  t.teardown(() => { db1.kill('SIGKILL') })
  await new Promise<void>((resolve) => { const check = (): void => { if (c.hub.get('db1') !== undefined) resolve(); else setTimeout(check, 20) }; check() })

  // A probe timeout far above what the run needs: ending before it is the proof, however busy the machine.
  const run = c.startRun({ timeoutMs: 15_000 })
  run.on('state', (s) => { if (s === 'probing') setTimeout(() => db1.kill('SIGKILL'), 300) })
  const started = Date.now()
  const report = await c.runs.wait(run)
  const elapsed = Date.now() - started
  t.ok(elapsed < 15_000, `the run ended ${elapsed} ms after start, before the 15 s probe timeout: it does not wait for a dead agent`)
  const db1Checks = report.checks.filter((x) => (x.from === 'db1' || x.to === 'db1') && x.status !== 'skipped')
  const lost = db1Checks.filter((x) => x.status === 'inconclusive' && x.reason === 'agent-lost')
  t.ok(lost.length >= 1, `${lost.length} db1 checks became agent-lost`)
  t.same(db1Checks.filter((x) => !(x.status === 'pass' || (x.status === 'inconclusive' && x.reason === 'agent-lost'))).map((x) => `${x.from ?? ''}>${x.to ?? ''} ${x.protocol}/${x.port} ${x.status ?? ''} ${x.reason ?? ''}`), [], 'db1 checks are either proven before it died, or agent-lost')
  t.match(report.checks.find((x) => x.from === 'db1' && x.to === 'db2' && x.protocol === 'udp'), { status: 'inconclusive', reason: 'agent-lost' }, 'the long probe in flight')
  t.same(report.agents.lost, ['db1'])
})

t.test('the report never contradicts itself: an agent leaving while the listeners close changes nothing', async (t) => {
  const hosts = [{ name: 'lb1', address: '127.45.0.11', roles: ['lb'] }, { name: 'app1', address: '127.45.0.12', roles: ['app'] }]
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const fake = async (name: string, onMessage: (ws: WebSocket, m: Record<string, unknown>) => void): Promise<WebSocket> => {
    const ws = await rawClient(c)
    ws.on('message', (d) => onMessage(ws, JSON.parse(String(d)) as Record<string, unknown>))
    ws.send(hello(name, `i-${name}`))
    return ws
  }
  const common = (ws: WebSocket, m: Record<string, unknown>): void => {
    if (m.type === 'run-start') ws.send(JSON.stringify({ type: 'run-ready', runId: m.runId, listeners: (m.listeners as Array<Record<string, unknown>>).map((l) => ({ ...l, state: 'open' })), refPort: null }))
    if (m.type === 'flush') ws.send(JSON.stringify({ type: 'flushed', runId: m.runId, seq: m.seq, paths: [] }))
  }
  // lb1 reports its probe dropped (ten unanswered attempts, on a path with nothing measured: evidence
  // enough on the prior alone); app1 saw nothing, and vanishes as soon as the run is told to end.
  const lb1 = await fake('lb1', (ws, m) => {
    common(ws, m)
    if (m.type === 'probe') ws.send(JSON.stringify({ type: 'probe-results', runId: m.runId, results: (m.probes as Array<{ id: number }>).map((p) => ({ id: p.id, outcome: 'timeout', latencyMs: null, attempts: 10, unanswered: 10, echo: 'none' })) }))
    if (m.type === 'run-end') ws.send(JSON.stringify({ type: 'run-closed', runId: m.runId }))
  })
  const app1 = await fake('app1', (ws, m) => {
    common(ws, m)
    if (m.type === 'run-end') ws.terminate()
  })
  t.teardown(() => { lb1.terminate(); app1.terminate() })
  while (c.hub.connectedNames().length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 500 }))
  const check = report.checks.find((x) => x.from === 'lb1' && x.to === 'app1')
  t.match(check, { status: 'blocked', reason: 'timeout' }, 'decided before app1 left')
  t.match(report, { summary: { blocked: 1 }, verdict: 'blocked', exitCode: 1 }, 'and the summary agrees with the check')
  t.same(report.agents.lost, [], 'app1 left after the verdicts: not counted as lost for this run')
})

t.test('a run aborted before it began sends nothing to any agent', async (t) => {
  const hosts = [{ name: 'lb1', address: '127.45.0.21', roles: ['lb'] }, { name: 'app1', address: '127.45.0.22', roles: ['app'] }]
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const seen: string[] = []
  const clients = await Promise.all(hosts.map(async (h) => {
    const ws = await rawClient(c)
    ws.on('message', (d) => seen.push(String((JSON.parse(String(d)) as { type: string }).type)))
    ws.send(hello(h.name, `i-${h.name}`))
    return ws
  }))
  t.teardown(() => { for (const ws of clients) ws.terminate() })
  while (c.hub.connectedNames().length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  const run = c.startRun({ timeoutMs: 500 })
  run.abort()
  const report = await c.runs.wait(run)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(seen.filter((x) => x !== 'welcome'), [], 'no run-start, no run-end: nothing was asked of any agent')
  t.match(report, { state: 'aborted', exitCode: 130, agents: { joined: 2, missing: [], lost: [] } })
  const tested = report.checks.filter((x) => x.status !== 'skipped')
  t.ok(tested.length > 0 && tested.every((x) => x.status === 'inconclusive' && x.reason === 'aborted'), 'every check it would have probed is aborted, none agent-missing')
})

t.test('the coordinator follows its messages with a nudge and answers each message with one; an agent\'s nudge shows it alive but answers no heartbeat', async (t) => {
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(47) })
  // No automatic answers to the heartbeat's ping: this test decides which pong goes when.
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(`${c.agentUrl as string}/agent`, { headers: { authorization: `Bearer ${TOKEN}` }, autoPong: false })
    s.once('open', () => resolve(s))
    s.once('error', reject)
  })
  t.teardown(() => ws.terminate())
  const pongs: string[] = []
  ws.on('pong', (d: Buffer) => pongs.push(d.toString()))
  const welcomed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())))
  ws.send(hello('lb1'))
  t.match(JSON.parse(await welcomed), { type: 'welcome' })
  await until(() => pongs.length >= 2)
  t.same(pongs, [NUDGE_PAYLOAD, NUDGE_PAYLOAD], 'one right after the welcome, one late')
  const conn = c.hub.get('lb1')
  if (conn === undefined) throw new Error('lb1 is not registered')
  ws.pong(NUDGE_PAYLOAD)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(conn.rttMs, null, 'a nudge is no sample of the round trip')
  t.equal(conn.alive, true)
  ws.pong()
  await until(() => conn.rttMs !== null)
  t.type(conn.rttMs, 'number', 'the heartbeat\'s own answer is')
  t.equal(pongs.length, 2, 'nudges are never answered with nudges')
  // A message the coordinator has no answer for (no such run) is acknowledged all the same.
  ws.send(JSON.stringify({ type: 'run-closed', runId: 'ghost' }))
  await until(() => pongs.length >= 4)
  t.same(pongs.slice(2), [NUDGE_PAYLOAD, NUDGE_PAYLOAD], 'a message is answered with a nudge at once and a late one')
})

t.test('a run aborted through the API while probing: unfinished checks are aborted, connected agents are not lost, exit 130', async (t) => {
  const hosts = [{ name: 'lb1', address: '127.79.0.21', roles: ['lb'] }, { name: 'app1', address: '127.79.0.22', roles: ['app'] }]
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts, requireAuth: true })
  // Fake agents that never report their probes: the run stays in its probing phase until aborted.
  const agents = hosts.map((h) => new FakeAgent(c, h.name, { onProbes: () => {} }))
  t.teardown(() => { for (const a of agents) a.close() })
  await Promise.all(agents.map(async (a) => await a.joined()))
  while (c.hub.connectedNames().length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  const auth = { authorization: `Bearer ${TOKEN}` }
  const started = await c.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { timeoutMs: 20_000 } })
  t.equal(started.statusCode, 202)
  const id = (started.json() as { id: string }).id
  while ((agents[0]?.orders.length ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const aborted = await c.app.inject({ method: 'POST', url: `/api/runs/${id}/abort`, headers: auth })
  t.ok(aborted.statusCode >= 200 && aborted.statusCode < 300, `the abort is taken (${aborted.statusCode})`)
  let report = (await c.app.inject({ url: `/api/runs/${id}`, headers: auth })).json() as { state: string, exitCode: number, agents: { joined: number, lost: string[] }, checks: Array<{ status: string, reason: string | null }> }
  const deadline = Date.now() + 10_000
  while (report.state !== 'aborted' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    report = (await c.app.inject({ url: `/api/runs/${id}`, headers: auth })).json() as typeof report
  }
  t.match(report, { state: 'aborted', exitCode: 130, agents: { joined: 2, lost: [] } }, 'aborted, exit 130, and both agents still joined, none lost')
  const probed = report.checks.filter((x) => x.status !== 'skipped')
  t.ok(probed.length > 0 && probed.every((x) => x.status === 'inconclusive' && x.reason === 'aborted'), 'every unfinished check is inconclusive aborted, none blocked')
})
