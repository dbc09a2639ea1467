// The coordinator side of the field lab (test/lab/field.test.ts and `npm run bench`), run as its
// own process inside the lab's coordinator namespace. It serves a mesh catalog over the given
// hosts, waits for their agents (started by the caller, one per host namespace), runs the matrix
// `runs` times, compares every verdict with what was staged, and prints one JSON line per run.
//   node --import tsx test/lab/field-driver.ts CONFIG.json
import { existsSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import type { Catalog } from '@portcheck/protocol'
import { buildCoordinator } from '../../packages/coordinator/src/server/coordinator.js'

/** What the driver runs. */
export interface FieldConfig {
  hosts: Array<{ name: string, address: string, nat?: boolean }>
  coordinator: string
  tcp: number[]
  udp: number[]
  /** Probe timeout in ms, or 'auto'. */
  timeout: number | 'auto'
  runs: number
  /** `from>to proto/port` → the exact `status reason` staged; every other check must pass. */
  expected: Record<string, string>
  /**
   * After this run, print `paused` and wait until the file `CONFIG.json.go` exists before the
   * next one: the caller changes the network in between (latency that rises after the agents joined).
   */
  pauseAfterRun?: number
}

/** What one run gave, against what was staged. */
export interface FieldRun {
  run: number
  checks: number
  wallMs: number
  /** Checks staged to pass that came out blocked. */
  falseBlocked: number
  /** …of those, blocked as intercepted. */
  falseIntercepted: number
  /** Checks that came out inconclusive (any reason). */
  inconclusive: number
  lossyPath: number
  /** Checks inconclusive because an agent left or stopped answering (its control channel stalled). */
  agentLost: number
  /** Checks staged as blocked that came out blocked with the staged reason. */
  trueBlocked: number
  staged: number
  /** Checks whose status and reason differ from the staged ones. */
  wrong: number
  /** A few of them, `key: actual (expected …)`. */
  samples: string[]
  /** Every check's `status reason`, by key (first run only, for exact assertions). */
  verdicts?: Record<string, string>
}

async function main (): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as FieldConfig
  const catalog: Catalog = {
    id: 'field-mesh',
    title: 'Field lab mesh',
    roles: { node: { title: 'Nodes' } },
    flows: [{ id: 'F-01', from: 'node', to: 'node', ...(config.tcp.length > 0 ? { tcp: config.tcp } : {}), ...(config.udp.length > 0 ? { udp: config.udp } : {}), purpose: 'mesh' }]
  }
  const hosts = config.hosts.map((h) => ({ name: h.name, address: h.address, roles: ['node'], ...(h.nat === true ? { nat: true } : {}) }))
  const coordinator = await buildCoordinator({ catalog: { catalog, file: '<field>', builtin: false }, hosts, settings: {}, token: 'field-token', logger: pino({ level: 'warn' }, pino.destination(2)), requireAuth: false })
  await coordinator.listen({ host: config.coordinator, port: 7070 })
  process.stdout.write('listening\n')
  const missing = await coordinator.waitForAgents(60_000)
  if (missing.length > 0) throw new Error(`agents never joined: ${missing.join(', ')}`)

  for (let r = 1; r <= config.runs; r++) {
    const t0 = performance.now()
    // The field lab measures verdicts and their time; where drops are (--localize) is the
    // closed loop's (test/lab/closed-loop.test.ts), and would add its own time to every run here.
    const run = coordinator.startRun({ timeoutMs: config.timeout === 'auto' ? 3000 : config.timeout, ...(config.timeout === 'auto' ? { adaptive: true } : {}), localize: 0 })
    const phases: string[] = []
    run.on('state', (st) => phases.push(`${st}@${Math.round(performance.now() - t0)}`))
    await coordinator.runs.finished(run)
    if (process.env.FIELD_DEBUG === '1') process.stderr.write(`run ${r}: ${phases.join(' ')}\n`)
    const wallMs = Math.round(performance.now() - t0)
    const out: FieldRun = { run: r, checks: run.plan.checks.length, wallMs, falseBlocked: 0, falseIntercepted: 0, inconclusive: 0, lossyPath: 0, agentLost: 0, trueBlocked: 0, staged: 0, wrong: 0, samples: [] }
    const verdicts: Record<string, string> = {}
    for (let i = 0; i < run.plan.checks.length; i++) {
      const c = run.checkAt(i)
      const key = `${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`
      const actual = `${c.status ?? 'none'} ${c.reason ?? '-'}`
      const expected = config.expected[key] ?? 'pass -'
      verdicts[key] = actual
      if (expected.startsWith('blocked')) {
        out.staged++
        if (actual === expected) out.trueBlocked++
      } else if (c.status === 'blocked') {
        out.falseBlocked++
        if (c.reason === 'intercepted') out.falseIntercepted++
      }
      if (c.status === 'inconclusive') out.inconclusive++
      if (c.reason === 'lossy-path') out.lossyPath++
      if (c.reason === 'agent-lost') out.agentLost++
      if (actual !== expected) {
        out.wrong++
        if (out.samples.length < 8) out.samples.push(`${key}: ${actual} (expected ${expected}) ${c.detail ?? ''}`)
      }
    }
    if (r === 1) out.verdicts = verdicts
    process.stdout.write(JSON.stringify(out) + '\n')
    if (r === config.pauseAfterRun) {
      process.stdout.write('paused\n')
      while (!existsSync(`${process.argv[2] as string}.go`)) await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  await coordinator.close()
}

await main()
