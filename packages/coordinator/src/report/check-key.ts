import type { PlannedCheck } from '../plan/expand.js'
import { portLabel } from './check-text.js'

/** The fields that say which check it is, across plans and reports. */
export type KeyFields = Pick<PlannedCheck, 'from' | 'to' | 'fromRole' | 'toRole' | 'protocol' | 'port' | 'portEnd'>

/**
 * What matches a check across runs, whatever its index: its two ends (host names, or `(role)`
 * for an external end), protocol and port (or range). Flow ids are left out: a catalog that
 * moves a port to another flow still checks the same thing.
 */
export function checkKey (c: KeyFields): string {
  return `${c.from ?? `(${c.fromRole})`}>${c.to ?? `(${c.toRole})`} ${portLabel(c)}`
}
