// Numbers, times and phrases, in the words the page uses everywhere.
import type { StatusCounts } from '../../src/report/views.js'
import { FAMILY_LABELS, checkedFamily, type AddressFamily } from '@portcheck/protocol'
import { shownRun } from './state.js'
import { SEVERITY, STATUS } from './statuses.js'

const nf = new Intl.NumberFormat('en')

/** A count with thousands separators. */
export const fmt = (n: number): string => nf.format(n)

/** A duration in ms, in the largest unit that reads well. */
export function duration (ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** How long ago a time (ms since the epoch) was. */
export function ago (ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  return `${Math.floor(s / 3600)} h ago`
}

/** The time of day of a date, or – if it is none. */
export function clock (t: string | number): string {
  const d = new Date(t)
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString('en-GB')
}

/** `5432/tcp`, or `30000-32767/tcp` for a range; `5432/tcp IPv6` with a family (see {@link runFamilies}). */
export function portLabel (p: { protocol: string, port: number, portEnd?: number | null | undefined, family?: AddressFamily | null | undefined }): string {
  return `${p.port}${p.portEnd !== undefined && p.portEnd !== null ? `-${p.portEnd}` : ''}/${p.protocol}${p.family !== undefined && p.family !== null ? ` ${FAMILY_LABELS[p.family]}` : ''}`
}

/**
 * Whether the shown run is of a dual-stack inventory: only then do ports and checks name their
 * family, as the terminal and Markdown reports do.
 */
export function runFamilies (): boolean {
  return shownRun()?.dualStack === true
}

/** A check's family as shown (see {@link runFamilies}): the plan's, or the family of the address a name resolved to. */
export function shownFamily (c: { family: AddressFamily | null, targetAddress: string | null }): AddressFamily | null {
  return runFamilies() ? checkedFamily(c.family, c.targetAddress) : null
}

export function pairsWord (n: number): string {
  return n === 1 ? 'pair' : 'pairs'
}

/** Counts in words, worst first: "2 blocked, 4 pass". */
export function countsText (counts: StatusCounts): string {
  const parts = SEVERITY.filter((s) => counts[s] > 0).map((s) => `${fmt(counts[s])} ${STATUS[s].label}`)
  return parts.length > 0 ? parts.join(', ') : 'no checks'
}

/**
 * The state of one port over every host pair: head "blocked on 2 of 6 pairs" (the worst
 * status), rest ", 4 passed" (the others).
 */
export function portPhraseParts (counts: StatusCounts, pairs: number): { head: string, rest: string } {
  const [first, ...rest] = SEVERITY.filter((s) => counts[s] > 0)
  if (first === undefined) return { head: `no checks (${fmt(pairs)} ${pairsWord(pairs)})`, rest: '' }
  return {
    head: `${STATUS[first].on} ${fmt(counts[first])} of ${fmt(pairs)} ${pairsWord(pairs)}`,
    rest: rest.length === 0 ? '' : `, ${rest.map((s) => `${fmt(counts[s])} ${STATUS[s].counted}`).join(', ')}`
  }
}
