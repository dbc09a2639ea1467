// The status and verdict vocabulary the page shows. The statuses, their order and what each
// reason means come from @portcheck/protocol; this module only adds how they look (icons and
// words) and derives the one thing the protocol has no use for: where `pending` ranks.
import { STATUSES, describeReason, type Status } from '@portcheck/protocol'
import type { RunVerdict } from '../../src/report/report.js'
import type { StatusCounts } from '../../src/report/views.js'

/** A check's status as the page shows it: a final status, or `pending` while it runs. */
export type ShownStatus = keyof StatusCounts

/**
 * Worst first: the order statuses are listed and details are loaded in. The protocol's order,
 * with `pending` after the failures: a running check may still fail, so it ranks above what
 * already passed or was skipped.
 */
export const SEVERITY: readonly ShownStatus[] = (() => {
  const firstFine = STATUSES.indexOf('pass')
  return [...STATUSES.slice(0, firstFine), 'pending', ...STATUSES.slice(firstFine)]
})()

/** The summary's count chips: what passed first, then the rest worst first. */
export const CHIP_ORDER: readonly Status[] = ['pass', ...STATUSES.filter((s) => s !== 'pass')]

/** The page's status filter: one status, or `failing` (blocked or inconclusive). */
export type StatusFilter = ShownStatus | 'failing'

/** Every value of the status filter, for checking one read from the address. */
export const STATUS_FILTERS: ReadonlySet<string> = new Set<StatusFilter>(['failing', ...SEVERITY])

/** How each status looks. Keyed by the type, so a status the protocol adds is a compile error here until it has a look. */
export const STATUS: Readonly<Record<ShownStatus, { icon: string, label: string, on: string, counted: string }>> = {
  pass: { icon: '✔', label: 'pass', on: 'passed on', counted: 'passed' },
  blocked: { icon: '✘', label: 'blocked', on: 'blocked on', counted: 'blocked' },
  inconclusive: { icon: '?', label: 'inconclusive', on: 'inconclusive on', counted: 'inconclusive' },
  skipped: { icon: '–', label: 'skipped', on: 'skipped on', counted: 'skipped' },
  pending: { icon: '…', label: 'pending', on: 'pending on', counted: 'pending' }
}

/** How each run verdict looks in the summary. */
export const VERDICTS: Readonly<Record<RunVerdict, { icon: string, title: string, text: string }>> = {
  pass: { icon: '✔', title: 'Pass', text: 'every required flow passed' },
  blocked: { icon: '✘', title: 'Blocked', text: 'required flows are blocked' },
  inconclusive: { icon: '?', title: 'Inconclusive', text: 'nothing required is blocked, but some required flows could not be verified' }
}

/** What a reason means, from the protocol's table (the CLI and the docs say the same), or null. */
export function reasonMeaning (status: Status | null, reason: string | null): string | null {
  if (status === null || reason === null) return null
  return describeReason(status, reason) ?? null
}

/**
 * Whether a reason's meaning sends the reader to the check's own detail (`… (see detail)`):
 * then the coordinator's account of that check is evidence the meaning lacks.
 */
export function meaningDefersToDetail (status: Status | null, reason: string | null): boolean {
  return reasonMeaning(status, reason) === null ? reason !== null : /\bdetail\b/.test(reasonMeaning(status, reason) ?? '')
}

/** The number of checks in counts. */
export function totalOf (counts: Partial<StatusCounts>): number {
  return SEVERITY.reduce((n, s) => n + (counts[s] ?? 0), 0)
}
