import { spawn } from 'node:child_process'
import http from 'node:http'
import net, { type AddressInfo, type LookupFunction } from 'node:net'
import pino from 'pino'
import t, { type Test } from 'tap'
import { startAgent, type AgentOptions } from '../../packages/agent/src/index.js'
import { loadCatalogFile } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { createSelfSigned } from '../../packages/coordinator/src/security/certificate.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { buildCoordinator, type Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { TOKEN, demoHosts, silent, startCoordinator } from '../support/loopback.js'
import { until } from '../support/until.js'

// What an agent says when it cannot join, as an operator reads it: the real cause of every
// failed connection, once per cause however often it retries, a credential that stopped being
// accepted, and a --coordinator that is no address at all. Loopback addresses 127.96.0.x.
const CATALOG = 'examples/demo/catalog.yaml'
const AGENT_BIN = 'packages/agent/bin/portcheck-agent.js'
const CREDENTIAL = agentCredential(TOKEN, 'lb1')

/** Runs the agent's CLI; resolves with its exit code and output. `onStderr` sees the output as it comes. */
function agentCli (args: string[], onStderr?: (stderr: string) => void): Promise<{ code: number | null, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); onStderr?.(stderr) })
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

/**
 * An agent that keeps retrying until it has tried `attempts` times (or `maxMs` passed: a busy
 * machine makes each attempt slower, never fewer), and what it logged: its warnings, and how
 * often it tried.
 */
async function retrying (options: Omit<AgentOptions, 'token' | 'name'>, attempts = 3, maxMs = 10_000): Promise<{ warnings: string[], attempts: number }> {
  const lines: Array<{ level: number, msg: string }> = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as { level: number, msg: string }) } })
  const tried = (): number => lines.filter((l) => l.msg === 'reconnecting').length + 1
  const agent = startAgent({ token: CREDENTIAL, name: 'lb1', logger, reconnectMinMs: 20, reconnectMaxMs: 40, ...options })
  // The attempt after the last counted one has failed too once the next 'reconnecting' is logged.
  await until(() => tried() > attempts, maxMs, 20)
  await agent.close()
  return { warnings: lines.filter((l) => l.level === 40).map((l) => l.msg), attempts: tried() }
}

/** A resolver that knows no name, as one would answer for a name that does not exist: no query leaves the machine. */
const noSuchName: LookupFunction = (hostname, _options, callback) => {
  const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`)
  err.code = 'ENOTFOUND'
  process.nextTick(() => callback(err, '', 4))
}

/** A port nothing listens on (it was just closed). */
async function closedPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A plain HTTP server answering every request, WebSocket upgrades included, with `status`. */
async function answering (t: Test, status: number): Promise<number> {
  const server = http.createServer((_req, res) => { res.statusCode = status; res.end() })
  server.on('upgrade', (_req, socket) => {
    // The HTTP server leaves an upgraded socket's errors to whoever takes it: the agent resets
    // the connection as it gives up, and that reset must not take the test process down.
    socket.on('error', () => {})
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return (server.address() as AddressInfo).port
}

t.test('every failed connection is logged at warn with its real cause, once however often the agent retries', async (t) => {
  const tls = await createSelfSigned(['127.0.0.1'])
  const plain = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(96) })
  const secure = await startCoordinator(t, { catalogFile: CATALOG, hosts: demoHosts(96), tls })
  const pin = tls.pin
  const cases: Array<[string, Omit<AgentOptions, 'token' | 'name'>, RegExp]> = [
    ['refused', { coordinator: `ws://127.0.0.1:${await closedPort()}`, insecure: true }, /^cannot connect to the coordinator: nothing listens at 127\.0\.0\.1:\d+: is the coordinator running, and is the port right\?$/],
    ['unknown host', { coordinator: 'wss://no-such-host.invalid:7070', pin, lookup: noSuchName }, /^cannot connect to the coordinator: the coordinator's name no-such-host\.invalid does not resolve \(ENOTFOUND\)$/],
    ['wss:// to a plain coordinator', { coordinator: (plain.agentUrl as string).replace('ws:', 'wss:'), pin }, /the TLS handshake with 127\.0\.0\.1:\d+ failed \(EPROTO\): the coordinator is plain HTTP\? Then it was started with --insecure: use ws:\/\/ and --insecure here too$/],
    ['ws:// to a TLS coordinator', { coordinator: (secure.agentUrl as string).replace('wss:', 'ws:'), insecure: true }, /127\.0\.0\.1:\d+ closed the connection \(ECONNRESET\): a TLS coordinator spoken to with ws:\/\/\? Use the wss:\/\/ address its join command prints$/],
    ['a certificate not trusted, no pin', { coordinator: secure.agentUrl as string }, /not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass the --pin printed in its join command$/],
    ['HTTP 404: another path', { coordinator: `${secure.agentUrl as string}/elsewhere`, pin }, /127\.0\.0\.1:\d+ answered HTTP 404 on \/elsewhere: not a portcheck coordinator, or another path$/],
    ['HTTP 503', { coordinator: `ws://127.0.0.1:${await answering(t, 503)}`, insecure: true }, /127\.0\.0\.1:\d+ answered HTTP 503 instead of accepting the agent$/],
    ['HTTP 429', { coordinator: `ws://127.0.0.1:${await answering(t, 429)}`, insecure: true }, /127\.0\.0\.1:\d+ refuses more connections from this address for now \(HTTP 429\)$/]
  ]
  for (const [label, options, cause] of cases) {
    const { warnings, attempts } = await retrying(options)
    t.ok(attempts >= 3, `${label}: it kept retrying (${attempts} attempts)`)
    t.equal(warnings.length, 1, `${label}: one warning, not one per attempt: ${JSON.stringify(warnings)}`)
    t.match(warnings[0], cause, `${label}: ${warnings[0] ?? 'no warning'}`)
  }
})

t.test('an agent whose credential stops being accepted after it registered says the token changed, and where the new join command is; exit 2', async (t) => {
  const catalog = await loadCatalogFile(CATALOG)
  const start = async (token: string, port: number): Promise<Coordinator> => {
    const c = await buildCoordinator({ catalog, hosts: demoHosts(97), settings: {}, token, logger: silent, tls: null })
    await c.listen({ host: '127.0.0.1', port })
    t.teardown(() => c.close())
    return c
  }
  const first = await start(TOKEN, 0)
  const port = first.access.port
  const second: { restarted: Promise<Coordinator> | null } = { restarted: null }
  const result = await agentCli(['--coordinator', first.agentUrl as string, '--insecure', '--token', CREDENTIAL, '--name', 'lb1', '--log-format', 'json'], (stderr) => {
    // Once registered, the coordinator is restarted on its port with another join token.
    if (second.restarted === null && stderr.includes('"msg":"registered with the coordinator"')) second.restarted = first.close().then(async () => await start('another-join-token-9876543210', port))
  })
  const restarted = second.restarted
  if (restarted === null) { t.fail('it never registered'); return }
  t.equal(result.code, 2, 'exit 2: retrying cannot help')
  // Its last word (pino writes its own lines as the pipe drains: they may come before or after).
  t.match(result.stderr, /(^|\n)portcheck-agent: PC_ERR_AGENT_AUTH: the coordinator at 127\.0\.0\.1:\d+ refuses the credential "lb1" was registered with until now: its join token changed \(it was restarted with another --token or --state-dir\)\. Get this host's new join command where the coordinator shows it \(its terminal at start-up, its dashboard's Agents view, or GET \/api\/agents\) and run it here instead\n/)
  t.match(result.stderr, /"level":50,[^\n]*"msg":"coordinator refused this agent: the coordinator at [^\n]*join token changed/, 'logged as an error too')

  // A credential refused from the start is the coordinator's own explanation: nothing was ever registered.
  const never = startAgent({ coordinator: (await restarted).agentUrl as string, insecure: true, token: agentCredential('yet-another-token-0123456', 'lb1'), name: 'lb1', logger: silent })
  t.match(await never.stopped, { code: 'PC_ERR_AGENT_AUTH', message: /^the coordinator does not accept this credential for "lb1": its join token changed since the join command was printed/ })
})

t.test('an invalid --coordinator exits 2 with the reason, before connecting anywhere', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--coordinator', 'ws//127.0.0.1:7070'], /invalid coordinator address "ws\/\/127\.0\.0\.1:7070": expected wss:\/\/HOST:PORT, as the join command prints it/],
    [['--coordinator', 'ftp://127.0.0.1:7070'], /invalid coordinator address "ftp:\/\/127\.0\.0\.1:7070": the scheme must be wss:\/\/ \(or ws:\/\/ with --insecure\)/],
    [['--coordinator', 'wss://127.0.0.1:99999'], /invalid coordinator address "wss:\/\/127\.0\.0\.1:99999": expected wss:\/\/HOST:PORT/],
    [['--coordinator', 'ws://127.0.0.1:7070'], /ws:\/\/127\.0\.0\.1:7070 is not encrypted: the credential would cross the network in clear\. Use the wss:\/\/ address the join command prints, or pass --insecure/],
    [['--coordinator', 'wss://127.0.0.1:7070', '--pin', 'sha256:abc'], /invalid --pin "sha256:abc": expected sha256: and 64 hex digits/]
  ]
  for (const [args, reason] of cases) {
    const r = await agentCli([...args, '--token', CREDENTIAL, '--name', 'lb1'])
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.stderr, new RegExp(`^portcheck-agent: ${reason.source}`), 'the reason, first')
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})
