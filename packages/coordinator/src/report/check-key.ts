import type { PlannedCheck } from '../plan/expand.js'
import { portLabel } from './check-text.js'

/** The fields that say which check it is, across plans and reports. */
export type KeyFields = Pick<PlannedCheck, 'from' | 'to' | 'fromRole' | 'toRole' | 'protocol' | 'port' | 'portEnd' | 'family'>

/**
 * What matches a check across runs, whatever its index: its two ends (host names, or `(role)`
 * for an external end), protocol and port (or range), and the family the plan checks it over
 * (`app1>db1 tcp/5432 ipv6`), so that a flow's IPv4 and IPv6 checks never merge. Flow ids are
 * left out: a catalog that moves a port to another flow still checks the same thing.
 */
export function checkKey (c: KeyFields): string {
  return `${c.from ?? `(${c.fromRole})`}>${c.to ?? `(${c.toRole})`} ${portLabel(c)}${c.family !== null ? ` ${c.family}` : ''}`
}
