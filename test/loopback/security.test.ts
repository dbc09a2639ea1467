import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import pino from 'pino'
import { WebSocketServer } from 'ws'
import { startAgent } from '../../packages/agent/src/index.js'
import { createSelfSigned } from '../../packages/coordinator/src/security/certificate.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { loadOrCreateTls, loadOrCreateToken, loadTlsFiles } from '../../packages/coordinator/src/security/state-dir.js'
import { demoHosts, silent, startAgents, startCoordinator } from '../support/loopback.js'
import { until } from '../support/until.js'

// Loopback addresses 127.71.0.x belong to this file.
const CATALOG = 'examples/demo/catalog.yaml'

/** A pino logger that keeps what it logs, to read the agent's explanations. */
function capture (): { logger: pino.Logger, lines: () => Array<{ level: number, msg: string }> } {
  const out: string[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => { out.push(s) } })
  return { logger, lines: () => out.map((l) => JSON.parse(l) as { level: number, msg: string }) }
}

t.test('TLS by default: an agent talks only to the coordinator whose key matches its pin', async (t) => {
  const tls = await createSelfSigned(['127.0.0.1'])
  const hosts = demoHosts(71)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts, tls })
  t.match(c.agentUrl, /^wss:\/\//, 'agents connect over wss://')
  t.match(c.joinCommand('lb1'), new RegExp(`--coordinator wss://\\S+ --token ${agentCredential(c.token, 'lb1')} --name lb1 --pin ${tls.pin}$`))
  const [agent] = await startAgents(t, c, [{ name: 'lb1', bind: '127.71.0.11' }])
  t.ok(agent !== undefined && c.hub.get('lb1') !== undefined, 'with the right pin it registers')

  const other = await createSelfSigned(['127.0.0.1'])
  const wrong = startAgent({ coordinator: c.agentUrl as string, token: agentCredential(c.token, 'app1'), pin: other.pin, name: 'app1', logger: silent, reconnectMinMs: 50 })
  t.match(await wrong.stopped, { code: 'PC_ERR_TLS_PIN', message: /presented a key whose pin is sha256:[0-9a-f]{64}, not sha256:/ }, 'another key: it stops')
  t.equal(c.hub.get('app1'), undefined, 'and never registered')

  t.throws(() => startAgent({ coordinator: (c.agentUrl as string).replace('wss:', 'ws:'), token: agentCredential(c.token, 'app1'), name: 'app1', logger: silent }), { code: 'PC_ERR_OPTION_INVALID', message: /not encrypted: the credential would cross the network in clear.*--insecure/ }, 'ws:// without --insecure is refused before connecting')
  t.throws(() => startAgent({ coordinator: 'ws//127.0.0.1:7070', token: agentCredential(c.token, 'app1'), name: 'app1', logger: silent }), { code: 'PC_ERR_OPTION_INVALID', message: /invalid coordinator address "ws\/\/127\.0\.0\.1:7070"/ }, 'a malformed address says so')

  const unpinned = capture()
  const noPin = startAgent({ coordinator: c.agentUrl as string, token: agentCredential(c.token, 'app2'), name: 'app2', logger: unpinned.logger, reconnectMinMs: 50, reconnectMaxMs: 100 })
  // Until it has retried a few times after its first failure (each retry logged), however busy the machine.
  await until(() => unpinned.lines().filter((l) => l.msg === 'reconnecting').length >= 3)
  await noPin.close()
  t.ok(unpinned.lines().some((l) => l.level === 40 && /not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass the --pin/.test(l.msg)), 'without a pin, a self-signed coordinator is not trusted, and the agent says what to do')
  t.equal(unpinned.lines().filter((l) => /not trusted here/.test(l.msg)).length, 1, 'once, not at every retry')
})

t.test('an impostor coordinator never receives the credential', async (t) => {
  const real = await createSelfSigned(['127.0.0.1'])
  const fake = await createSelfSigned(['127.0.0.1'])
  const server = https.createServer({ key: fake.key, cert: fake.cert })
  const wss = new WebSocketServer({ server })
  const heard: string[] = []
  wss.on('connection', (ws) => ws.on('message', (d) => heard.push(String(d))))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const c of wss.clients) c.terminate(); server.close() })
  const port = (server.address() as net.AddressInfo).port
  const agent = startAgent({ coordinator: `wss://127.0.0.1:${port}`, token: agentCredential('the-real-join-token', 'lb1'), pin: real.pin, name: 'lb1', logger: silent })
  t.match(await agent.stopped, { code: 'PC_ERR_TLS_PIN' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(heard, [], 'not a byte of the protocol, let alone the credential')
})

t.test('per-host credentials: a node can register as its own host only, and names outside the inventory are refused', async (t) => {
  const hosts = demoHosts(72)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const impostor = startAgent({ coordinator: c.agentUrl as string, insecure: true, token: agentCredential(c.token, 'app1'), name: 'db1', logger: silent, reconnectMinMs: 50 })
  t.match(await impostor.stopped, { code: 'PC_ERR_AGENT_AUTH' }, 'app1\'s credential does not register db1')
  const stranger = startAgent({ coordinator: c.agentUrl as string, insecure: true, token: agentCredential(c.token, 'nobody'), name: 'nobody', logger: silent, reconnectMinMs: 50 })
  t.match(await stranger.stopped, { code: 'PC_ERR_AGENT_UNKNOWN', message: /"nobody" is not a host of this coordinator's inventory; its hosts are: lb1, app1, app2, db1, db2/ }, 'a name outside the inventory, with a credential of the join token: the agent learns the names')
  const guesser = startAgent({ coordinator: c.agentUrl as string, insecure: true, token: agentCredential('a-guess', 'nobody'), name: 'nobody', logger: silent, reconnectMinMs: 50 })
  const guessed = await guesser.stopped
  t.match(guessed, { code: 'PC_ERR_AGENT_AUTH' }, 'without one, nothing')
  t.notMatch(guessed?.message, /lb1/, 'not even the inventory\'s names')
  // A flood of junk names leaves no trace.
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const a = startAgent({ coordinator: c.agentUrl as string, insecure: true, token: agentCredential(c.token, `junk${i}`), name: `junk${i}`, logger: silent, reconnectMinMs: 50 })
    await a.stopped
  }))
  const agents = (await c.app.inject({ url: '/api/agents', headers: { host: '127.0.0.1', authorization: `Bearer ${c.token}` } })).json() as { refused: Array<{ name: string }>, hosts: Array<{ state: string }> }
  t.equal(agents.refused.length, 20, 'the latest 20 refusals are shown, for a typo to be spotted; no more')
  t.same(c.hub.records(), [], 'and none is kept as an agent')
})

t.test('the state directory keeps the token and the TLS key across restarts', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-state-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [a, b] = await Promise.all([loadOrCreateToken(dir), loadOrCreateToken(dir)])
  t.equal(a, b, 'two coordinators starting together agree on one token')
  const [x, y] = await Promise.all([loadOrCreateTls(dir, ['localhost']), loadOrCreateTls(dir, ['localhost'])])
  t.equal(x.pin, y.pin, 'and on one key')
  t.equal((await loadOrCreateTls(dir, ['localhost'])).pin, x.pin, 'a restart keeps the pin: join commands stay valid')
  t.equal(await loadOrCreateToken(dir), a, 'and the token')
})

t.test('idle connections from one address are bounded; others are still served', async (t) => {
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(73) })
  const port = c.access.port
  const held: net.Socket[] = []
  t.teardown(() => { for (const s of held) s.destroy() })
  let closedByServer = 0
  await Promise.all(Array.from({ length: 300 }, async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.73.0.99' }, () => resolve())
      s.on('error', () => resolve())
      s.on('close', () => { closedByServer++ })
      held.push(s)
    })
  }))
  await until(() => closedByServer >= 300 - 256)
  t.ok(closedByServer >= 300 - 256, `past 256 connections from one address, the rest were closed (${closedByServer})`)
  const health = await new Promise<number>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.73.0.98' }, () => s.write(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`))
    let data = ''
    s.on('data', (d) => { data += d.toString() })
    s.on('close', () => resolve(Number(/HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)))
  })
  t.equal(health, 200, 'another address is served')
  await startAgents(t, c, [{ name: 'lb1', bind: '127.73.0.11' }])
  t.ok(c.hub.get('lb1') !== undefined, 'and an agent still joins')
})

t.test('--tls-cert and --tls-key: an operator\'s own certificate is served and pinned; a wrong pair is refused, naming the files', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-tls-files-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const own = await createSelfSigned(['127.0.0.1'])
  const other = await createSelfSigned(['127.0.0.1'])
  const files = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), otherKey: path.join(dir, 'other-key.pem'), junk: path.join(dir, 'junk.pem') }
  writeFileSync(files.cert, own.cert)
  writeFileSync(files.key, own.key)
  writeFileSync(files.otherKey, other.key)
  writeFileSync(files.junk, 'not a certificate\n')

  const tls = await loadTlsFiles(files.cert, files.key)
  t.equal(tls.pin, own.pin, 'the pin is the certificate\'s')
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(78), tls })
  t.match(c.joinCommand('lb1'), new RegExp(`--pin ${own.pin}$`), 'and the join commands carry it')
  await startAgents(t, c, [{ name: 'lb1', bind: '127.78.0.11' }])
  t.ok(c.hub.get('lb1') !== undefined, 'an agent with that pin registers')

  await t.rejects(loadTlsFiles(files.cert, files.otherKey), { code: 'PC_ERR_TLS', message: `--tls-key ${files.otherKey} is not the key of --tls-cert ${files.cert}` })
  await t.rejects(loadTlsFiles(files.junk, files.key), { code: 'PC_ERR_TLS', message: new RegExp(`^${files.junk.replace(/[.]/g, '\\.')} is not a PEM certificate`) })
  await t.rejects(loadTlsFiles(files.cert, files.junk), { code: 'PC_ERR_TLS', message: new RegExp(`^--tls-key ${files.junk.replace(/[.]/g, '\\.')} is not a PEM private key`) })
  await t.rejects(loadTlsFiles(path.join(dir, 'missing.pem'), files.key), { code: 'PC_ERR_TLS', message: `--tls-cert ${path.join(dir, 'missing.pem')}: no such file` })
})
