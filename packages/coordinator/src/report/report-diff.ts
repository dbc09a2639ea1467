import { PortcheckError, type AddressFamily, type Status } from '@portcheck/protocol'
import { checkKey } from './check-key.js'
import type { CheckReport, RunReport, RunVerdict } from './report.js'

/**
 * How a check changed from one report to the next:
 * - `fixed`: blocked or inconclusive, now passing;
 * - `newly-broken`: passing, now blocked or inconclusive;
 * - `still-failing`: blocked or inconclusive in both (the reason may have changed);
 * - `unchanged`: the same status (passing, or skipped) in both;
 * - `changed`: any other move, e.g. skipped before and tested now;
 * - `only-before`, `only-after`: in one report only (another inventory or catalog version, or
 *   a re-run of failed checks, which holds nothing else).
 */
export type Change = 'fixed' | 'newly-broken' | 'still-failing' | 'unchanged' | 'changed' | 'only-before' | 'only-after'

/** Every change, in the order the formats list them. */
export const CHANGES: readonly Change[] = ['newly-broken', 'fixed', 'still-failing', 'changed', 'only-before', 'only-after', 'unchanged']

/** One side of a change: what a report found for the check. */
export type CheckState = Pick<CheckReport, 'status' | 'reason' | 'detail'>

/** One check across two reports. */
export interface CheckChange {
  change: Change
  from: string | null
  to: string | null
  fromRole: string
  toRole: string
  /** The family the check goes over (part of its identity: a flow's IPv4 and IPv6 checks are two). */
  family: AddressFamily | null
  protocol: 'tcp' | 'udp'
  port: number
  portEnd?: number
  flowIds: string[]
  purpose: string | null
  required: boolean
  before: CheckState | null
  after: CheckState | null
  /** The fix text of the later report's check, if it still fails. */
  remedy: string | null
}

/** The identity of a report in a diff. */
export interface DiffSide {
  id: string
  startedAt: string
  verdict: RunVerdict | null
  rerunOf: string | null
  checks: number
}

/** `portcheck diff A B`: what changed between two reports of the same catalog. */
export interface ReportDiff {
  catalog: string
  catalogTitle: string
  before: DiffSide
  after: DiffSide
  /** Either report is of a dual-stack inventory: the formats name each check's family. */
  dualStack: boolean
  counts: Record<Change, number>
  /** Every check that is not `unchanged`: the later report's order, then what only the earlier one has. */
  changes: CheckChange[]
}

const FAILING: ReadonlySet<Status | null> = new Set<Status | null>(['blocked', 'inconclusive'])

/** How a check's status moved from one report (or run) to the next. */
export function changeOf (a: Status | null, b: Status | null): Change {
  if (FAILING.has(a) && b === 'pass') return 'fixed'
  if (a === 'pass' && FAILING.has(b)) return 'newly-broken'
  if (FAILING.has(a) && FAILING.has(b)) return 'still-failing'
  return a === b ? 'unchanged' : 'changed'
}

function state (c: CheckReport): CheckState {
  return { status: c.status, reason: c.reason, detail: c.detail }
}

function side (r: RunReport): DiffSide {
  return { id: r.id, startedAt: r.startedAt, verdict: r.verdict, rerunOf: r.rerunOf, checks: r.checks.length }
}

function entry (change: Change, c: CheckReport, before: CheckReport | null, after: CheckReport | null): CheckChange {
  return changeEntry(change, c, before !== null ? state(before) : null, after !== null ? state(after) : null, after !== null && FAILING.has(after.status) ? after.remedy : null)
}

/**
 * One check's entry in a difference: `c` says which check it is (either side's report of it),
 * `before` and `after` what each side found, `remedy` the fix text if it still fails.
 */
export function changeEntry (change: Change, c: CheckReport, before: CheckState | null, after: CheckState | null, remedy: string | null): CheckChange {
  return {
    change,
    from: c.from,
    to: c.to,
    fromRole: c.fromRole,
    toRole: c.toRole,
    family: c.family,
    protocol: c.protocol,
    port: c.port,
    ...(c.portEnd !== undefined ? { portEnd: c.portEnd } : {}),
    flowIds: c.flowIds,
    purpose: c.purpose,
    required: c.required,
    before,
    after,
    remedy
  }
}

/**
 * Compares two reports of the same catalog, check by check, matched by their ends, protocol,
 * port and family ({@link checkKey}). Throws PC_ERR_REPORT_MISMATCH for reports of different catalogs.
 */
export function diffReports (before: RunReport, after: RunReport, names: { before: string, after: string } = { before: 'the first report', after: 'the second report' }): ReportDiff {
  if (before.catalog !== after.catalog) {
    throw new PortcheckError('PC_ERR_REPORT_MISMATCH', `${names.before} is a report of catalog "${before.catalog}" and ${names.after} of "${after.catalog}": only reports of one catalog compare`)
  }
  const earlier = new Map(before.checks.map((c) => [checkKey(c), c]))
  const counts = Object.fromEntries(CHANGES.map((c) => [c, 0])) as Record<Change, number>
  const changes: CheckChange[] = []
  const seen = new Set<string>()
  for (const b of after.checks) {
    const key = checkKey(b)
    seen.add(key)
    const a = earlier.get(key) ?? null
    const change = a === null ? 'only-after' : changeOf(a.status, b.status)
    counts[change]++
    if (change !== 'unchanged') changes.push(entry(change, b, a, b))
  }
  for (const [key, a] of earlier) {
    if (seen.has(key)) continue
    counts['only-before']++
    changes.push(entry('only-before', a, a, null))
  }
  return { catalog: after.catalog, catalogTitle: after.catalogTitle, before: side(before), after: side(after), dualStack: before.dualStack || after.dualStack, counts, changes }
}
