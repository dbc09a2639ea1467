import type { RuleOwner } from '@portcheck/protocol'
import { runNft } from './nft-command.js'

/** The tables iptables (nft backend) keeps, per IP version: `ip filter`, `ip6 raw`, … */
const IPTABLES_TABLES = new Set(['filter', 'mangle', 'raw', 'nat', 'security'])
/** The base chains iptables creates in them. */
const IPTABLES_CHAINS = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'])

/**
 * Whose rules a table holds, as it looks in `nft list`: firewalld keeps its own table named
 * `firewalld`; iptables with the nft backend (iptables-nft) keeps `ip filter`, `ip6 filter`, …
 * with base chains INPUT, OUTPUT, … (and nftables 1.0 says so in a comment: `table ip filter is
 * managed by iptables-nft`). Anything else is plain nftables.
 *
 * @param listing the table as `nft list table FAMILY NAME` prints it, or null if unknown
 */
export function ownerFromListing (family: string, table: string, listing: string | null): RuleOwner {
  if (table === 'firewalld') return 'firewalld'
  if (listing !== null && /managed by iptables-nft/.test(listing)) return 'iptables'
  if ((family === 'ip' || family === 'ip6') && IPTABLES_TABLES.has(table) && listing !== null) {
    const chains = [...listing.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1] as string)
    const hooked = [...listing.matchAll(/^\s*chain (\S+) \{[^}]*?type \w+ hook/gm)].map((m) => m[1] as string)
    if (hooked.length > 0 && hooked.every((c) => IPTABLES_CHAINS.has(c)) && chains.length > 0) return 'iptables'
  }
  return 'nftables'
}

/** Tells whose rules each table holds, asking nft once per table. */
export async function ruleOwners (tables: ReadonlyArray<{ family: string, table: string }>): Promise<Map<string, RuleOwner>> {
  const out = new Map<string, RuleOwner>()
  for (const { family, table } of tables) {
    const key = `${family} ${table}`
    if (out.has(key)) continue
    let listing: string | null = null
    try {
      listing = await runNft(['list', 'table', family, table])
    } catch { /* gone since: judged by its name */ }
    out.set(key, ownerFromListing(family, table, listing))
  }
  return out
}
