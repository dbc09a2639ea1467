/**
 * Messages an agent sends to the coordinator, and their validation. Frames are validated in
 * place: they carry thousands of receipts, and a validator that rebuilt each one would double
 * the coordinator's garbage at scale. Unknown fields anywhere are refused, so what passes is
 * exactly the declared shape.
 */
import { GuardError, arr, bool, int, num, obj, oneOf, onlyKeys, str, type Obj } from './guards.js'
import {
  AGENT_NAME_PATTERN, CIDR_PATTERN, CREDENTIAL_PATTERN, HOST_PATTERN, ID_PATTERN, MAX_AGENT_ADDRESSES, MAX_AGENT_FRAME_BYTES,
  MAX_BINDS, MAX_CONNECTED_PORTS, MAX_ITEMS_PER_FRAME, NONCE_RE, PROTOS, type Proto
} from './limits.js'
import { guarded, parseFrame } from './message-error.js'
import { assertCounts, assertNftReport, type ArrivalCount, type ArrivedMessage, type CountReadyMessage, type TraceReadyMessage, type TraceResultMessage } from './nft-messages.js'

/**
 * First frame of a connection: who the agent is, and its proof. Sent only once the agent has
 * checked the coordinator's TLS key against its pin, so the credential never reaches an impostor.
 */
export interface HelloMessage {
  type: 'hello'
  protocol: number
  /** Host name the agent stands for (matches the inventory). */
  name: string
  /** The credential of this host name, from its join command (an HMAC of the join token and the name). */
  credential: string
  /** Random per process: tells a reconnect of the same agent from a second agent with the same name. */
  instance: string
  /** The agent package version. */
  version: string
  hostname: string
  platform: string
  pid: number
  /**
   * The addresses the agent binds its listeners and probes to (`--bind`, at most one per address
   * family), or empty for the default: listeners on every address of both families.
   */
  bind: string[]
  /**
   * Every address on the agent's network interfaces, with its prefix length (`198.18.1.5/15`),
   * loopback included: the coordinator checks that the host's inventory address is one of them.
   */
  addresses: string[]
  /**
   * Whether the agent can use nftables (root, and `nft` found), for drop localization and UDP
   * arrival counting; `why` not, when it cannot. Absent: it does not say, and is given neither.
   */
  nftables?: NftablesState
}

/** Whether an agent can use nftables, and why not. */
export interface NftablesState {
  usable: boolean
  /** Why not, in a few words (`not root`, `nft not found`). */
  why?: string
}

/** What happened when an agent tried to open one listener. */
export type ListenerStateName = 'open' | 'in-use' | 'denied' | 'failed'
export const LISTENER_STATES: readonly ListenerStateName[] = ['open', 'in-use', 'denied', 'failed']

export interface ListenerState {
  protocol: Proto
  port: number
  state: ListenerStateName
  /** The system error code when not open (EADDRINUSE, EACCES, ...). */
  error?: string
}

/**
 * Reply to `run-start`, sent once every listener has been bound or has failed to. A big
 * listener set comes in several frames (each under the frame limit): all but the last say `more`.
 */
export interface RunReadyMessage {
  type: 'run-ready'
  runId: string
  listeners: ListenerState[]
  /** More `run-ready` frames of this run follow. */
  more?: boolean
  /**
   * The UDP port of the run's reference listener, which acknowledges any probe datagram: sources
   * measure their round trip and loss to this host there. Null if it could not be opened.
   */
  refPort: number | null
}

/** How a probe ended, as seen from the source. */
export type ProbeOutcome = 'connected' | 'replied' | 'timeout' | 'refused' | 'unreachable' | 'egress-denied' | 'unresolved' | 'error'
export const PROBE_OUTCOMES: readonly ProbeOutcome[] = ['connected', 'replied', 'timeout', 'refused', 'unreachable', 'egress-denied', 'unresolved', 'error']

/** What came back to the source: our listener's acknowledgement of this nonce, something else, or nothing. */
export type EchoKind = 'ours' | 'other' | 'none'
export const ECHO_KINDS: readonly EchoKind[] = ['ours', 'other', 'none']

export interface ProbeResult {
  /** The probe order's id. */
  id: number
  outcome: ProbeOutcome
  /** System error code behind `refused`, `unreachable`, `egress-denied`, `unresolved` or `error`. */
  error?: string
  /** Round trip of the answered attempt, from its start to our acknowledgement, in ms; null if none was answered. */
  latencyMs: number | null
  /** Connections (TCP) or datagrams (UDP) sent in this round. */
  attempts: number
  echo: EchoKind
  /** The attempt (1-based) our listener's acknowledgement answered first; absent when none was. */
  answered?: number
  /**
   * Attempts that stayed unanswered for a whole answer window of the path (several round trips):
   * the evidence a drop rests on. Attempts cut short by the end of the probe are not counted.
   */
  unanswered: number
  /** TCP: local ports of attempts whose handshake completed but that our acknowledgement never answered. */
  connected?: number[]
  /** The address the target's name resolved to, when the order named a host rather than an address. */
  address?: string
}

export interface ProbeResultsMessage {
  type: 'probe-results'
  runId: string
  results: ProbeResult[]
}

/** One nonce seen by one of the agent's listeners. */
export interface Receipt {
  protocol: Proto
  /** The local port of the listener that saw it. */
  port: number
  nonce: string
  /** The remote address the listener saw the nonce come from. */
  address: string
  remotePort: number
}

export interface ReceivedMessage {
  type: 'received'
  runId: string
  items: Receipt[]
}

/** A TCP connection one of the agent's listeners accepted, which brought no nonce (yet). */
export interface AcceptedConnection {
  /** The local port of the listener. */
  port: number
  /** The peer's address and port, as the listener saw them. */
  address: string
  remotePort: number
}

/**
 * Connections a listener accepted without receiving a nonce on them: closed idle, evicted, or
 * still waiting at `flush`. They tell a probe whose data was lost on the way (it reached our
 * listener) from one that something else answered (it never did).
 */
export interface AcceptedMessage {
  type: 'accepted'
  runId: string
  items: AcceptedConnection[]
}

/** What a source measured on its path to one target host during the run. */
export interface PathFigures {
  /** The target host, as the probe orders named it. */
  host: string
  protocol: Proto
  /** Attempts of answered probes (reference exchanges included): the sample the loss is measured on. */
  attempts: number
  /** Of those, attempts that went unanswered before a later one was answered. */
  failed: number
  /** Smoothed round trip to our acknowledgement, in ms; null if nothing was answered. */
  rttMs: number | null
}

/**
 * A UDP listener of the run that others' traffic reached: datagrams that were no probe, and
 * datagrams the kernel dropped at the socket because its receive buffer was full (a flood). Both
 * count from the listener's opening. A probe that arrived there may have been one of the drops.
 */
export interface UdpCrowding {
  port: number
  /** Datagrams the listener read that were not probes. */
  strangers: number
  /** Datagrams the kernel dropped at the listener's sockets (`/proc/net/udp`); null: not known on this system. */
  dropped: number | null
}

/** Reply to `flush`: every receipt the agent saw before it is already on the wire. */
export interface FlushedMessage {
  type: 'flushed'
  runId: string
  seq: number
  /** The agent's measurements of each path it probed in this run so far. */
  paths: PathFigures[]
  /** Probe datagrams counted so far for each check the agent counts arrivals of (`count-start`). */
  counts?: ArrivalCount[]
  /** The UDP listeners that strangers' datagrams reached, or whose socket dropped some; absent: none. */
  crowded?: UdpCrowding[]
}

/** Reply to `run-end`: every listener of the run is closed and every probe stopped. */
export interface RunClosedMessage {
  type: 'run-closed'
  runId: string
}

export type AgentMessage =
  | HelloMessage
  | RunReadyMessage
  | ProbeResultsMessage
  | ReceivedMessage
  | AcceptedMessage
  | FlushedMessage
  | RunClosedMessage
  | TraceReadyMessage
  | TraceResultMessage
  | CountReadyMessage
  | ArrivedMessage

const port = (v: unknown, p: string): number => int(v, p, 1, 65535)
const runId = (v: unknown, p: string): string => str(v, p, { pattern: ID_PATTERN })
const proto = (v: unknown, p: string): Proto => oneOf(v, p, PROTOS)
const address = (v: unknown, p: string): string => str(v, p, { pattern: HOST_PATTERN })

function errorCode (o: Obj, p: string): void {
  if (o.error !== undefined) str(o.error, `${p}.error`, { max: 64 })
}

function items (m: Obj, key: string, each: (o: Obj, p: string) => void): void {
  const list = arr(m[key], key, MAX_ITEMS_PER_FRAME)
  for (let i = 0; i < list.length; i++) {
    const p = `${key}[${i}]`
    each(obj(list[i], p), p)
  }
}

/** Parses and validates a frame an agent sent. Throws {@link MessageError}. */
export function parseAgentMessage (raw: string | Buffer): AgentMessage {
  const m = parseFrame(raw, MAX_AGENT_FRAME_BYTES)
  return guarded(() => assertAgentMessage(m))
}

/** Validates an already-parsed agent message in place and returns it typed. Throws {@link GuardError}. */
export function assertAgentMessage (m: Obj): AgentMessage {
  const type = str(m.type, 'type', { max: 32 })
  switch (type) {
    case 'hello': {
      onlyKeys(m, '', ['type', 'protocol', 'name', 'credential', 'instance', 'version', 'hostname', 'platform', 'pid', 'bind', 'addresses', 'nftables'])
      int(m.protocol, 'protocol', 1, 1000)
      str(m.name, 'name', { pattern: AGENT_NAME_PATTERN })
      str(m.credential, 'credential', { pattern: CREDENTIAL_PATTERN })
      str(m.instance, 'instance', { pattern: ID_PATTERN })
      str(m.version, 'version', { max: 64 })
      str(m.hostname, 'hostname', { max: 253 })
      str(m.platform, 'platform', { max: 64 })
      int(m.pid, 'pid', 0, 2 ** 31)
      const binds = arr(m.bind, 'bind', MAX_BINDS)
      for (let i = 0; i < binds.length; i++) address(binds[i], `bind[${i}]`)
      const list = arr(m.addresses, 'addresses', MAX_AGENT_ADDRESSES)
      for (let i = 0; i < list.length; i++) str(list[i], `addresses[${i}]`, { pattern: CIDR_PATTERN })
      if (m.nftables !== undefined) {
        const n = obj(m.nftables, 'nftables')
        onlyKeys(n, 'nftables', ['usable', 'why'])
        bool(n.usable, 'nftables.usable')
        if (n.why !== undefined) str(n.why, 'nftables.why', { max: 200 })
      }
      return m as unknown as HelloMessage
    }
    case 'run-ready': {
      onlyKeys(m, '', ['type', 'runId', 'listeners', 'refPort', 'more'])
      runId(m.runId, 'runId')
      if (m.more !== undefined) bool(m.more, 'more')
      if (m.refPort !== null) port(m.refPort, 'refPort')
      const list = arr(m.listeners, 'listeners', MAX_ITEMS_PER_FRAME)
      for (let i = 0; i < list.length; i++) {
        const p = `listeners[${i}]`
        const o = obj(list[i], p)
        onlyKeys(o, p, ['protocol', 'port', 'state', 'error'])
        proto(o.protocol, `${p}.protocol`)
        port(o.port, `${p}.port`)
        oneOf(o.state, `${p}.state`, LISTENER_STATES)
        errorCode(o, p)
      }
      return m as unknown as RunReadyMessage
    }
    case 'probe-results':
      onlyKeys(m, '', ['type', 'runId', 'results'])
      runId(m.runId, 'runId')
      items(m, 'results', (o, p) => {
        onlyKeys(o, p, ['id', 'outcome', 'error', 'latencyMs', 'attempts', 'echo', 'answered', 'unanswered', 'connected', 'address'])
        int(o.id, `${p}.id`, 0, 2 ** 31)
        oneOf(o.outcome, `${p}.outcome`, PROBE_OUTCOMES)
        errorCode(o, p)
        if (o.latencyMs !== null) num(o.latencyMs, `${p}.latencyMs`, 0, 3_600_000)
        int(o.attempts, `${p}.attempts`, 0, 1000)
        oneOf(o.echo, `${p}.echo`, ECHO_KINDS)
        if (o.answered !== undefined) int(o.answered, `${p}.answered`, 1, 1000)
        int(o.unanswered, `${p}.unanswered`, 0, 1000)
        if (o.connected !== undefined) {
          const ports = arr(o.connected, `${p}.connected`, MAX_CONNECTED_PORTS)
          for (let j = 0; j < ports.length; j++) port(ports[j], `${p}.connected[${j}]`)
        }
        if (o.address !== undefined) address(o.address, `${p}.address`)
      })
      return m as unknown as ProbeResultsMessage
    case 'received':
      onlyKeys(m, '', ['type', 'runId', 'items'])
      runId(m.runId, 'runId')
      items(m, 'items', (o, p) => {
        onlyKeys(o, p, ['protocol', 'port', 'nonce', 'address', 'remotePort'])
        proto(o.protocol, `${p}.protocol`)
        port(o.port, `${p}.port`)
        str(o.nonce, `${p}.nonce`, { pattern: NONCE_RE })
        address(o.address, `${p}.address`)
        int(o.remotePort, `${p}.remotePort`, 0, 65535)
      })
      return m as unknown as ReceivedMessage
    case 'accepted':
      onlyKeys(m, '', ['type', 'runId', 'items'])
      runId(m.runId, 'runId')
      items(m, 'items', (o, p) => {
        onlyKeys(o, p, ['port', 'address', 'remotePort'])
        port(o.port, `${p}.port`)
        address(o.address, `${p}.address`)
        int(o.remotePort, `${p}.remotePort`, 0, 65535)
      })
      return m as unknown as AcceptedMessage
    case 'flushed':
      onlyKeys(m, '', ['type', 'runId', 'seq', 'paths', 'counts', 'crowded'])
      runId(m.runId, 'runId')
      int(m.seq, 'seq', 0, 2 ** 31)
      items(m, 'paths', (o, p) => {
        onlyKeys(o, p, ['host', 'protocol', 'attempts', 'failed', 'rttMs'])
        address(o.host, `${p}.host`)
        proto(o.protocol, `${p}.protocol`)
        const attempts = int(o.attempts, `${p}.attempts`, 0, 2 ** 31)
        int(o.failed, `${p}.failed`, 0, attempts)
        if (o.rttMs !== null) num(o.rttMs, `${p}.rttMs`, 0, 3_600_000)
      })
      if (m.counts !== undefined) assertCounts(m.counts)
      if (m.crowded !== undefined) {
        items(m, 'crowded', (o, p) => {
          onlyKeys(o, p, ['port', 'strangers', 'dropped'])
          port(o.port, `${p}.port`)
          int(o.strangers, `${p}.strangers`, 0, 2 ** 53)
          if (o.dropped !== null) int(o.dropped, `${p}.dropped`, 0, 2 ** 53)
        })
      }
      return m as unknown as FlushedMessage
    case 'run-closed':
      onlyKeys(m, '', ['type', 'runId'])
      runId(m.runId, 'runId')
      return m as unknown as RunClosedMessage
    case 'trace-ready':
    case 'trace-result':
    case 'count-ready':
    case 'arrived':
      return assertNftReport(m, type)
    default:
      throw new GuardError('type', `unknown agent message type "${type}"`)
  }
}
