import { STATUSES, type Status } from '@portcheck/protocol'
import type { Plan } from '../plan/expand.js'
import type { RunSummary } from '../report/report.js'
import { SEVERITY } from '../report/views.js'
import type { Run } from '../scheduler/run.js'
import { FlowPorts, flowPortKey, type FlowPort } from './flow-ports.js'

/** A catalog row's host pairs in one run: how many were tested (not skipped), and how many of them were blocked. */
export interface FlowPortTally extends FlowPort {
  tested: number
  blocked: number
}

const NONE = 255

/**
 * Each check's status and reason in a finished run, one byte each: what the next run is compared
 * with, even once this run is no longer kept in memory.
 */
export interface RunSnapshot {
  readonly runId: string
  readonly startedAt: string
  readonly verdict: RunSummary['verdict']
  readonly plan: Plan
  readonly status: Uint8Array
  readonly reason: Uint8Array
  readonly reasons: readonly string[]
}

/** The status of check `i` in a snapshot. */
export function snapshotStatus (s: RunSnapshot, i: number): Status | null {
  const code = s.status[i] as number
  return code === NONE ? null : STATUSES[code] as Status
}

/** The reason of check `i` in a snapshot. */
export function snapshotReason (s: RunSnapshot, i: number): string | null {
  const code = s.reason[i] as number
  return code === NONE ? null : s.reasons[code] ?? null
}

/** What the history, the metrics and the comparison keep of a finished run, made in one pass over its checks. */
export interface RunDigest {
  snapshot: RunSnapshot
  /** Each catalog flow's worst status in the run (blocked, inconclusive, pass, skipped), by flow id; absent: no check. */
  flowWorst: Map<string, Status>
  /** Each catalog row the run tested, with its blocked host pairs. */
  rows: FlowPortTally[]
}

const rank = (s: Status): number => SEVERITY.indexOf(s)

/** Digests a finished run: one pass over its checks' statuses; no check report is built. */
export function digestRun (run: Run): RunDigest {
  const checks = run.plan.checks
  const n = checks.length
  const status = new Uint8Array(n)
  const reason = new Uint8Array(n)
  const reasons: string[] = []
  const reasonIds = new Map<string, number>()
  const flowWorst = new Map<string, Status>()
  const rows = new Map<string, FlowPortTally>()
  const ports = new FlowPorts(run.plan.catalog)
  for (let i = 0; i < n; i++) {
    const c = checks[i] as (typeof checks)[number]
    const s = run.checks.status(i)
    const r = run.checks.reason(i)
    status[i] = s === null ? NONE : STATUSES.indexOf(s)
    if (r === null) reason[i] = NONE
    else {
      let id = reasonIds.get(r)
      if (id === undefined) { id = reasons.length; reasons.push(r); reasonIds.set(r, id) }
      reason[i] = id
    }
    if (s === null) continue
    for (const flow of c.flowIds) {
      const worst = flowWorst.get(flow)
      if (worst === undefined || rank(s) < rank(worst)) flowWorst.set(flow, s)
      if (s === 'skipped') continue
      const row = ports.of(flow, c.protocol, c.port, c.portEnd)
      const key = flowPortKey(row)
      let tally = rows.get(key)
      if (tally === undefined) { tally = { ...row, tested: 0, blocked: 0 }; rows.set(key, tally) }
      tally.tested++
      if (s === 'blocked') tally.blocked++
    }
  }
  const summary = run.summary()
  return {
    snapshot: { runId: run.id, startedAt: summary.startedAt, verdict: summary.verdict, plan: run.plan, status, reason, reasons },
    flowWorst,
    rows: [...rows.values()]
  }
}
