// Scenario 5 of `npm run bench`: the field lab (test/lab/field-scenario.ts) under loss, latency
// and a silent interceptor, ten runs each of a 1,080-check matrix, with the verdict counts that
// must stay at zero and the wall times.
import { labUnavailable } from '../test/lab/lab.js'
import { delayUnavailable } from '../test/lab/netem.js'
import { runFieldScenario, type FieldScenario } from '../test/lab/field-scenario.js'

/** The hosts and ports of a field mesh. */
export type FieldMesh = Pick<FieldScenario, 'hosts' | 'tcp' | 'udp'>

/** The mesh the section reports on: 10 hosts, 6 TCP and 6 UDP ports (1,080 checks). */
const MESH: FieldMesh = { hosts: 10, tcp: [9001, 9002, 9003, 9004, 9005, 9006], udp: [9101, 9102, 9103, 9104, 9105, 9106] }

/** What ten runs of one field scenario gave. */
export interface FieldFigures {
  label: string
  timeout: number | 'auto'
  runs: number
  checks: number
  /** Wall time of each run, from the start of the run to its report, in ms, sorted. */
  wallMs: number[]
  falseBlocked: number
  falseIntercepted: number
  inconclusive: number
  lossyPath: number
  /** Staged blocks (drops, interceptions) reported exactly, over all runs, and how many were staged. */
  trueBlocked: number
  staged: number
}

/** The scenarios, in the order of the table; `base` names the loss-free run a scenario is compared with. */
export const FIELD_SCENARIOS: Array<{ label: string, base: string | null, s: Omit<FieldScenario, 'hosts' | 'tcp' | 'udp' | 'runs' | 'timeout'> }> = [
  { label: 'LAN, 20% of checks dropped', base: null, s: {} },
  { label: 'LAN, drops and a silent interceptor', base: 'LAN, 20% of checks dropped', s: { silentInterceptor: true } },
  { label: '5% loss between hosts (control channel clean)', base: 'LAN, 20% of checks dropped', s: { lossPermille: 50, cleanControl: true } },
  { label: '5% loss on every packet', base: 'LAN, 20% of checks dropped', s: { lossPermille: 50 } },
  { label: '20% loss between hosts (control channel clean)', base: 'LAN, 20% of checks dropped', s: { lossPermille: 200, cleanControl: true } },
  { label: '20% loss on every packet', base: 'LAN, 20% of checks dropped', s: { lossPermille: 200 } },
  { label: '150 ms between hosts, coordinator near', base: 'LAN, 20% of checks dropped', s: { delayMs: 75 } },
  { label: '400 ms between hosts, coordinator near', base: 'LAN, 20% of checks dropped', s: { delayMs: 200 } }
]

/** Runs one scenario `runs` times in one timeout mode, on `mesh`; a string says why it cannot run here. */
export async function fieldRuns (label: string, s: Omit<FieldScenario, 'hosts' | 'tcp' | 'udp' | 'runs' | 'timeout'>, timeout: number | 'auto', runs = 10, log: (line: string) => void = () => {}, mesh: FieldMesh = MESH): Promise<FieldFigures | string> {
  const why = labUnavailable() ?? delayUnavailable()
  if (why !== null) return why
  const out = await runFieldScenario({ ...mesh, ...s, timeout, runs }, log)
  if (out.runs.length !== runs) throw new Error(`field, ${label}: ${out.runs.length} of ${runs} runs reported; nothing was measured`)
  const sum = (k: 'falseBlocked' | 'falseIntercepted' | 'inconclusive' | 'lossyPath' | 'trueBlocked' | 'staged'): number => out.runs.reduce((n, r) => n + r[k], 0)
  return {
    label,
    timeout,
    runs: out.runs.length,
    checks: out.checks,
    wallMs: out.runs.map((r) => r.wallMs).sort((a, b) => a - b),
    falseBlocked: sum('falseBlocked'),
    falseIntercepted: sum('falseIntercepted'),
    inconclusive: sum('inconclusive'),
    lossyPath: sum('lossyPath'),
    trueBlocked: sum('trueBlocked'),
    staged: sum('staged')
  }
}

/** The median of sorted numbers. */
export function median (sorted: readonly number[]): number {
  if (sorted.length === 0) return 0
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2)
}
