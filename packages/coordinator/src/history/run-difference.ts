import type { Reason } from '@portcheck/protocol'
import { checkKey } from '../report/check-key.js'
import type { RunVerdict } from '../report/report.js'
import { changeEntry, changeOf, type CheckChange, type CheckState } from '../report/report-diff.js'
import type { Run } from '../scheduler/run.js'
import { FlowPorts, flowPortKey, type FlowPort } from './flow-ports.js'
import { snapshotReason, snapshotStatus, type RunSnapshot } from './run-digest.js'

/** Checks listed per kind of change, at most: the counts are always exact. */
export const MAX_LISTED_CHANGES = 50

/** One side of a difference. */
export interface DifferenceSide {
  id: string
  startedAt: string
  verdict: RunVerdict | null
}

/** How many host pairs of one catalog row moved between two runs. */
export interface FlowPortChange extends FlowPort {
  /** Passed before, blocked now: a regression. */
  newlyBlocked: number
  /** Passed before, inconclusive now (an agent gone, a port taken). */
  newlyInconclusive: number
  /** Blocked or inconclusive before, passing now. */
  fixed: number
}

/**
 * What changed from one complete run to the next, as `portcheck diff` classifies it: checks that
 * passed and now fail (`newly-broken`, split into blocked and inconclusive) and checks that
 * failed and now pass (`fixed`). Checks in one run only, and other moves, are left out.
 */
export interface RunDifference {
  before: DifferenceSide
  after: DifferenceSide
  counts: { newlyBlocked: number, newlyInconclusive: number, fixed: number }
  /** Per catalog row (flow, roles, protocol, port or range), in plan order. */
  flows: FlowPortChange[]
  /** The first {@link MAX_LISTED_CHANGES} checks that passed before and are blocked now, in plan order. */
  newlyBlocked: CheckChange[]
  /** The first {@link MAX_LISTED_CHANGES} checks that passed before and are inconclusive now. */
  newlyInconclusive: CheckChange[]
  /** The first {@link MAX_LISTED_CHANGES} checks that failed before and pass now. */
  fixed: CheckChange[]
  /** True when a list holds fewer checks than its count. */
  truncated: boolean
}

/** Whether a difference has anything to say. */
export function hasChanges (d: RunDifference): boolean {
  return d.counts.newlyBlocked + d.counts.newlyInconclusive + d.counts.fixed > 0
}

/**
 * The check of the earlier run each check of `run` is compared with: the same index when both
 * ran the same plan (runs of the same inputs share one), else the check with the same ends,
 * protocol and port ({@link checkKey}).
 */
function counterpart (before: RunSnapshot, run: Run): (index: number) => number | undefined {
  if (before.plan === run.plan) return (i) => i
  const earlier = new Map(before.plan.checks.map((c) => [checkKey(c), c.index]))
  return (i) => earlier.get(checkKey(run.plan.checks[i] as (typeof run.plan.checks)[number]))
}

/**
 * Compares a finished run with the snapshot of the complete run before it. One pass over the
 * statuses; check reports are built only for the checks listed. `previous`, when the earlier run
 * is still kept, gives the listed checks' earlier details too (a snapshot keeps statuses and reasons).
 */
export function differenceOf (before: RunSnapshot, run: Run, previous?: Run): RunDifference {
  const summary = run.summary()
  const match = counterpart(before, run)
  const ports = new FlowPorts(run.plan.catalog)
  const flows = new Map<string, FlowPortChange>()
  const d: RunDifference = {
    before: { id: before.runId, startedAt: before.startedAt, verdict: before.verdict },
    after: { id: run.id, startedAt: summary.startedAt, verdict: summary.verdict },
    counts: { newlyBlocked: 0, newlyInconclusive: 0, fixed: 0 },
    flows: [],
    newlyBlocked: [],
    newlyInconclusive: [],
    fixed: [],
    truncated: false
  }
  const n = run.plan.checks.length
  for (let i = 0; i < n; i++) {
    const j = match(i)
    if (j === undefined) continue
    const was = snapshotStatus(before, j)
    const now = run.checks.status(i)
    const change = changeOf(was, now)
    if (change !== 'newly-broken' && change !== 'fixed') continue
    const kind = change === 'fixed' ? 'fixed' : now === 'blocked' ? 'newlyBlocked' : 'newlyInconclusive'
    d.counts[kind]++
    const check = run.plan.checks[i] as (typeof run.plan.checks)[number]
    for (const flow of check.flowIds) {
      const row = ports.of(flow, check.protocol, check.port, check.portEnd)
      const key = flowPortKey(row)
      let tally = flows.get(key)
      if (tally === undefined) { tally = { ...row, newlyBlocked: 0, newlyInconclusive: 0, fixed: 0 }; flows.set(key, tally) }
      tally[kind]++
    }
    const list = d[kind]
    if (list.length >= MAX_LISTED_CHANGES) { d.truncated = true; continue }
    const after = run.checkAt(i)
    const earlier: CheckState = previous !== undefined
      ? (({ status, reason, detail }) => ({ status, reason, detail }))(previous.checkAt(j))
      : { status: was, reason: snapshotReason(before, j) as Reason | null, detail: null }
    list.push(changeEntry(change, after, earlier, { status: after.status, reason: after.reason, detail: after.detail }, change === 'fixed' ? null : after.remedy))
  }
  d.flows = [...flows.values()]
  return d
}
