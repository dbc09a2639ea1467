import type { CheckReport, CheckRow, RunReport, RunSummary } from './report.js'

/** The fields of a check that grouping and tallies need, without building its report entry. */
export type CheckBrief = Pick<CheckRow, 'fromRole' | 'toRole' | 'required' | 'status'>

/**
 * A report as the streamed formats read it: its summary, and its checks one at a time, so that
 * a run of a million checks is written without its whole report ever being in memory. A run
 * gives one (`Run.source()`), and so does a report already whole ({@link reportSource}).
 */
export interface ReportSource {
  summary: RunSummary
  count: number
  /** A check's roles, whether it is required and its status: cheap, for grouping and counting. */
  briefAt: (index: number) => CheckBrief
  /** A check's whole report entry. */
  checkAt: (index: number) => CheckReport
}

/** A whole report as a {@link ReportSource}. */
export function reportSource (report: RunReport): ReportSource {
  const { checks, ...summary } = report
  return { summary, count: checks.length, briefAt: (i) => checks[i] as CheckReport, checkAt: (i) => checks[i] as CheckReport }
}

/** Checks per chunk the streamed formats yield: big enough to amortize, small enough to interleave with other work. */
export const CHUNK_CHECKS = 1000
