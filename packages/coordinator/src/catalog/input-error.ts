import { problemsError, sortProblems, type ErrorCode, type PortcheckError, type Problem } from '@portcheck/protocol'

/**
 * Most problems one input error lists (default 100). Past that they are one mistake repeated,
 * and an inventory of 65,000 hosts can have 65,000 of them: the first hundred, in file order,
 * say what to fix.
 */
export const MAX_PROBLEMS = 100

/**
 * Like `problemsError`, listing at most {@link MAX_PROBLEMS} problems in file order; the
 * summary then says how many there are in all.
 */
export function inputError (code: ErrorCode, summary: string, problems: Problem[]): PortcheckError {
  if (problems.length <= MAX_PROBLEMS) return problemsError(code, summary, problems)
  const first = sortProblems(problems).slice(0, MAX_PROBLEMS)
  return problemsError(code, `${summary.replace(/:$/, '')} (the first ${MAX_PROBLEMS} of ${problems.length.toLocaleString('en-US')} problems):`, first)
}
