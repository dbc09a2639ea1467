import { FAMILY_LABELS, checkedFamily, type AddressFamily } from '@portcheck/protocol'
import { portLabel } from './check-text.js'
import type { CheckReport } from './report.js'

/** The fields a check's family is read from. */
export type FamilyFields = Pick<CheckReport, 'family' | 'targetAddress'>

/**
 * The family a check went over, as shown: the plan's, or for a name target probed in whichever
 * family the source's resolver answered, that of the address it resolved to (null before).
 */
export function shownFamily (c: Partial<FamilyFields>): AddressFamily | null {
  return checkedFamily(c.family ?? null, c.targetAddress)
}

/**
 * Whether a pair of hosts is checked over both families in these checks: then texts name each
 * check's family (see `RunReport.dualStack`). For reports read from a file.
 */
export function hasDualStackPairs (checks: ReadonlyArray<Pick<CheckReport, 'from' | 'to' | 'family'>>): boolean {
  const v4 = new Set(checks.filter((c) => c.family === 'ipv4').map((c) => `${c.from ?? ''}>${c.to ?? ''}`))
  return checks.some((c) => c.family === 'ipv6' && v4.has(`${c.from ?? ''}>${c.to ?? ''}`))
}

/** ` IPv6` after a check's port when families are shown and the check has one; nothing otherwise. */
export function familyTag (c: Partial<FamilyFields>, show: boolean): string {
  const f = show ? shownFamily(c) : null
  return f === null ? '' : ` ${FAMILY_LABELS[f]}`
}

/** `tcp/15432`, or `tcp/15432 IPv6` when families are shown. */
export function portFamilyLabel (c: Pick<CheckReport, 'protocol' | 'port' | 'portEnd'> & Partial<FamilyFields>, show: boolean): string {
  return portLabel(c) + familyTag(c, show)
}
