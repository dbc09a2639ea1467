import type { NftRuleSeen, Proto, TraceFinding, TraceRole } from '@portcheck/protocol'
import type { SourceWatch, TargetWatch } from './watch-rules.js'

/**
 * Reads `nft -a monitor` output: for each traced packet (one trace id), the chains it went
 * through and the verdict each gave. Lines look like
 *
 *   trace id 1ce6caac inet filter input packet: iif "eth0" … ip saddr 198.18.1.12 ip daddr 198.18.1.14 … tcp sport 48708 tcp dport 15432 …
 *   trace id 1ce6caac inet filter input rule tcp dport 15432 drop # handle 2 (verdict drop)
 *   trace id 8f22b6db ip filter INPUT policy drop
 *
 * (nftables 1.0's text; its JSON monitor does not carry traces). Anything else is ignored.
 */

/** The packet a trace line shows, as far as matching a check needs. */
export interface PacketInfo {
  saddr?: string
  daddr?: string
  protocol?: Proto
  sport?: number
  dport?: number
}

/** One line of a trace. */
export interface TraceEvent {
  /** The trace id: one packet. */
  id: string
  family: string
  table: string
  chain: string
  kind: 'packet' | 'rule' | 'policy' | 'verdict'
  packet?: PacketInfo
  /** A rule's text, as nft prints it. */
  text?: string
  handle?: number
  /** `accept`, `drop`, `continue`, `jump`, `return`, … */
  verdict?: string
}

const LINE = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/
const RULE = /^rule (.*?)(?: # handle (\d+))? \(verdict ([a-z]+)(?: [^)]*)?\)/

function packetInfo (text: string): PacketInfo {
  const out: PacketInfo = {}
  const saddr = /\bip6? saddr (\S+)/.exec(text)
  const daddr = /\bip6? daddr (\S+)/.exec(text)
  const sport = /\b(tcp|udp) sport (\d+)/.exec(text)
  const dport = /\b(tcp|udp) dport (\d+)/.exec(text)
  if (saddr !== null) out.saddr = saddr[1] as string
  if (daddr !== null) out.daddr = daddr[1] as string
  if (dport !== null) { out.protocol = dport[1] as Proto; out.dport = Number(dport[2]) }
  if (sport !== null) out.sport = Number(sport[2])
  return out
}

/** Parses one line of `nft -a monitor` output; null for anything that is not a trace line. */
export function parseTraceLine (line: string): TraceEvent | null {
  const m = LINE.exec(line)
  if (m === null) return null
  const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string]
  const base = { id, family, table, chain }
  if (rest.startsWith('packet: ')) return { ...base, kind: 'packet', packet: packetInfo(rest.slice(8)) }
  const rule = RULE.exec(rest)
  if (rule !== null) return { ...base, kind: 'rule', text: rule[1] as string, ...(rule[2] !== undefined ? { handle: Number(rule[2]) } : {}), verdict: rule[3] as string }
  const policy = /^policy ([a-z]+)/.exec(rest)
  if (policy !== null) return { ...base, kind: 'policy', verdict: policy[1] as string }
  const verdict = /^verdict ([a-z]+)/.exec(rest)
  if (verdict !== null) return { ...base, kind: 'verdict', verdict: verdict[1] as string }
  return null
}

/** A drop location before its owner is known. */
export type DropSeen = Omit<NftRuleSeen, 'owner'>

/**
 * The zone a firewalld chain belongs to: `filter_IN_public_deny` → `public`. Policies
 * (`filter_IN_policy_…`) and the dispatch chains (`filter_INPUT`, `filter_INPUT_ZONES`) have none.
 */
export function firewalldZone (chain: string): string | null {
  const m = /^(?:filter|nat|mangle|raw)_(?:IN|OUT|FWD|FWDO|FWDI|PRE|POST)_(.+?)(?:_(?:pre|log|deny|allow|post))?$/.exec(chain)
  return m === null || (m[1] as string).startsWith('policy_') ? null : m[1] as string
}

/** Where a packet was dropped, if it was: the rule (or chain policy) whose verdict was drop. Reject rules are traced as drop. */
export function dropOf (events: readonly TraceEvent[], isOwnTable: (table: string) => boolean): DropSeen | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as TraceEvent
    if (e.verdict !== 'drop' || isOwnTable(e.table)) continue
    if (e.kind !== 'rule' && e.kind !== 'policy') continue
    const where = { family: e.family, table: e.table, chain: e.chain }
    // firewalld's last reject sits in filter_INPUT, after the zone's chains: the zone is the last one the packet went through.
    const zone = e.table === 'firewalld' ? firewalldZone(e.chain) ?? events.slice(0, i).reverse().map((x) => x.table === 'firewalld' ? firewalldZone(x.chain) : null).find((z) => z !== null) ?? null : null
    const extra = zone !== null ? { zone } : {}
    if (e.kind === 'rule') return { ...where, ...(e.handle !== undefined ? { handle: e.handle } : {}), text: (e.text ?? '').trim().slice(0, 1024), ...extra }
    return { ...where, text: 'policy drop', ...extra }
  }
  return null
}

/** Groups trace events by packet (trace id), in the order they came. */
export function byPacket (events: readonly TraceEvent[]): Map<string, TraceEvent[]> {
  const out = new Map<string, TraceEvent[]>()
  for (const e of events) {
    const list = out.get(e.id)
    if (list === undefined) out.set(e.id, [e])
    else list.push(e)
  }
  return out
}

/** A finding being counted up, with its drops by location. */
interface Tally {
  finding: TraceFinding
  drops: Map<string, { drop: DropSeen, n: number }>
  via: Set<string>
}

/**
 * What the agent saw of each watched check. `table` is the agent's own trace table: its `out`
 * and `post` chains (source) and `pre` and `in<n>` chains (target) say where a packet was seen;
 * verdicts of its own chains are never drops.
 */
export function tallyFindings (events: readonly TraceEvent[], table: string, sources: readonly SourceWatch[], targets: readonly TargetWatch[]): Array<{ finding: TraceFinding, drop: DropSeen | null }> {
  const tallies = new Map<string, Tally>()
  const tally = (role: TraceRole, id: number): Tally => {
    const key = `${role}:${id}`
    let t = tallies.get(key)
    if (t === undefined) { t = { finding: { id, role, seen: 0, passed: 0, dropped: 0 }, drops: new Map(), via: new Set() }; tallies.set(key, t) }
    return t
  }
  for (const s of sources) tally('source', s.id)
  for (const t of targets) tally('target', t.id)
  const own = (t: string): boolean => t === table || t.startsWith('portcheck_trace_')
  for (const packet of byPacket(events).values()) {
    const info = packet.find((e) => e.kind === 'packet' && e.packet !== undefined)?.packet
    if (info === undefined) continue
    const mine = packet.filter((e) => e.table === table)
    const drop = dropOf(packet, own)
    const count = (t: Tally, passed: boolean): void => {
      t.finding.seen++
      if (passed) t.finding.passed++
      if (drop !== null) {
        t.finding.dropped++
        const key = `${drop.family} ${drop.table} ${drop.chain} ${drop.handle ?? 'policy'}`
        const d = t.drops.get(key) ?? { drop, n: 0 }
        d.n++
        t.drops.set(key, d)
      }
    }
    for (const s of sources) {
      if (info.daddr !== s.address || info.protocol !== s.protocol || info.dport !== s.port) continue
      if (!mine.some((e) => e.chain === 'out')) continue
      const post = mine.find((e) => e.chain === 'post' && e.kind === 'packet')
      const t = tally('source', s.id)
      count(t, post !== undefined)
      if (post?.packet?.saddr !== undefined && t.via.size < 4) t.via.add(post.packet.saddr)
    }
    for (const w of targets) {
      if (info.saddr === undefined || !w.from.includes(info.saddr) || info.protocol !== w.protocol || info.dport !== w.port) continue
      if (!mine.some((e) => e.chain === 'pre' || /^in\d+$/.test(e.chain))) continue
      count(tally('target', w.id), drop === null)
    }
  }
  return [...tallies.values()].map((t) => {
    const worst = [...t.drops.values()].sort((a, b) => b.n - a.n)[0]
    if (t.via.size > 0) t.finding.via = [...t.via]
    return { finding: t.finding, drop: worst?.drop ?? null }
  })
}
