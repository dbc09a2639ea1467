import type { NftRuleSeen, TraceFinding } from '@portcheck/protocol'
import { dropRuleProblem, type DropRule } from '../report/drop-site.js'
import type { CheckLocation } from './localization.js'

/**
 * The rule an agent saw drop a check's packets, as the report names it: its text as nftables
 * shows it, and where it is: the zone for firewalld, table and chain for iptables, family, table,
 * chain and handle for nftables. Null when it
 * cannot be named safely (a name `fix` could not write into a script, a firewalld chain of no zone).
 */
export function reportedRule (seen: NftRuleSeen): DropRule | null {
  let rule: DropRule | null
  switch (seen.owner) {
    case 'firewalld':
      rule = seen.zone !== undefined ? { zone: seen.zone, text: withoutCounters(seen.text) } : null
      break
    case 'iptables':
      rule = { table: seen.table, chain: seen.chain, text: withoutCounters(seen.text) }
      break
    default:
      rule = { text: seen.text, family: seen.family, table: seen.table, chain: seen.chain, ...(seen.handle !== undefined ? { handle: seen.handle } : {}) }
  }
  return rule !== null && dropRuleProblem(rule) === null ? rule : null
}

/** A rule's text without its counter's figures, which change with every packet: `counter packets 3 bytes 180 drop` → `drop`. */
function withoutCounters (text: string): string {
  return text.replace(/\s*\bcounter packets \d+ bytes \d+/g, '').trim()
}

/** What localization knows of one check once its trace is over. */
export interface TraceEvidence {
  from: string
  to: string
  /** The target's listener saw the localization re-probe's nonce: the flow passed this time. */
  passed: boolean
  /** What the source's agent saw; null if it did not trace. */
  source: TraceFinding | null
  /** What the target's agent saw; null if it did not trace. */
  target: TraceFinding | null
  /** The source addresses the target watched for. */
  watched: readonly string[]
  /** The target's interfaces with netdev ingress chains of the operator's that its trace could not watch. */
  targetUnwatched?: readonly string[]
}

/**
 * Where a check's traffic was dropped, from the trace of its re-probe, and nothing beyond the
 * evidence:
 * - the source saw its packets dropped by a rule of its own and none get past its filters → `source`;
 * - the target saw them arrive and a rule of its own drop them → `target`;
 * - the source saw them get past all its filters, with an address the target watched, and the
 *   target, watching every interface its own netdev chains filter, never saw one arrive → `network`.
 * Anything else (the re-probe passed, it reached the target and nothing there dropped it, an end
 * that could not trace) claims no site, and says why.
 */
export function decideDrop (e: TraceEvidence): CheckLocation {
  if (e.passed) return { detail: `a re-probe to localize the drop reached ${e.to}'s listener: the flow passed this time (it may have been opened since, or be intermittent), so no place is named` }
  const s = e.source
  const t = e.target
  if (s !== null && s.dropped > 0 && s.passed === 0) return located('source', s)
  if (t !== null && t.dropped > 0) return located('target', t)
  if (s !== null && s.passed > 0 && t !== null && t.seen === 0) {
    const unwatched = (s.via ?? []).filter((a) => !e.watched.includes(a))
    if (unwatched.length > 0) return { note: `not localized: the re-probe left ${e.from} from ${unwatched.join(', ')}, an address ${e.to} was not watching for (NAT on the way out)` }
    const blind = e.targetUnwatched ?? []
    if (blind.length > 0) return { note: `not localized: the re-probe left ${e.from} and ${e.to} saw nothing arrive, but ${e.to} has netdev ingress chains on ${blind.join(', ')} that its agent could not watch: the drop is there or in the network` }
    return { droppedAt: 'network' }
  }
  if (t !== null && t.seen > 0) return { note: `not localized: the re-probe reached ${e.to} and no rule of ${e.to}'s own dropped it` }
  if (s !== null && s.seen === 0) return { note: `not localized: ${e.from}'s trace saw no packet of the re-probe leave` }
  if (s === null && t !== null) return { note: `not localized: ${e.to} saw nothing arrive, and ${e.from} could not trace whether it left` }
  if (s !== null && t === null) return { note: `not localized: it left ${e.from}, and ${e.to} could not trace whether it arrived` }
  return { note: 'not localized: the trace saw too little' }
}

function located (site: 'source' | 'target', f: TraceFinding): CheckLocation {
  const rule = f.rule !== undefined ? reportedRule(f.rule) : null
  return { droppedAt: site, ...(rule !== null ? { rule } : {}) }
}
