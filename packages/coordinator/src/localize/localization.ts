import type { DropRule, DropSite } from '../report/drop-site.js'

/**
 * Drop localization, after a run's rounds: for each blocked check (up to `--localize N`), the
 * source and target agents trace one more probe through their own nftables rules, and the
 * evidence says where it was dropped. This file holds what comes out of it; localizer.ts runs it.
 */

/** The default of `--localize`: most checks localized per run. */
export const DEFAULT_LOCALIZE = 64
/** The most `--localize` may ask for: what one agent traces at once (MAX_TRACE_ITEMS). */
export const MAX_LOCALIZE = 256

/** Blocked reasons a drop can be localized for: not `intercepted`, which is answered elsewhere, not dropped. */
export const LOCALIZABLE = new Set(['timeout', 'refused', 'unreachable', 'egress-denied'])

/** What localization found for one check. */
export interface CheckLocation {
  droppedAt?: DropSite
  rule?: DropRule
  /** Said in the check's detail: the re-probe passed, so no site is claimed. */
  detail?: string
  /** A remark for the check's notes: why it was traced but not localized. */
  note?: string
}

/** A host whose agent could not trace, and why. */
export interface Unavailable {
  host: string
  why: string
}

/** The run's account of localization, in its report (`localization`). */
export interface LocalizationSummary {
  /** `--localize N`: most checks localized per run (0: off). */
  limit: number
  /** Blocked checks a drop can be localized for (every blocked reason but `intercepted`). */
  candidates: number
  /** Of those, checks whose re-probe was traced (by one end's agent at least). */
  traced: number
  /** Of those, checks given a `droppedAt`. */
  localized: number
  /** Checks left out by the bound `limit`. */
  overLimit: number
  /** Hosts whose agent could not trace (not root, no nft, …): checks from or to them are not localized. */
  unavailable: Unavailable[]
  /** Everything above in one line, as the terminal prints it: `localization: 6 of 7 blocked checks localized; unavailable on db1 (not root)`. */
  text: string
}

/** The one line of a summary. */
export function summaryText (s: Omit<LocalizationSummary, 'text'>, stopped = false): string {
  if (s.limit === 0) return 'localization: off (--localize 0)'
  if (s.candidates === 0) return 'localization: nothing to localize (no check was dropped, refused or unreachable)'
  const parts = [`${s.localized} of ${s.candidates} blocked check(s) localized`]
  if (s.unavailable.length > 0) {
    // Hosts that cannot trace for the same reason are named together: `app1, app2 (not root)`.
    const byWhy = new Map<string, string[]>()
    for (const u of s.unavailable) byWhy.set(u.why, [...(byWhy.get(u.why) ?? []), u.host])
    parts.push(`unavailable on ${[...byWhy].map(([why, hosts]) => `${hosts.join(', ')} (${why})`).join(', ')}`)
  }
  if (s.overLimit > 0) parts.push(`${s.overLimit} not tried (--localize ${s.limit})`)
  if (stopped) parts.push('stopped before the end')
  return `localization: ${parts.join('; ')}`
}
