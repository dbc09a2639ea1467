import { isFirewalldRule, isNftablesRule, type DropRule } from './drop-site.js'
import type { CheckReport } from './report.js'

/** `tcp/15432`, or `tcp/8000-8100` for a range. */
export function portLabel (c: Pick<CheckReport, 'protocol' | 'port' | 'portEnd'>): string {
  return `${c.protocol}/${c.port}${c.portEnd !== undefined ? `-${c.portEnd}` : ''}`
}

/** `DEMO-03: Application queries the database`, `(optional)` after an optional flow's. */
export function flowsLabel (c: Pick<CheckReport, 'flowIds' | 'purpose' | 'required'>): string {
  return `${c.flowIds.join(', ')}${c.purpose !== null ? `: ${c.purpose}` : ''}${c.required ? '' : ' (optional)'}`
}

/** The rule that dropped a check, in words: `nftables rule "tcp dport 15432 drop" (inet filter input, handle 2)`. */
export function ruleText (r: DropRule): string {
  if (isNftablesRule(r)) return r.handle === undefined ? `the policy of nftables chain ${r.family} ${r.table} ${r.chain}` : `nftables rule "${r.text}" (${r.family} ${r.table} ${r.chain}, handle ${r.handle})`
  if (isFirewalldRule(r)) return `firewalld zone ${r.zone}${r.text !== undefined ? ` (rule "${r.text}")` : ''}`
  return r.text !== undefined ? `iptables rule "${r.text}" (chain ${r.chain}, table ${r.table})` : `iptables chain ${r.chain} (table ${r.table})`
}

/**
 * Where a blocked check was dropped, in words, or null when it was not localized:
 * `on db1 (inbound), by nftables rule "tcp dport 15432 drop" (inet filter input, handle 2)`.
 */
export function dropText (c: Pick<CheckReport, 'from' | 'to' | 'droppedAt' | 'rule'>): string | null {
  if (c.droppedAt === undefined) return null
  const where = c.droppedAt === 'source' ? `on ${c.from ?? '?'} (outbound)` : c.droppedAt === 'target' ? `on ${c.to ?? '?'} (inbound)` : `in the network between ${c.from ?? '?'} and ${c.to ?? '?'}`
  return c.rule !== undefined ? `${where}, by ${ruleText(c.rule)}` : where
}
