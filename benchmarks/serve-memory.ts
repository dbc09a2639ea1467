// Scenario 6 of `npm run bench`: a coordinator that stays up. `portcheck serve --every 1s`, as an
// operator starts it, over 101 simulated agents (a mesh on one TCP port: 10,100 checks a run)
// for 1,000 scheduled runs, its RSS read from /proc every second and its heap from its own
// /metrics. The warm-up lasts until everything the coordinator keeps has reached its bound: the
// kept runs (--keep-checks 2,000,000: about 200 runs of 10,100 checks) and the history (its last
// 500 complete runs); after it, the peak RSS must stay within +50 MB of the warm-up's.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { parseMetrics, sampleValue } from '../test/support/metrics-text.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const TOKEN = 'bench-serve-memory'

/** One sample of the coordinator process. */
export interface MemorySample {
  /** Runs ended so far (portcheck_runs_total, every verdict). */
  runs: number
  rssMB: number
  /** The kernel's peak RSS so far (VmHWM). */
  peakMB: number
  heapUsedMB: number
  keptChecks: number
}

/** What the scenario measured. */
export interface ServeMemoryFigures {
  agents: number
  checksPerRun: number
  runs: number
  warmupRuns: number
  wallS: number
  /** Average run, in ms (from portcheck_run_duration_seconds). */
  runMsAvg: number
  samples: MemorySample[]
  /** The kernel's peak RSS of the coordinator (VmHWM) at the end of the warm-up, and at the end. */
  peakWarmupMB: number
  peakEndMB: number
  /** How much the peak grew after the warm-up. */
  growthMB: number
  /** Growth allowed after the warm-up, in MB. */
  limitMB: number
  exitCode: number | string
}

/** VmRSS and VmHWM of a process, in MB. */
function procMemory (pid: number): { rssMB: number, hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 }
}

function started (child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  let out = ''
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString()
      const m = pattern.exec(out)
      if (m !== null) { child.stderr?.off('data', onData); child.stdout?.off('data', onData); resolve(m) }
    }
    child.stderr?.on('data', onData)
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before ${String(pattern)}:\n${out}`)))
  })
}

/**
 * Runs the scenario. `agents` simulated agents in a full mesh on one TCP port make
 * agents × (agents − 1) checks a run.
 */
export async function serveMemory (opts: { agents?: number, runs?: number, warmupRuns?: number, limitMB?: number, log?: (s: string) => void } = {}): Promise<ServeMemoryFigures> {
  const agents = opts.agents ?? 101
  const total = opts.runs ?? 1000
  const warmupRuns = opts.warmupRuns ?? 500
  const limitMB = opts.limitMB ?? 50
  const log = opts.log ?? (() => {})
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-bench-serve-'))
  const children: ChildProcess[] = []
  try {
    const catalog = path.join(dir, 'catalog.yaml')
    writeFileSync(catalog, 'id: serve-bench\ntitle: Serve memory benchmark\nroles:\n  node: { title: Nodes }\nflows:\n  - { id: S-01, from: node, to: node, tcp: [9000], purpose: mesh }\n')
    const inventory = path.join(dir, 'hosts.yaml')
    // The simulator names and addresses its agents the same way (benchmarks/sim-agents.js).
    const hosts = Array.from({ length: agents }, (_, i) => `  - { name: n${i}, address: 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}, roles: [node] }`)
    writeFileSync(inventory, `catalog: ${catalog}\nhosts:\n${hosts.join('\n')}\n`)
    const coordinator = spawn(process.execPath, [path.join(ROOT, 'packages/coordinator/bin/portcheck.js'), 'serve', '-i', inventory, '--insecure', '--listen', '127.0.0.1:0',
      '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--every', '1s', '--log-format', 'json', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(coordinator)
    const port = Number((await started(coordinator, /Dashboard: http:\/\/127\.0\.0\.1:(\d+)\//, 'the coordinator'))[1])
    coordinator.stderr?.resume()
    const sim = spawn(process.execPath, [path.join(ROOT, 'benchmarks/sim-agents.js'), `ws://127.0.0.1:${port}`, TOKEN, String(agents)], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(sim)
    await started(sim, /ready/, 'the simulated agents')
    const pid = coordinator.pid as number
    const metricsUrl = `http://127.0.0.1:${port}/metrics`
    const samples: MemorySample[] = []
    const t0 = Date.now()
    let peakWarmupMB = 0
    let runMsAvg = 0
    let lastLogged = 0
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      // On loopback, the coordinator needs no token for `read` routes.
      const res = await request(metricsUrl)
      const m = parseMetrics(await res.body.text())
      const runs = ['pass', 'blocked', 'inconclusive', 'aborted'].reduce((n, verdict) => n + (sampleValue(m, 'portcheck_runs_total', { verdict }) ?? 0), 0)
      const mem = procMemory(pid)
      samples.push({ runs, rssMB: mem.rssMB, peakMB: mem.hwmMB, heapUsedMB: (sampleValue(m, 'nodejs_heap_size_used_bytes') ?? 0) / 1048576, keptChecks: sampleValue(m, 'portcheck_kept_checks') ?? 0 })
      if (runs <= warmupRuns) peakWarmupMB = mem.hwmMB
      runMsAvg = 1000 * (sampleValue(m, 'portcheck_run_duration_seconds_sum') ?? 0) / Math.max(1, sampleValue(m, 'portcheck_run_duration_seconds_count') ?? 0)
      if (runs - lastLogged >= 100) { lastLogged = runs; log(`${runs} runs, RSS ${mem.rssMB.toFixed(0)} MB (peak ${mem.hwmMB.toFixed(0)} MB), heap ${samples.at(-1)?.heapUsedMB.toFixed(0) ?? '?'} MB`) }
      if (runs >= total) break
    }
    const peakEndMB = procMemory(pid).hwmMB
    const wallS = (Date.now() - t0) / 1000
    coordinator.kill('SIGINT')
    const exitCode = await new Promise<number | string>((resolve) => coordinator.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
    return {
      agents,
      checksPerRun: agents * (agents - 1),
      runs: total,
      warmupRuns,
      wallS,
      runMsAvg,
      samples,
      peakWarmupMB,
      peakEndMB,
      growthMB: peakEndMB - peakWarmupMB,
      limitMB,
      exitCode
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The sample closest after `runs` runs. */
export function sampleAt (samples: readonly MemorySample[], runs: number): MemorySample | undefined {
  return samples.find((s) => s.runs >= runs)
}
