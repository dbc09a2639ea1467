// The coordinator side of the matrix-run benchmark, run as its own process (inside the lab
// namespace when there is one). It starts N real agent processes, each bound to its own address
// and joining as its join command says (TLS with the coordinator's pin, its own credential),
// runs a full mesh over several TCP and UDP ports, and compares every verdict with what the
// firewall was set to drop. Prints one JSON line of figures; exits non-zero, printing nothing on
// stdout, if an agent does not join.
//   node --import tsx benchmarks/matrix-driver.ts CONFIG.json
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { createSelfSigned } from '../packages/coordinator/src/security/certificate.js'
import { buildCoordinator } from '../packages/coordinator/src/server/coordinator.js'
import type { Catalog } from '@portcheck/protocol'
import { agentArgs, allJoined, watchAgent } from './agent-join.js'

export interface MatrixConfig {
  agents: Array<{ name: string, address: string }>
  coordinator: string
  tcp: number[]
  udp: number[]
  timeout: number | 'auto'
  /** `from>to proto/port` of every check the firewall drops. */
  dropped: string[]
}

function vmHwmKb (pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return Number(m?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** User + system CPU time of a process so far, in ms (from /proc). */
function cpuMsOf (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

function percentile (sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

async function main (): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as MatrixConfig
  const catalog: Catalog = {
    id: 'bench-mesh',
    title: 'Benchmark mesh',
    roles: { node: { title: 'Nodes' } },
    flows: [{ id: 'M-01', from: 'node', to: 'node', tcp: config.tcp, udp: config.udp, purpose: 'mesh' }]
  }
  const hosts = config.agents.map((a) => ({ name: a.name, address: a.address, roles: ['node'] }))
  const coordinator = await buildCoordinator({ catalog: { catalog, file: '<bench>', builtin: false }, hosts, settings: {}, token: 'bench-token', logger: pino({ level: 'warn' }), requireAuth: false, tls: await createSelfSigned([config.coordinator]), maxAgentsPerAddress: config.agents.length })
  // The agents are processes of this one machine, so their control connections all come from one
  // address: past the default bound of 32 per address, which real nodes (one agent each) never meet.
  await coordinator.listen({ host: config.coordinator, port: 7070 })
  const profile = process.env.PORTCHECK_PROFILE_AGENT
  const agents: ChildProcess[] = config.agents.map((a, i) => spawn(process.execPath, [...(profile !== undefined && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), 'packages/agent/bin/portcheck-agent.js', ...agentArgs(coordinator, a.name), '--bind', a.address, '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] }))
  try {
    await allJoined(coordinator, agents.map((child, i) => watchAgent(config.agents[i]?.name ?? '', child)))
  } catch (err) {
    for (const a of agents) a.kill('SIGTERM')
    await coordinator.close()
    throw err
  }

  const cpu0 = process.cpuUsage()
  const agentCpu0 = agents.map((a) => cpuMsOf(a.pid as number))
  const t0 = performance.now()
  // The figures are the matrix run's, to its verdicts: drop localization (--localize), which
  // follows them, would add its own time (up to its 60 s budget) to the wall time measured here.
  const run = coordinator.startRun({ timeoutMs: config.timeout === 'auto' ? 3000 : config.timeout, ...(config.timeout === 'auto' ? { adaptive: true } : {}), localize: 0 })
  // Rounds of probing: the first, and re-probes of checks whose silence was not yet evidence.
  let rounds = 0
  run.on('state', (state) => { if (state === 'probing') rounds++ })
  const summary = await coordinator.runs.finished(run)
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const agentCpuMs = agents.reduce((sum, a, i) => sum + cpuMsOf(a.pid as number) - (agentCpu0[i] as number), 0)

  if (summary.summary.checks === 0) throw new Error('the run had no checks: nothing was measured')
  const dropped = new Set(config.dropped)
  let wrong = 0
  const wrongSamples: string[] = []
  const latencies: number[] = []
  for (let i = 0; i < run.plan.checks.length; i++) {
    const c = run.checkAt(i)
    const key = `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`
    const expected = dropped.has(key) ? 'blocked timeout' : 'pass -'
    const actual = `${c.status ?? 'none'} ${c.reason ?? '-'}`
    if (actual !== expected) {
      wrong++
      if (wrongSamples.length < 5) wrongSamples.push(`${key}: ${actual}, expected ${expected}`)
    }
    if (c.status === 'pass' && c.latencyMs !== null) latencies.push(c.latencyMs)
  }
  latencies.sort((a, b) => a - b)
  const agentPeakKb = Math.max(...agents.map((a) => vmHwmKb(a.pid as number)))
  for (const a of agents) a.kill('SIGTERM')
  await coordinator.close()
  process.stdout.write(JSON.stringify({
    agents: config.agents.length,
    checks: summary.summary.checks,
    dropped: dropped.size,
    timeoutMs: config.timeout,
    wallMs: Math.round(wallMs),
    rounds,
    ratio: config.timeout === 'auto' ? null : Math.round(wallMs / config.timeout * 100) / 100,
    p50LatencyMs: percentile(latencies, 0.5),
    p99LatencyMs: percentile(latencies, 0.99),
    coordinatorPeakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    coordinatorCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    agentPeakRssMB: Math.round(agentPeakKb / 1024),
    agentsCpuMs: agentCpuMs,
    wrong,
    wrongSamples
  }) + '\n')
}

await main()
