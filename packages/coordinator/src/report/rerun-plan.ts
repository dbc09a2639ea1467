import { PortcheckError } from '@portcheck/protocol'
import { checkKey } from './check-key.js'
import type { CheckReport, RunReport } from './report.js'
import type { Plan, PlannedCheck } from '../plan/expand.js'

/** The checks of a report a re-run repeats: those blocked or inconclusive. */
export function failedChecks (report: Pick<RunReport, 'checks'>): CheckReport[] {
  return report.checks.filter((c) => c.status === 'blocked' || c.status === 'inconclusive')
}

/** A plan narrowed to what a saved report failed, and the failed checks it could not find. */
export interface RerunPlan {
  plan: Plan
  /** Failed checks of the report that the current plan does not hold (hosts renamed or removed, flows changed). */
  unmatched: CheckReport[]
}

/**
 * Narrows a plan to the checks that failed (blocked or inconclusive) in a saved report, matched
 * by their ends, protocol and port ({@link checkKey}), and numbers them from 0 like a re-run of a
 * run kept in memory. Throws PC_ERR_REPORT_MISMATCH when the report is of another catalog, or
 * when none of its failed checks is in the plan.
 */
export function rerunPlan (plan: Plan, report: RunReport, file = 'the report'): RerunPlan {
  if (report.catalog !== plan.catalog.id) {
    throw new PortcheckError('PC_ERR_REPORT_MISMATCH', `${file} is a report of catalog "${report.catalog}" (run ${report.id}), but this run checks catalog "${plan.catalog.id}": re-run it with --catalog ${report.catalog}, or run without --rerun-failed`)
  }
  const failed = failedChecks(report)
  const wanted = new Set(failed.map(checkKey))
  const found = new Set<string>()
  const checks: PlannedCheck[] = []
  for (const c of plan.checks) {
    const key = checkKey(c)
    if (!wanted.has(key)) continue
    found.add(key)
    checks.push({ ...c, index: checks.length })
  }
  if (checks.length === 0 && failed.length > 0) {
    throw new PortcheckError('PC_ERR_REPORT_MISMATCH', `none of the ${failed.length} failed check(s) of ${file} (run ${report.id}) is in the current plan: was the inventory changed? (first: ${checkKey(failed[0] as CheckReport)})`)
  }
  return { plan: { ...plan, checks }, unmatched: failed.filter((c) => !found.has(checkKey(c))) }
}

/** What a re-run of a run kept in memory needs of it: its plan and each check's status. */
export interface RerunSource {
  readonly plan: Plan
  rows: () => Iterable<{ index: number, status: string | null }>
}

/** The plan of a re-run of a run kept in memory (`rerunOf`): its blocked and inconclusive checks, renumbered. */
export function rerunOfRun (previous: RerunSource): Plan {
  const again = new Set<number>()
  for (const row of previous.rows()) if (row.status === 'blocked' || row.status === 'inconclusive') again.add(row.index)
  const checks: PlannedCheck[] = previous.plan.checks.filter((c) => again.has(c.index)).map((c, i) => ({ ...c, index: i }))
  return { ...previous.plan, checks }
}
