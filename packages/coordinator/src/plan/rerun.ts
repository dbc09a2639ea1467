import type { Plan, PlannedCheck } from './expand.js'

/** What a re-run needs of the run it repeats: its plan and each check's status. */
export interface RerunSource {
  readonly plan: Plan
  rows: () => Iterable<{ index: number, status: string | null }>
}

/** The plan of a re-run: the checks of `previous` that were blocked or inconclusive, renumbered. */
export function rerunPlan (previous: RerunSource): Plan {
  const again = new Set<number>()
  for (const row of previous.rows()) if (row.status === 'blocked' || row.status === 'inconclusive') again.add(row.index)
  const checks: PlannedCheck[] = previous.plan.checks.filter((c) => again.has(c.index)).map((c, i) => ({ ...c, index: i }))
  return { ...previous.plan, checks }
}
