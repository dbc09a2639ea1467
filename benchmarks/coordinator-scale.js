// Scenario 2: the coordinator at scale. N simulated agents over real WebSockets, a full mesh on
// one TCP port (N x (N-1) checks), answered instantly. Measures plan expansion, the run (scheduling,
// ingestion, barrier, verdicts) and the JSON report, with the coordinator's peak RSS and CPU.
// The coordinator serves TLS, as by default; each simulated host joins with its own credential.
// Fails, printing no figures, if the simulated agents do not all join.
// Run: node benchmarks/coordinator-scale.js [agents=1000]
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { buildCoordinator, buildPlan } from '../packages/coordinator/dist/index.js'
import { createSelfSigned } from '../packages/coordinator/dist/security/certificate.js'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export async function coordinatorScale (agents = 1000) {
  const catalog = {
    id: 'scale',
    title: 'Scale test',
    roles: { node: { title: 'Nodes' } },
    flows: [{ id: 'S-01', from: 'node', to: 'node', tcp: [9000], purpose: 'mesh' }]
  }
  const hosts = Array.from({ length: agents }, (_, i) => ({ name: `n${i}`, address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, roles: ['node'] }))
  let peakRss = 0
  const sample = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 50)
  const t0 = performance.now()
  const plan = buildPlan({ catalog, hosts, settings: {} })
  const planMs = performance.now() - t0
  const c = await buildCoordinator({ catalog: { catalog, file: '<bench>', builtin: false }, hosts, settings: {}, token: 'bench-join-token', logger: pino({ level: 'warn' }), requireAuth: false, tls: await createSelfSigned(['127.0.0.1']) })
  await c.listen({ host: '127.0.0.1', port: 0 })
  // The simulator runs in its own process, so the figures are the coordinator's alone.
  const sim = spawn(process.execPath, ['--max-old-space-size=4096', fileURLToPath(new URL('./sim-agents.js', import.meta.url)), c.agentUrl, c.token, String(agents)], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    // The simulator says why on stderr (inherited) when a host is refused, and exits 1.
    await new Promise((resolve, reject) => { sim.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve() }); sim.once('exit', (code) => reject(new Error(`the simulated agents exited (${code}) before they all joined; nothing was measured`))) })
    const missing = await c.waitForAgents(60_000)
    if (missing.length > 0) throw new Error(`${missing.length} simulated agent(s) never joined: ${missing.slice(0, 10).join(', ')}; nothing was measured`)
  } catch (err) {
    sim.kill('SIGTERM')
    await c.close()
    throw err
  }
  const cpu0 = process.cpuUsage()
  const t1 = performance.now()
  const run = c.startRun({ timeoutMs: 3000 })
  const summary = await c.runs.finished(run)
  const runMs = performance.now() - t1
  const t2 = performance.now()
  // The report as the CLI and the API produce it: streamed JSON (here counted, not stored).
  let reportBytes = 0
  await run.writeJson((chunk) => { reportBytes += chunk.length })
  const reportMs = performance.now() - t2
  const cpu = process.cpuUsage(cpu0)
  clearInterval(sample)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  if (summary.summary.checks !== plan.checks.length) throw new Error(`the run judged ${summary.summary.checks} checks, not the plan's ${plan.checks.length}`)
  const wrong = summary.summary.checks - summary.summary.pass
  sim.kill('SIGTERM')
  await c.close()
  return { agents, checks: plan.checks.length, planMs, runMs, reportMs, reportBytes, totalMs: planMs + runMs + reportMs, peakRssMB: peakRss / 1048576, cpuMs: (cpu.user + cpu.system) / 1000, wrong }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await coordinatorScale(Number(process.argv[2] ?? 1000))
  console.log(JSON.stringify(r, null, 2))
}
