// The simulated agents of `npm run bench -- scale` (benchmarks/sim-agents.js), run as the
// benchmark runs them (their own process, against a real coordinator over TLS), must join with
// their credentials and give exact verdicts; refused, they must say so and exit, never hang. The
// coordinator-scale driver must come out with every check judged. Figures are not checked here:
// they belong to `npm run bench`.
import { execFile, spawn } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import type { InventoryHost } from '@portcheck/protocol'
import { createSelfSigned } from '../../packages/coordinator/src/security/certificate.js'
import { buildCoordinator, type Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { silent } from '../support/loopback.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SIM = path.join(ROOT, 'benchmarks/sim-agents.js')
const run = promisify(execFile)

/** The hosts the simulator makes for COUNT: n0, n1, … on 198.18.0.1, 198.18.0.2, … (it binds nothing). */
const simHosts = (count: number): InventoryHost[] => Array.from({ length: count }, (_, i) => ({ name: `n${i}`, address: `198.18.0.${i + 1}`, roles: ['node'] }))

async function coordinator (t: Test, hosts: InventoryHost[], token: string): Promise<Coordinator> {
  const catalog = { id: 'sim', title: 'Simulated mesh', roles: { node: { title: 'Nodes' } }, flows: [{ id: 'S-01', from: 'node', to: 'node', tcp: [9000, 9001], udp: [9100], purpose: 'mesh' }] }
  const c = await buildCoordinator({ catalog: { catalog, file: '<sim>', builtin: false }, hosts, settings: {}, token, logger: silent, requireAuth: false, tls: await createSelfSigned(['127.0.0.1']) })
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  return c
}

t.test('simulated agents join with their credentials, and every verdict is exact', async (t) => {
  // More than the 32 agent connections the coordinator takes from one address: the simulator
  // must connect each host from its own, as the benchmark's 1,000 do.
  const n = 40
  const hosts = simHosts(n)
  const c = await coordinator(t, hosts, 'sim-test-join-token')
  t.match(c.agentUrl, /^wss:\/\//, 'over TLS, as a coordinator serves by default')
  const sim = spawn(process.execPath, [SIM, c.agentUrl as string, c.token, String(hosts.length), '9001'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { sim.kill('SIGTERM') })
  let err = ''
  sim.stderr.on('data', (d: Buffer) => { err += d.toString() })
  await new Promise<void>((resolve, reject) => {
    sim.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve() })
    sim.once('exit', (code) => reject(new Error(`the simulator exited ${code}: ${err}`)))
  })
  t.same(await c.waitForAgents(10_000), [], 'every simulated host joined')

  const report = await c.runs.wait(c.startRun({ timeoutMs: 2000 }))
  t.equal(report.checks.length, n * (n - 1) * 3, 'a full mesh over 2 TCP ports and 1 UDP port')
  const wrong = report.checks.filter((x) => `${x.status} ${x.reason ?? '-'}` !== (x.port === 9001 ? 'blocked timeout' : 'pass -'))
  t.same(wrong.map((x) => `${x.from ?? ''}>${x.to ?? ''} ${x.protocol}/${x.port}: ${x.status} ${x.reason ?? '-'}`), [], 'tcp/9001 silent: blocked timeout; the others: pass')
  t.equal(report.summary.pass, n * (n - 1) * 2)
  t.equal(report.summary.blocked, n * (n - 1))
  t.match(report.agents, { joined: n, missing: [], lost: [] })
  t.equal(err, '', 'the simulator said nothing on stderr')
})

t.test('refused simulated agents say why and exit 1, never wait', async (t) => {
  const hosts = simHosts(3)
  const c = await coordinator(t, hosts, 'sim-test-join-token')
  const out = await run(process.execPath, [SIM, c.agentUrl as string, 'another-join-token', String(hosts.length)], { timeout: 30_000 }).then(
    () => null,
    (e: { code?: number, stdout: string, stderr: string }) => e
  )
  t.ok(out !== null, 'the simulator failed')
  t.equal(out?.code, 1, 'exit 1')
  t.equal(out?.stdout, '', 'never said ready')
  t.match(out?.stderr, /^sim-agents: simulated agent n\d was not let in: PC_ERR_AGENT_AUTH: the coordinator does not accept this credential for "n\d"/, 'names the host and the coordinator\'s reason')
  t.same(c.hub.connectedNames(), [], 'nobody was registered')
})

t.test('the coordinator-scale driver judges every check of its run, all passing', async (t) => {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'benchmarks/coordinator-scale.js'), '8'], { timeout: 120_000 })
  const figures = JSON.parse(stdout) as { agents: number, checks: number, wrong: number }
  t.match(figures, { agents: 8, checks: 8 * 7, wrong: 0 })
})
