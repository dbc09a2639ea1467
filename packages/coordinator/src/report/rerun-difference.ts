import type { Plan } from '../plan/expand.js'
import { checkKey } from './check-key.js'
import type { CheckReport, RunSummary } from './report.js'
import { diffReports, type ReportDiff } from './report-diff.js'

/** What comparing a re-run with the run it repeats needs of each run kept in memory. */
export interface ComparedRun {
  readonly id: string
  readonly plan: Plan
  summary: () => RunSummary
  checkAt: (index: number) => CheckReport
}

/**
 * A re-run compared with the run it repeats, as `portcheck diff ORIGINAL.json RERUN.json`
 * compares their reports ({@link diffReports}), restricted to the checks the re-run covered: a
 * re-run repeats only the failed checks, and the others (which it did not repeat) are not
 * `only-before`. `before.checks` stays the original's whole count, as in the saved report.
 * Builds the reports of the re-run's checks and of their counterparts only: the caller bounds
 * the re-run's size.
 */
export function rerunDifference (original: ComparedRun, rerun: ComparedRun): ReportDiff {
  const covered = new Set(rerun.plan.checks.map(checkKey))
  const earlier: CheckReport[] = []
  // Keys only, over the original's plan: a check report is built for the covered checks alone.
  for (const c of original.plan.checks) if (covered.has(checkKey(c))) earlier.push(original.checkAt(c.index))
  const later = rerun.plan.checks.map((c) => rerun.checkAt(c.index))
  const diff = diffReports({ ...original.summary(), checks: earlier }, { ...rerun.summary(), checks: later }, { before: `run ${original.id}`, after: `run ${rerun.id}` })
  return { ...diff, before: { ...diff.before, checks: original.plan.checks.length } }
}
