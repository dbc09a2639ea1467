/**
 * Where a blocked check's traffic was dropped, once drop localization (nftables tracing on the
 * hosts) has found it: on the source host, in the network between the hosts, or on the target
 * host. A check without it is unlocalized: its rule is assumed to belong on the target (inbound),
 * or on the source for `egress-denied`.
 */
export type DropSite = 'source' | 'network' | 'target'

export const DROP_SITES: readonly DropSite[] = ['source', 'network', 'target']

/** The nftables rule that dropped the traffic, as `nft -a list ruleset` shows it, or its chain's policy. */
export interface NftablesRule {
  /** The rule as nft prints it, e.g. `tcp dport 15432 drop`; `policy drop` for a chain's policy. */
  text: string
  /** `ip`, `ip6`, `inet`, `arp`, `bridge` or `netdev`. */
  family: string
  table: string
  chain: string
  /**
   * The rule's handle (`nft -a`): a fix is inserted right before it. Absent when the chain's
   * policy dropped the traffic: a fix is added at the end of the chain, before the policy applies.
   */
  handle?: number
}

/** The iptables rule that dropped the traffic: its table (`filter`, …) and chain (`INPUT`, …). */
export interface IptablesRule {
  table: string
  chain: string
  /**
   * The rule as nftables shows it (iptables-nft keeps iptables rules as nftables rules), without
   * its counters: `ip saddr 198.18.1.14 tcp dport 15433 drop`. Absent in reports that predate it.
   */
  text?: string
}

/** The firewalld zone whose rules dropped the traffic. */
export interface FirewalldRule {
  zone: string
  /** The rule as nftables shows it in firewalld's table, e.g. `reject with icmpx admin-prohibited`. Absent in reports that predate it. */
  text?: string
}

/** The rule that dropped a check's traffic, told apart by its fields. */
export type DropRule = NftablesRule | IptablesRule | FirewalldRule

export function isNftablesRule (r: DropRule): r is NftablesRule {
  return 'family' in r
}

export function isFirewalldRule (r: DropRule): r is FirewalldRule {
  return 'zone' in r
}

export function isIptablesRule (r: DropRule): r is IptablesRule {
  return !isNftablesRule(r) && !isFirewalldRule(r)
}

/**
 * Where to put the accept for a localized drop, as a clause for remedies: `, before the nftables
 * rule "tcp dport 15432 drop" (inet filter input, handle 7) that drops it`.
 */
export function ruleClause (r: DropRule): string {
  if (isNftablesRule(r)) {
    return r.handle === undefined
      ? `, at the end of nftables chain ${r.family} ${r.table} ${r.chain}, whose policy drops it`
      : `, before the nftables rule "${r.text}" (${r.family} ${r.table} ${r.chain}, handle ${r.handle}) that drops it`
  }
  if (isFirewalldRule(r)) return `, in firewalld zone ${r.zone}, which drops it`
  return `, at the top of iptables chain ${r.chain} (table ${r.table}), which drops it`
}

const NAME = /^[A-Za-z0-9_.\-/]{1,64}$/

/** Why a value is not a {@link DropRule}, or null if it is one. Names are checked, since fixes write them into scripts. */
/** Longest rule text a report may carry, in characters (as the agent may send it). */
const MAX_RULE_TEXT = 1024

export function dropRuleProblem (v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected an object'
  const r = v as Record<string, unknown>
  const bad = (k: string): boolean => typeof r[k] !== 'string' || !NAME.test(r[k] as string)
  if ('text' in r && (typeof r.text !== 'string' || r.text.length > MAX_RULE_TEXT)) return `text: expected the rule as nft prints it, at most ${MAX_RULE_TEXT} characters`
  if ('zone' in r) return bad('zone') ? 'zone: expected a firewalld zone name' : null
  if ('handle' in r || 'family' in r) {
    for (const k of ['family', 'table', 'chain']) if (bad(k)) return `${k}: expected an nftables name`
    if (!['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'].includes(r.family as string)) return `family: expected ip, ip6, inet, arp, bridge or netdev, not ${String(r.family)}`
    if (r.handle !== undefined && (!Number.isInteger(r.handle) || (r.handle as number) < 1)) return 'handle: expected a positive integer'
    if (typeof r.text !== 'string') return 'text: expected the rule as nft prints it'
    return null
  }
  for (const k of ['table', 'chain']) if (bad(k)) return `${k}: expected an iptables name`
  return null
}
