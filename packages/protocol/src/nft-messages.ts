/**
 * The messages of drop localization and arrival counting: what the coordinator asks an agent
 * to watch with nftables, and what the agent saw. Types and validators; the two message switches
 * (agent-messages.ts, coordinator-messages.ts) route these types here. docs/reference/protocol.md,
 * "Drop localization" and "Counting arrivals", walks through them.
 */
import { GuardError, arr, bool, int, obj, oneOf, onlyKeys, str, type Obj } from './guards.js'
import { HOST_PATTERN, ID_PATTERN, MAX_ITEMS_PER_FRAME, NONCE_RE, PROTOS, type Proto } from './limits.js'
import type { AcceptedConnection } from './agent-messages.js'

/** Most checks one `trace-start` may ask an agent to watch. */
export const MAX_TRACE_ITEMS = 256
/** Most interface names a `trace-result` lists as `unwatched`. */
export const MAX_UNWATCHED_DEVICES = 64
/** An interface name as the kernel allows one: up to 15 bytes, no slash, no white space. */
const DEVICE_PATTERN = /^[^\s/]{1,15}$/
/** Most addresses one trace or count order may name for the other end. */
export const MAX_TRACE_ADDRESSES = 8
/**
 * Longest an agent keeps a trace running, in ms, whatever the coordinator says: past it the agent
 * stops watching, deletes its table and reports what it saw (60 s).
 */
export const MAX_TRACE_MS = 60_000

/** An IP address written as a literal (v4 dotted quad, or v6 hex and colons): never a name. */
export const IP_LITERAL_PATTERN = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f.]{0,15}){2,8})$/

/** Which end of a check an agent watches. */
export type TraceRole = 'source' | 'target'
export const TRACE_ROLES: readonly TraceRole[] = ['source', 'target']

/**
 * One check an agent is to watch during the localization re-probe. As its source, the agent
 * marks its own packets to `host` (as the run's probe orders named it) on `protocol`/`port`;
 * as its target, the packets from the addresses `from` to its port.
 */
export interface TraceOrder {
  /** The check's index (the probe order's id). */
  id: number
  role: TraceRole
  protocol: Proto
  port: number
  /** Source role: the target host, exactly as this run's probe orders named it. */
  host?: string
  /** Target role: the source's addresses, IP literals (at most {@link MAX_TRACE_ADDRESSES}). */
  from?: string[]
}

/** Starts a trace: add the agent's own temporary table marking these checks' packets, watch, then answer `trace-ready`. */
export interface TraceStartMessage {
  type: 'trace-start'
  runId: string
  items: TraceOrder[]
}

/** Ends the trace: delete the table, stop watching, answer `trace-result`. */
export interface TraceStopMessage {
  type: 'trace-stop'
  runId: string
}

/**
 * One check to count arrivals of, on a port another process holds on the agent's host. UDP:
 * the check's probe datagrams (its nonce). TCP: the SYNs from the source's addresses, each
 * reported with its source port (`arrived`), which the coordinator matches to the local ports
 * of the source's completed handshakes.
 */
export interface CountOrder {
  /** The check's index. */
  id: number
  /** Default `udp`. */
  protocol?: Proto
  port: number
  /** The source's addresses, IP literals (at most {@link MAX_TRACE_ADDRESSES}). */
  from: string[]
  /** UDP: the check's nonce (only its probe datagrams are counted). TCP: absent (the probe sends nothing into another process's port). */
  nonce?: string
}

/** Starts counting: add the agent's own temporary table of counters, then answer `count-ready`. Counts come in `flushed`. */
export interface CountStartMessage {
  type: 'count-start'
  runId: string
  items: CountOrder[]
}

/** Answer to `trace-start`: watching (no `error`), or why not. */
export interface TraceReadyMessage {
  type: 'trace-ready'
  runId: string
  /** Why this agent does not trace (`not root`, `nft not found`, a refused order, …); absent when it does. */
  error?: string
}

/** Whose rules a chain belongs to, as the agent tells from its ruleset. */
export type RuleOwner = 'nftables' | 'iptables' | 'firewalld'
export const RULE_OWNERS: readonly RuleOwner[] = ['nftables', 'iptables', 'firewalld']

/** The rule (or chain policy) that dropped traced packets, where `nft -a list ruleset` shows it. */
export interface NftRuleSeen {
  family: string
  table: string
  chain: string
  /** The rule's handle; absent when the chain's policy dropped them. */
  handle?: number
  /** The rule as nft prints it, or `policy drop`. */
  text: string
  owner: RuleOwner
  /** firewalld: the zone whose chain the packet was in when dropped (or the last it went through). */
  zone?: string
}

/** What an agent saw of one check's packets during the trace. */
export interface TraceFinding {
  id: number
  role: TraceRole
  /** Packets seen: source, leaving (its output hook, before any filter); target, arriving (its interface). */
  seen: number
  /** Of those, packets that got through: source, past every filter of its own (postrouting, last); target, not dropped. */
  passed: number
  /** Of those, packets a rule (or a chain's policy) dropped or rejected on this host. */
  dropped: number
  /** The rule that dropped most of them. */
  rule?: NftRuleSeen
  /** Source role: the source addresses its packets left with (after any NAT of its own), at most 4. */
  via?: string[]
}

/** Answer to `trace-stop`: what was seen, or why nothing could be. */
export interface TraceResultMessage {
  type: 'trace-result'
  runId: string
  error?: string
  /** The trace output was cut at the agent's bound: findings may be partial. */
  truncated?: boolean
  /**
   * Interfaces with netdev ingress chains of the operator's that the trace could not watch
   * (refused, or more than it watches): what those chains drop, it cannot see arrive.
   */
  unwatched?: string[]
  items: TraceFinding[]
}

/** Answer to `count-start`: counting (no `error`), or why not. */
export interface CountReadyMessage {
  type: 'count-ready'
  runId: string
  error?: string
}

/**
 * SYNs that got past the host's filters to a TCP port another process holds, from the addresses
 * of a check being counted (`count-start`), each once: the peer's address and source port, and
 * the local port. Sent before the `flushed` of each barrier.
 */
export interface ArrivedMessage {
  type: 'arrived'
  runId: string
  items: AcceptedConnection[]
}

/** A count, as `flushed` carries it: probe datagrams of check `id` that got past the host's filters so far. */
export interface ArrivalCount {
  id: number
  packets: number
}

const runId = (v: unknown, p: string): string => str(v, p, { pattern: ID_PATTERN })
const port = (v: unknown, p: string): number => int(v, p, 1, 65535)
const checkId = (v: unknown, p: string): number => int(v, p, 0, 2 ** 31)
const count = (v: unknown, p: string): number => int(v, p, 0, 2 ** 31)
const addresses = (v: unknown, p: string): string[] => {
  const list = arr(v, p, MAX_TRACE_ADDRESSES)
  if (list.length === 0) throw new GuardError(p, 'must not be empty')
  return list.map((a, i) => str(a, `${p}[${i}]`, { pattern: IP_LITERAL_PATTERN, max: 45 }))
}

function traceOrder (v: unknown, p: string): TraceOrder {
  const o = obj(v, p)
  onlyKeys(o, p, ['id', 'role', 'protocol', 'port', 'host', 'from'])
  const role = oneOf(o.role, `${p}.role`, TRACE_ROLES)
  const base = { id: checkId(o.id, `${p}.id`), role, protocol: oneOf(o.protocol, `${p}.protocol`, PROTOS), port: port(o.port, `${p}.port`) }
  // Each role says one thing about the other end: the source, the target as its probes named it; the target, the source's addresses.
  if (role === 'source') {
    if (o.from !== undefined) throw new GuardError(`${p}.from`, 'is not a field of a source order')
    return { ...base, host: str(o.host, `${p}.host`, { pattern: HOST_PATTERN }) }
  }
  if (o.host !== undefined) throw new GuardError(`${p}.host`, 'is not a field of a target order')
  return { ...base, from: addresses(o.from, `${p}.from`) }
}

/** Validates a coordinator message of localization or counting; returns it rebuilt. */
export function assertNftOrder (m: Obj, type: 'trace-start' | 'trace-stop' | 'count-start'): TraceStartMessage | TraceStopMessage | CountStartMessage {
  switch (type) {
    case 'trace-start':
      onlyKeys(m, '', ['type', 'runId', 'items'])
      return { type, runId: runId(m.runId, 'runId'), items: arr(m.items, 'items', MAX_TRACE_ITEMS).map((v, i) => traceOrder(v, `items[${i}]`)) }
    case 'trace-stop':
      onlyKeys(m, '', ['type', 'runId'])
      return { type, runId: runId(m.runId, 'runId') }
    case 'count-start':
      onlyKeys(m, '', ['type', 'runId', 'items'])
      return {
        type,
        runId: runId(m.runId, 'runId'),
        items: arr(m.items, 'items', MAX_ITEMS_PER_FRAME).map((v, i) => {
          const p = `items[${i}]`
          const o = obj(v, p)
          onlyKeys(o, p, ['id', 'protocol', 'port', 'from', 'nonce'])
          const base = { id: checkId(o.id, `${p}.id`), port: port(o.port, `${p}.port`), from: addresses(o.from, `${p}.from`) }
          if (o.protocol === 'tcp') {
            if (o.nonce !== undefined) throw new GuardError(`${p}.nonce`, 'is not a field of a TCP order')
            return { ...base, protocol: 'tcp' as const }
          }
          if (o.protocol !== undefined) oneOf(o.protocol, `${p}.protocol`, PROTOS)
          return { ...base, nonce: str(o.nonce, `${p}.nonce`, { pattern: NONCE_RE }) }
        })
      }
  }
}

function ruleSeen (v: unknown, p: string): void {
  const o = obj(v, p)
  onlyKeys(o, p, ['family', 'table', 'chain', 'handle', 'text', 'owner', 'zone'])
  oneOf(o.family, `${p}.family`, ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'])
  str(o.table, `${p}.table`, { max: 256 })
  str(o.chain, `${p}.chain`, { max: 256 })
  if (o.handle !== undefined) int(o.handle, `${p}.handle`, 1, 2 ** 53 - 1)
  str(o.text, `${p}.text`, { max: 1024 })
  oneOf(o.owner, `${p}.owner`, RULE_OWNERS)
  if (o.zone !== undefined) str(o.zone, `${p}.zone`, { max: 64 })
}

/** Validates, in place, an agent message of localization or counting. */
export function assertNftReport (m: Obj, type: 'trace-ready' | 'trace-result' | 'count-ready' | 'arrived'): TraceReadyMessage | TraceResultMessage | CountReadyMessage | ArrivedMessage {
  const error = (): void => { if (m.error !== undefined) str(m.error, 'error', { max: 200 }) }
  switch (type) {
    case 'trace-ready':
    case 'count-ready':
      onlyKeys(m, '', ['type', 'runId', 'error'])
      runId(m.runId, 'runId')
      error()
      return m as unknown as TraceReadyMessage | CountReadyMessage
    case 'trace-result': {
      onlyKeys(m, '', ['type', 'runId', 'error', 'truncated', 'unwatched', 'items'])
      runId(m.runId, 'runId')
      error()
      if (m.truncated !== undefined) bool(m.truncated, 'truncated')
      if (m.unwatched !== undefined) arr(m.unwatched, 'unwatched', MAX_UNWATCHED_DEVICES).forEach((d, i) => str(d, `unwatched[${i}]`, { pattern: DEVICE_PATTERN, max: 15 }))
      const list = arr(m.items, 'items', MAX_TRACE_ITEMS)
      for (let i = 0; i < list.length; i++) {
        const p = `items[${i}]`
        const o = obj(list[i], p)
        onlyKeys(o, p, ['id', 'role', 'seen', 'passed', 'dropped', 'rule', 'via'])
        checkId(o.id, `${p}.id`)
        oneOf(o.role, `${p}.role`, TRACE_ROLES)
        count(o.seen, `${p}.seen`)
        count(o.passed, `${p}.passed`)
        count(o.dropped, `${p}.dropped`)
        if (o.rule !== undefined) ruleSeen(o.rule, `${p}.rule`)
        if (o.via !== undefined) arr(o.via, `${p}.via`, 4).forEach((a, j) => str(a, `${p}.via[${j}]`, { pattern: IP_LITERAL_PATTERN, max: 45 }))
      }
      return m as unknown as TraceResultMessage
    }
    case 'arrived': {
      onlyKeys(m, '', ['type', 'runId', 'items'])
      runId(m.runId, 'runId')
      const list = arr(m.items, 'items', MAX_ITEMS_PER_FRAME)
      for (let i = 0; i < list.length; i++) {
        const p = `items[${i}]`
        const o = obj(list[i], p)
        onlyKeys(o, p, ['port', 'address', 'remotePort'])
        port(o.port, `${p}.port`)
        str(o.address, `${p}.address`, { pattern: IP_LITERAL_PATTERN, max: 45 })
        int(o.remotePort, `${p}.remotePort`, 0, 65535)
      }
      return m as unknown as ArrivedMessage
    }
  }
}

/** Validates, in place, the `counts` of a `flushed` message. */
export function assertCounts (v: unknown): void {
  const list = arr(v, 'counts', MAX_ITEMS_PER_FRAME)
  for (let i = 0; i < list.length; i++) {
    const o = obj(list[i], `counts[${i}]`)
    onlyKeys(o, `counts[${i}]`, ['id', 'packets'])
    checkId(o.id, `counts[${i}].id`)
    count(o.packets, `counts[${i}].packets`)
  }
}
