import { execFile, execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import tls from 'node:tls'
import path from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import pino from 'pino'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { agentFilesDir, loadAgentFiles, type AgentFiles } from '../src/agent-dist/agent-files.js'
import { agentRoutes } from '../src/agent-dist/agent-routes.js'
import { agentArtifacts, type AgentArtifacts, type Artifact } from '../src/agent-dist/artifacts.js'
import { ExecutableCache } from '../src/agent-dist/executable.js'
import { currentTarget } from '../src/agent-dist/target.js'
import { createSelfSigned } from '../src/security/certificate.js'
import { buildCoordinator, type Coordinator } from '../src/server/coordinator.js'
import { curlPin } from '../src/server/join-command.js'
import { until } from '../../../test/support/until.js'

const run = promisify(execFile)
const silent = pino({ level: 'silent' })
const hosts = [{ name: 'app1', address: '198.18.0.1', roles: ['app'] }, { name: 'db1', address: '198.18.0.2', roles: ['db'] }]
/** TLS without verification: these tests check the bytes served, the join commands check the key. */
const insecure = new Agent({ connect: { rejectUnauthorized: false } })
t.teardown(() => insecure.close())

const built = loadAgentFiles()
if ('missing' in built) throw new Error(`${built.missing} (these tests serve the built agent)`)
const files: AgentFiles = built

function tempDir (t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-agent-dist-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function tlsCoordinator (t: Test, stateDir: string, logger = silent): Promise<Coordinator> {
  const catalog = await loadCatalogFile('examples/demo/catalog.yaml')
  const c = await buildCoordinator({ catalog, hosts, settings: { metrics: true }, token: 'full-token', logger, tls: await createSelfSigned(['127.0.0.1']), stateDir })
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  return c
}

async function get (c: Coordinator | string, url: string): Promise<{ status: number, headers: Record<string, unknown>, body: Buffer }> {
  const base = typeof c === 'string' ? c : (c.httpUrl as string)
  const res = await request(new URL(url, base), { dispatcher: insecure })
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
}

t.test('the coordinator serves the agent\'s package and bundle, with no token, byte for byte as built', async (t) => {
  const c = await tlsCoordinator(t, tempDir(t))
  const bundle = await get(c, '/agent/portcheck-agent.mjs')
  t.equal(bundle.status, 200)
  t.match(bundle.headers, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': String(files.bundle.bytes), 'x-content-type-options': 'nosniff' })
  t.equal(createHash('sha256').update(bundle.body).digest('hex'), files.bundle.sha256, 'the bundle, as built')
  t.same(bundle.body, readFileSync(path.join(import.meta.dirname, '../../agent/dist/portcheck-agent.mjs')), 'the same file the agent\'s package holds')

  const tgz = await get(c, '/agent/portcheck-agent.tgz')
  t.equal(tgz.status, 200)
  t.match(tgz.headers, { 'content-type': 'application/gzip', 'content-length': String(files.tarball.bytes) })
  // What npx installs: the package as `npm pack` makes it, with no runtime dependency.
  const dir = tempDir(t)
  writeFileSync(path.join(dir, 'agent.tgz'), tgz.body)
  execFileSync('tar', ['-xzf', 'agent.tgz'], { cwd: dir })
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package/package.json'), 'utf8')) as { name: string, version: string, bin: Record<string, string>, dependencies?: unknown }
  t.match(pkg, { name: 'portcheck-agent', version: files.version, bin: { 'portcheck-agent': 'bin/portcheck-agent.js' } })
  t.equal(pkg.dependencies, undefined, 'no runtime dependency: nothing to fetch from a registry')
  t.same(readFileSync(path.join(dir, 'package/dist/portcheck-agent.mjs')), bundle.body, 'its bundle is the one served')
  const version = await run(process.execPath, [path.join(dir, 'package/bin/portcheck-agent.js'), '--version'])
  t.equal(version.stdout, `${files.version}\n`, 'and its bin runs from the unpacked package alone')

  const head = await request(new URL('/agent/portcheck-agent.tgz', c.httpUrl as string), { method: 'HEAD', dispatcher: insecure })
  await head.body.dump()
  t.equal(head.statusCode, 200, 'HEAD too')
})

t.test('the bundle runs as a program: from a file, and from stdin as the join command pipes it', async (t) => {
  const file = files.bundle.path
  t.equal((await run(process.execPath, [file, '--version'])).stdout, `${files.version}\n`, 'node portcheck-agent.mjs --version')
  const piped = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-', '--coordinator', 'ws//127.0.0.1:7070', '--token', 'x'.repeat(43), '--name', 'app1'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr }))
    child.stdin?.end(readFileSync(file))
  })
  t.equal(piped.code, 2, 'an invalid --coordinator exits 2, from stdin too')
  t.match(piped.stderr, /invalid coordinator address "ws\/\/127\.0\.0\.1:7070": expected wss:\/\/HOST:PORT/, 'with the reason')
})

t.test('the standalone agent: another platform is a clear 404; this one is made once, cached, and runs', async (t) => {
  const stateDir = tempDir(t)
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (l: string) => { lines.push(l) } })
  const c = await tlsCoordinator(t, stateDir, logger)
  const own = currentTarget()
  const other = own === 'linux-arm64' ? 'linux-x64' : 'linux-arm64'

  const wrong = await get(c, `/agent/bin/${other}`)
  t.equal(wrong.status, 404)
  t.equal(wrong.body.toString(), `PC_ERR_AGENT_DIST: no standalone agent for ${other}: this coordinator runs ${own}; run it on a ${other} machine to serve that\n`)
  const garbage = await get(c, '/agent/bin/..%2F..%2Fetc%2Fpasswd')
  t.equal(garbage.status, 404)
  t.match(garbage.body.toString(), /is not a target: expected <platform>-<arch>, e.g. /)
  t.equal(c.executableTarget, process.platform === 'linux' ? own : null, 'the join command for nodes without Node.js names this coordinator\'s platform')
  if (process.platform !== 'linux') {
    t.match((await get(c, `/agent/bin/${own}`)).body.toString(), /makes it on Linux only/)
    return
  }

  // A leftover of an older agent or Node.js, to be pruned once the new one is made.
  mkdirSync(path.join(stateDir, 'agent-bin', 'linux-x64-node20.0.0-0000000000000000'), { recursive: true })
  const [first, second] = await Promise.all([get(c, `/agent/bin/${own}`), get(c, `/agent/bin/${own}`)])
  t.equal(first.status, 200)
  t.same(second.body.equals(first.body), true, 'two requests during the build get the same executable')
  t.equal(lines.filter((l) => l.includes('making the standalone agent')).length, 1, 'made once for both')
  t.match(first.headers, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="portcheck-agent"' })
  t.ok(first.body.length > 10_000_000, `a whole Node.js inside: ${(first.body.length / 1e6).toFixed(1)} MB`)
  const cached = readdirSync(path.join(stateDir, 'agent-bin'))
  t.equal(cached.length, 1, 'one executable in the cache: the older one is removed')
  t.match(cached[0], new RegExp(`^${own}-node${process.versions.node}-[0-9a-f]{16}$`), 'keyed by platform, Node.js version and bundle')
  const exe = path.join(stateDir, 'agent-bin', cached[0] as string, 'portcheck-agent')
  t.same(readFileSync(exe), first.body, 'the cached file is what was served')
  t.equal(statSync(path.join(stateDir, 'agent-bin')).mode & 0o777, 0o700, 'the cache is private')
  const copy = path.join(tempDir(t), 'portcheck-agent')
  writeFileSync(copy, first.body, { mode: 0o755 })
  // No node on the PATH, and no NODE_OPTIONS: it needs nothing.
  const help = await run(copy, ['--help'], { env: { PATH: '/nonexistent' } })
  t.match(help.stdout, /^Usage: portcheck-agent --coordinator wss:\/\/HOST:PORT/)
  t.equal(help.stderr, '', 'no warning on start')

  // A restarted coordinator on the same state directory serves the cached one at once.
  const again = await tlsCoordinator(t, stateDir, logger)
  const before = lines.length
  const artifact = await again.agentArtifacts.executable()
  t.equal(artifact.path, exe, 'agentArtifacts().executable(): the same file, for launchers')
  t.notOk(lines.slice(before).some((l) => l.includes('making the standalone agent')), 'not made again')
})

t.test('downloads are bounded; an agent that is not built, or cannot be made, is a 503 that says why', async (t) => {
  let release!: () => void
  // Requests waiting for the executable: each took its download slot first.
  let making = 0
  const gate = new Promise<void>((resolve) => { release = resolve })
  const slow: AgentArtifacts = {
    version: files.version,
    target: currentTarget(),
    bundle: files.bundle,
    tarball: files.tarball,
    // An executable still being made: each request waiting for it holds a download slot.
    executable: async () => { making++; await gate; return files.bundle },
    close: async () => {}
  }
  // As the coordinator closes: every connection, idle or not (the client keeps them alive).
  const app = Fastify({ forceCloseConnections: true })
  await app.register(agentRoutes, { artifacts: slow, maxDownloads: 2 })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const waiting = [get(base, `/agent/bin/${currentTarget()}`), get(base, `/agent/bin/${currentTarget()}`)]
  await until(() => making >= 2)
  t.equal(making, 2, 'both downloads wait for the executable')
  const refused = await get(base, '/agent/portcheck-agent.tgz')
  t.equal(refused.status, 503, 'a third download at once is refused')
  t.equal(refused.headers['retry-after'], '5')
  t.equal(refused.body.toString(), 'PC_ERR_AGENT_DIST: 2 downloads of the agent are in progress: try again in a few seconds\n')
  release()
  t.same((await Promise.all(waiting)).map((r) => r.status), [200, 200], 'the two in progress complete')
  t.equal((await get(base, '/agent/portcheck-agent.tgz')).status, 200, 'and the slots are free again')

  const unbuilt = Fastify()
  await unbuilt.register(agentRoutes, { artifacts: agentArtifacts({ stateDir: tempDir(t), logger: silent, filesDir: tempDir(t) }) })
  const missing = await unbuilt.inject({ url: '/agent/portcheck-agent.mjs' })
  t.equal(missing.statusCode, 503)
  t.match(missing.body, /^PC_ERR_AGENT_DIST: the agent's files are not built \(.*manifest\.json: ENOENT\): run `npm run build`\n$/)
})

t.test('a failed build says why, and is not retried at every request', async (t) => {
  const dir = tempDir(t)
  const bundle = path.join(dir, 'missing.cjs')
  const cache = new ExecutableCache({ dir: path.join(dir, 'agent-bin'), seaBundle: { path: bundle, bytes: 0, sha256: '0'.repeat(64) }, version: files.version, logger: silent })
  await t.rejects(cache.get(), { code: 'PC_ERR_AGENT_DIST', message: new RegExp(`could not be made from ${process.execPath.replace(/[/.]/g, '\\$&')} \\(preparing the blob\\): .*missing\\.cjs`) })
  writeFileSync(bundle, 'process.stdout.write("0.0.0\\n")\n')
  await t.rejects(cache.get(), { code: 'PC_ERR_AGENT_DIST', message: /preparing the blob/ }, 'the same failure, without trying again')
  t.same(readdirSync(path.join(dir, 'agent-bin')), [], 'and nothing left of the attempt')
})

t.test('a coordinator that closes while the executable is being made leaves no process and no file of it', async (t) => {
  if (process.platform !== 'linux') { t.plan(0, 'the standalone agent is made on Linux only'); return }
  const dir = tempDir(t)
  const cache = new ExecutableCache({ dir: path.join(dir, 'agent-bin'), seaBundle: files.seaBundle, version: files.version, logger: silent })
  const made = cache.get()
  // Into the build: its working directory exists, and a child process of this one runs it.
  const children = (): number[] => readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number)
  const before = new Set(children())
  for (let i = 0; i < 100 && children().every((pid) => before.has(pid)); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  const builder = children().filter((pid) => !before.has(pid))
  t.equal(builder.length, 1, 'a build step runs in a child process')
  await cache.close()
  await t.rejects(made, { code: 'PC_ERR_AGENT_DIST', message: /the coordinator is closing/ })
  t.same(readdirSync(path.join(dir, 'agent-bin')), [], 'nothing of the build is left')
  t.notOk(existsSync(`/proc/${builder[0] ?? 0}`) && !readFileSync(`/proc/${builder[0] ?? 0}/stat`, 'utf8').includes(') Z '), 'its process is gone')
})

t.test('join commands fetch the agent pinned to the coordinator\'s key, as curl takes a pin', async (t) => {
  const c = await tlsCoordinator(t, tempDir(t))
  // The key the coordinator really presents on the wire: curl's pin is the base64 SHA-256 of it.
  const presented = await new Promise<X509Certificate>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: c.access.port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()
      socket.destroy()
      if (cert === undefined) reject(new Error('no certificate')); else resolve(cert)
    })
    socket.once('error', reject)
  })
  const spki = presented.publicKey.export({ type: 'spki', format: 'der' })
  const pin = c.pin as string
  t.equal(curlPin(pin), `sha256//${createHash('sha256').update(spki).digest('base64')}`, 'the same key hash, in curl\'s form')
  const join = c.joinCommand('app1')
  t.equal(join, `curl -fsSk --pinnedpubkey ${curlPin(pin)} ${c.httpUrl as string}agent/portcheck-agent.mjs | node --input-type=module - --coordinator ${c.agentUrl as string} --token ${join.split(' --token ')[1]?.split(' ')[0] ?? ''} --name app1 --pin ${pin}`)
  t.equal(c.executableJoinCommand('app1'), process.platform === 'linux'
    ? `curl -fsSk --pinnedpubkey ${curlPin(pin)} -o portcheck-agent ${c.httpUrl as string}agent/bin/${currentTarget()} && chmod +x portcheck-agent && ./portcheck-agent ${join.slice(join.indexOf('--coordinator '))}`
    : null)
})

t.test('agentArtifacts(): the paths launchers copy, or null with the reason', async (t) => {
  const a = agentArtifacts({ stateDir: tempDir(t), logger: silent })
  t.match(a, { version: files.version, target: currentTarget(), bundle: { path: path.join(agentFilesDir(), 'portcheck-agent.mjs') }, tarball: { path: path.join(agentFilesDir(), 'portcheck-agent.tgz') } })
  const other: Artifact = await a.executable('win32-x64')
  t.same(other, { path: null, reason: `no standalone agent for win32-x64: this coordinator runs ${currentTarget()}; run it on a win32-x64 machine to serve that` })
})
