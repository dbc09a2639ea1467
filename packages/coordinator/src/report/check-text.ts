import type { CheckReport } from './report.js'

/** `tcp/15432`, or `tcp/8000-8100` for a range. */
export function portLabel (c: Pick<CheckReport, 'protocol' | 'port' | 'portEnd'>): string {
  return `${c.protocol}/${c.port}${c.portEnd !== undefined ? `-${c.portEnd}` : ''}`
}

/** `DEMO-03: Application queries the database`, `(optional)` after an optional flow's. */
export function flowsLabel (c: Pick<CheckReport, 'flowIds' | 'purpose' | 'required'>): string {
  return `${c.flowIds.join(', ')}${c.purpose !== null ? `: ${c.purpose}` : ''}${c.required ? '' : ' (optional)'}`
}
