import net from 'node:net'
import { MAX_COUNTED_SYNS, encodeProbe, type Proto } from '@portcheck/protocol'

/**
 * The rulesets of the agent's own temporary tables, as `nft -f` scripts. Every value written
 * into them is checked here (addresses are IP literals, ports integers, names the agent made),
 * whatever the caller checked before.
 */

/**
 * Hook priorities of the trace chains. Output and prerouting at -500 (NF_IP_PRI_FIRST is lower,
 * but -500 is before raw (-300), conntrack (-200), NAT and every filter): they mark the packet
 * before anything of the operator's sees it. Postrouting last of all: a packet traced there got
 * past every filter of the host's own.
 */
export const TRACE_PRIORITY = { first: -500, last: 2147483647 } as const

/** A check the agent watches as its source: its packets to `address` on `protocol`/`port`. */
export interface SourceWatch {
  id: number
  protocol: Proto
  port: number
  /** The target's address (the order's host, resolved). */
  address: string
}

/** A check the agent watches as its target: packets from `from` to its `protocol`/`port`. */
export interface TargetWatch {
  id: number
  protocol: Proto
  port: number
  from: readonly string[]
}

/**
 * A check on a port another process holds, whose arrivals the agent counts. UDP (the default):
 * its probe datagrams, by nonce. TCP: the SYNs from its source's addresses, by source port.
 */
export interface CountWatch {
  id: number
  protocol?: Proto
  port: number
  from: readonly string[]
  /** UDP only. */
  nonce?: string
}

/** The sets of the counting table where TCP SYNs are kept, by IP version: `saddr . dport . sport`. */
export const SYN_SETS = { ip: 'syn4', ip6: 'syn6' } as const

/** Interfaces whose ingress hook is watched: at most this many. */
const MAX_INGRESS_DEVICES = 8
const DEVICE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/

function assertPort (p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`not a port: ${p}`)
  return p
}

function assertProto (p: Proto): Proto {
  if (p !== 'tcp' && p !== 'udp') throw new Error(`not a protocol: ${String(p)}`)
  return p
}

/** `ip saddr { a, b }` / `ip6 saddr …` matches, one per IP version present. */
function addressMatches (field: 'saddr' | 'daddr', addresses: readonly string[]): string[] {
  const v4 = addresses.filter((a) => net.isIPv4(a))
  const v6 = addresses.filter((a) => net.isIPv6(a))
  if (v4.length + v6.length !== addresses.length || addresses.length === 0) throw new Error(`not IP addresses: ${addresses.join(', ')}`)
  const set = (list: string[]): string => list.length === 1 ? list[0] as string : `{ ${list.join(', ')} }`
  return [...(v4.length > 0 ? [`ip ${field} ${set(v4)}`] : []), ...(v6.length > 0 ? [`ip6 ${field} ${set(v6)}`] : [])]
}

/**
 * The interfaces on which the operator's own netdev chains see what arrives, from `nft list
 * chains netdev` (the text: nft 1.0's JSON leaves the devices out), in the listing's order,
 * each once; the agent's own tables (`portcheck_…`) are not the operator's. Those chains are the
 * only rules of the host a packet meets before the trace's prerouting mark: the only interfaces
 * whose ingress hook the trace needs to watch.
 */
export function operatorIngressDevices (listing: string): string[] {
  const out = new Set<string>()
  let ours = false
  for (const line of listing.split('\n')) {
    const table = /^\s*table netdev (\S+) \{/.exec(line)
    if (table !== null) { ours = (table[1] as string).startsWith('portcheck_'); continue }
    if (ours) continue
    const one = /\bhook ingress device "?([^"\s;]+)"?/.exec(line)
    const many = /\bhook ingress devices = \{ ([^}]*) \}/.exec(line)
    const names = one !== null ? [one[1] as string] : many !== null ? (many[1] as string).split(',').map((d) => d.trim().replace(/^"|"$/g, '')) : []
    for (const d of names) if (d.length > 0) out.add(d)
  }
  return [...out]
}

/**
 * Splits the operator's ingress devices into those one trace watches (names the ruleset can
 * carry, at most {@link MAX_INGRESS_DEVICES}) and those it cannot, which the trace reports.
 */
export function ingressWatch (devices: readonly string[]): { watched: string[], unwatched: string[] } {
  const watched = devices.filter((d) => DEVICE_NAME.test(d)).slice(0, MAX_INGRESS_DEVICES)
  return { watched, unwatched: devices.filter((d) => !watched.includes(d)) }
}

/**
 * The trace table (family inet): as a source, each watched packet is marked (`meta nftrace set 1`)
 * in `out` before any filter, and seen again in `post` once past every filter; as a target, it is
 * marked in `pre`, on arrival, before any filter.
 */
export function traceRuleset (table: string, sources: readonly SourceWatch[], targets: readonly TargetWatch[]): string {
  const out: string[] = [
    `add table inet ${table}`,
    `add chain inet ${table} out { type filter hook output priority ${TRACE_PRIORITY.first}; policy accept; }`,
    `add chain inet ${table} post { type filter hook postrouting priority ${TRACE_PRIORITY.last}; policy accept; }`,
    `add chain inet ${table} pre { type filter hook prerouting priority ${TRACE_PRIORITY.first}; policy accept; }`
  ]
  for (const s of sources) {
    const match = `${addressMatches('daddr', [s.address]).join(' ')} ${assertProto(s.protocol)} dport ${assertPort(s.port)} meta nftrace set 1`
    out.push(`add rule inet ${table} out ${match}`, `add rule inet ${table} post ${match}`)
  }
  for (const t of targets) {
    for (const m of addressMatches('saddr', t.from)) out.push(`add rule inet ${table} pre ${m} ${assertProto(t.protocol)} dport ${assertPort(t.port)} meta nftrace set 1`)
  }
  return out.join('\n') + '\n'
}

/**
 * The ingress table (family netdev): marks the targets' packets as they come off each interface
 * that has netdev chains of the operator's, before those chains. Loaded apart from the trace
 * table: a kernel that refuses it still has the prerouting mark, and the trace then reports the
 * interfaces it could not watch (a drop there would look like the network's).
 */
export function ingressRuleset (table: string, devices: readonly string[], targets: readonly TargetWatch[]): string {
  const out: string[] = [`add table netdev ${table}`]
  devices.forEach((device, i) => {
    if (!DEVICE_NAME.test(device)) throw new Error(`not an interface name: ${device}`)
    out.push(`add chain netdev ${table} in${i} { type filter hook ingress device "${device}" priority ${TRACE_PRIORITY.first}; policy accept; }`)
    for (const t of targets) {
      for (const m of addressMatches('saddr', t.from)) out.push(`add rule netdev ${table} in${i} ${m} ${assertProto(t.protocol)} dport ${assertPort(t.port)} meta nftrace set 1`)
    }
  })
  return out.join('\n') + '\n'
}

/** The comment that names a counter's check: `pc<id>`. */
export const counterComment = (id: number): string => `pc${id}`

/** Raw payload matches of a probe line's start (`PCHK1 <nonce>`), at most 128 bits each (what one nft register compare takes). */
function payloadMatches (nonce: string): string[] {
  const bytes = encodeProbe(nonce).subarray(0, 6 + nonce.length)
  const out: string[] = []
  // The UDP header is 8 bytes: the payload starts at bit 64 of the transport header.
  for (let i = 0; i < bytes.length; i += 16) {
    const chunk = bytes.subarray(i, Math.min(bytes.length, i + 16))
    out.push(`@th,${64 + i * 8},${chunk.length * 8} 0x${chunk.toString('hex')}`)
  }
  return out
}

/**
 * The counting table (family inet), its chains in the input and forward hooks, last of all, so
 * that what it counts got past every filter of the host. UDP: one counter per check, of the
 * check's own probe datagrams only (from the source's addresses, to the port, carrying the
 * check's nonce). TCP: every SYN from a check's source addresses to its port goes into a set,
 * with its source port; the coordinator matches those to the local ports of the source's
 * completed handshakes (the probe sends nothing into another process's port, so there is no
 * nonce to match). Where the host tracks connections (`conntrack`), the port is the one the
 * packet was sent to (`ct original proto-dst`), before any DNAT of the host's own: a port
 * redirected to a local process still reaches input, and one published by a container (a DNAT
 * to it) reaches forward, where only what the host itself DNATed (`ct status dnat`) is counted,
 * not traffic it merely routes. Where it does not, it cannot NAT either: the packet's own port
 * is exact, and a `ct` rule would make the kernel start tracking every connection of the host
 * for the run.
 *
 * @param conntrack whether the host already tracks connections (default false)
 */
export function countRuleset (table: string, counts: readonly CountWatch[], conntrack = false): string {
  const out: string[] = [
    `add table inet ${table}`,
    `add chain inet ${table} input { type filter hook input priority ${TRACE_PRIORITY.last}; policy accept; }`
  ]
  if (conntrack) out.push(`add chain inet ${table} forward { type filter hook forward priority ${TRACE_PRIORITY.last}; policy accept; }`)
  /**
   * The rules that count one match: `then(dport)` is what they do, given the expression of the
   * port. Where the host tracks connections: by the original port in input, and in forward for
   * what it DNATed; and by the packet's own port in input for what it does not track (a
   * `notrack` rule, as busy DNS servers have), which has no original port. Each packet meets at
   * most one of them.
   */
  const hooks = (saddr: string, proto: Proto, port: number, match: string, then: (dport: string) => string): string[] => {
    const own = `${proto} dport`
    if (!conntrack) return [`add rule inet ${table} input ${saddr} ${own} ${port} ${match} ${then(own)}`]
    const original = 'ct original proto-dst'
    const tracked = `${saddr} meta l4proto ${proto} ${original} ${port} ${match}`
    return [
      `add rule inet ${table} input ${tracked} ${then(original)}`,
      `add rule inet ${table} input ${saddr} ct state untracked ${own} ${port} ${match} ${then(own)}`,
      `add rule inet ${table} forward ${tracked} ct status dnat ${then(original)}`
    ]
  }
  if (counts.some((c) => c.protocol === 'tcp')) {
    out.push(`add set inet ${table} ${SYN_SETS.ip} { type ipv4_addr . inet_service . inet_service; flags dynamic; size ${MAX_COUNTED_SYNS}; }`)
    out.push(`add set inet ${table} ${SYN_SETS.ip6} { type ipv6_addr . inet_service . inet_service; flags dynamic; size ${MAX_COUNTED_SYNS}; }`)
  }
  const rules = new Set<string>()
  for (const c of counts) {
    const port = assertPort(c.port)
    if (c.protocol === 'tcp') {
      for (const m of addressMatches('saddr', c.from)) {
        const ip = m.startsWith('ip6 ') ? 'ip6' : 'ip'
        for (const r of hooks(m, 'tcp', port, 'tcp flags & (syn | ack) == syn', (dport) => `add @${SYN_SETS[ip]} { ${ip} saddr . ${dport} . tcp sport }`)) rules.add(r)
      }
      continue
    }
    if (c.nonce === undefined || !/^[A-Za-z0-9_-]{16,64}$/.test(c.nonce)) throw new Error('not a nonce')
    // One counter per rule: a check counted by several sums its rules (ArrivalCounter.read).
    const payload = payloadMatches(c.nonce).join(' ')
    for (const m of addressMatches('saddr', c.from)) for (const r of hooks(m, 'udp', port, payload, () => `counter comment "${counterComment(c.id)}"`)) rules.add(r)
  }
  return [...out, ...rules].join('\n') + '\n'
}
