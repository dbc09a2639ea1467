/**
 * Messages the coordinator sends to an agent, and their validation. The agent rebuilds each
 * message from its validated fields, so nothing it did not expect reaches its logic.
 */
import { GuardError, arr, bool, int, num, obj, oneOf, onlyKeys, str, type Obj } from './guards.js'
import {
  HOST_PATTERN, ID_PATTERN, MAX_ATTEMPTS_PER_ROUND, MAX_COORDINATOR_FRAME_BYTES, MAX_LISTENERS_PER_FRAME,
  MAX_PEERS, MAX_PROBE_TIMEOUT_MS, MAX_PROBES_PER_FRAME, NONCE_RE, PROTOS, type Proto
} from './limits.js'
import { guarded, parseFrame } from './message-error.js'
import { ADDRESS_FAMILIES, type AddressFamily } from './families.js'
import { assertNftOrder, type CountStartMessage, type TraceStartMessage, type TraceStopMessage } from './nft-messages.js'

export interface WelcomeMessage {
  type: 'welcome'
  protocol: number
  /** The coordinator's name for this connection, for logs. */
  agentId: string
  /** How often the coordinator pings, in ms; the agent reconnects after 3 missed pings. */
  heartbeatMs: number
}

/** Sent before the coordinator closes a connection it will not serve. */
export interface RejectedMessage {
  type: 'rejected'
  code: string
  message: string
  /** True when retrying cannot help (wrong protocol version, say): the agent stops. */
  fatal: boolean
}

export interface ListenOrder {
  protocol: Proto
  port: number
}

/** Starts a run on an agent: open these listeners (and a reference listener), then answer `run-ready`. */
export interface RunStartMessage {
  type: 'run-start'
  runId: string
  /** The agent ends the run by itself after this long, in ms, if no `run-end` comes. */
  ttlMs: number
  listeners: ListenOrder[]
  /**
   * The target hosts (inventory addresses or names) this agent may probe in this run: any
   * probe order to another host is refused, so that even a bug in the coordinator's scheduling
   * can only ever send an agent's probes where its run's checks go.
   */
  peers: string[]
}

export interface ProbeOrder {
  id: number
  protocol: Proto
  /** The target's address from the inventory (or a name, resolved once per run by the source). */
  host: string
  port: number
  nonce: string
  /** Give up after this long, in ms. */
  timeoutMs: number
  /**
   * Re-probes: keep trying until this many attempts went unanswered (or the timeout), because
   * the path's measured loss asks for that much evidence before a drop may be reported.
   */
  need?: number
  /** Another process holds this TCP port on the target: a completed handshake is all there is to see. */
  held?: boolean
  /**
   * When `host` is a name: resolve it to an address of this family only (the source host has no
   * other in the inventory). Without it, the first address the source's resolver returns.
   */
  family?: AddressFamily
}

/** A target's reference listener, where sources measure their path to it. */
export interface ReferenceEndpoint {
  host: string
  port: number
}

/** Probes to send for the current run; may come in several frames. */
export interface ProbeMessage {
  type: 'probe'
  runId: string
  /** 1 for the run's first probes; re-probes of checks that still lack evidence count up. */
  round: number
  /** Most probes in flight at once on this agent. */
  concurrency: number
  /**
   * `--timeout auto`: end each probe as soon as its unanswered attempts are evidence enough of a
   * drop on its path's measured loss, instead of at `timeoutMs`; never before the path is measured.
   */
  adaptive?: boolean
  /**
   * Round trips to target hosts via the coordinator (this agent's control-channel RTT plus the
   * target's), in ms: not a bound of the direct path, so they may only lengthen waits.
   */
  rttHints?: Array<{ host: string, ms: number }>
  /** The reference listeners of this frame's target hosts. */
  refs?: ReferenceEndpoint[]
  probes: ProbeOrder[]
}

/** Asks the agent to push out every receipt it has and answer `flushed`. */
export interface FlushMessage {
  type: 'flush'
  runId: string
  seq: number
}

/** Ends the run: close its listeners, stop its probes, answer `run-closed`. */
export interface RunEndMessage {
  type: 'run-end'
  runId: string
}

export type CoordinatorMessage =
  | WelcomeMessage
  | RejectedMessage
  | RunStartMessage
  | ProbeMessage
  | FlushMessage
  | RunEndMessage
  | TraceStartMessage
  | TraceStopMessage
  | CountStartMessage

const port = (v: unknown, p: string): number => int(v, p, 1, 65535)
const runId = (v: unknown, p: string): string => str(v, p, { pattern: ID_PATTERN })
const proto = (v: unknown, p: string): Proto => oneOf(v, p, PROTOS)
const host = (v: unknown, p: string): string => str(v, p, { pattern: HOST_PATTERN })

/** Parses and validates a frame the coordinator sent. Throws {@link MessageError}. */
export function parseCoordinatorMessage (raw: string | Buffer): CoordinatorMessage {
  const m = parseFrame(raw, MAX_COORDINATOR_FRAME_BYTES)
  return guarded(() => assertCoordinatorMessage(m))
}

function probeOrder (v: unknown, p: string): ProbeOrder {
  const o = obj(v, p)
  onlyKeys(o, p, ['id', 'protocol', 'host', 'port', 'nonce', 'timeoutMs', 'need', 'held', 'family'])
  return {
    id: int(o.id, `${p}.id`, 0, 2 ** 31),
    protocol: proto(o.protocol, `${p}.protocol`),
    host: host(o.host, `${p}.host`),
    port: port(o.port, `${p}.port`),
    nonce: str(o.nonce, `${p}.nonce`, { pattern: NONCE_RE }),
    timeoutMs: int(o.timeoutMs, `${p}.timeoutMs`, 1, MAX_PROBE_TIMEOUT_MS),
    ...(o.need !== undefined ? { need: int(o.need, `${p}.need`, 1, MAX_ATTEMPTS_PER_ROUND) } : {}),
    ...(o.held !== undefined ? { held: bool(o.held, `${p}.held`) } : {}),
    ...(o.family !== undefined ? { family: oneOf(o.family, `${p}.family`, ADDRESS_FAMILIES) } : {})
  }
}

/** Validates an already-parsed coordinator message; returns it rebuilt and typed. Throws {@link GuardError}. */
export function assertCoordinatorMessage (m: Obj): CoordinatorMessage {
  const type = str(m.type, 'type', { max: 32 })
  switch (type) {
    case 'welcome':
      onlyKeys(m, '', ['type', 'protocol', 'agentId', 'heartbeatMs'])
      return { type, protocol: int(m.protocol, 'protocol', 1, 1000), agentId: str(m.agentId, 'agentId', { max: 128 }), heartbeatMs: int(m.heartbeatMs, 'heartbeatMs', 100, 3_600_000) }
    case 'rejected':
      onlyKeys(m, '', ['type', 'code', 'message', 'fatal'])
      return { type, code: str(m.code, 'code', { max: 64 }), message: str(m.message, 'message', { max: 2048 }), fatal: bool(m.fatal, 'fatal') }
    case 'run-start':
      onlyKeys(m, '', ['type', 'runId', 'ttlMs', 'listeners', 'peers'])
      return {
        type,
        runId: runId(m.runId, 'runId'),
        ttlMs: int(m.ttlMs, 'ttlMs', 1, 24 * 3_600_000),
        peers: arr(m.peers, 'peers', MAX_PEERS).map((v, i) => host(v, `peers[${i}]`)),
        listeners: arr(m.listeners, 'listeners', MAX_LISTENERS_PER_FRAME).map((v, i) => {
          const p = `listeners[${i}]`
          const o = obj(v, p)
          onlyKeys(o, p, ['protocol', 'port'])
          return { protocol: proto(o.protocol, `${p}.protocol`), port: port(o.port, `${p}.port`) }
        })
      }
    case 'probe':
      onlyKeys(m, '', ['type', 'runId', 'round', 'concurrency', 'adaptive', 'rttHints', 'refs', 'probes'])
      return {
        type,
        runId: runId(m.runId, 'runId'),
        round: int(m.round, 'round', 1, 100),
        concurrency: int(m.concurrency, 'concurrency', 1, 65535),
        ...(m.adaptive !== undefined ? { adaptive: bool(m.adaptive, 'adaptive') } : {}),
        ...(m.rttHints !== undefined
          ? {
              rttHints: arr(m.rttHints, 'rttHints', MAX_PROBES_PER_FRAME).map((v, i) => {
                const o = obj(v, `rttHints[${i}]`)
                onlyKeys(o, `rttHints[${i}]`, ['host', 'ms'])
                return { host: host(o.host, `rttHints[${i}].host`), ms: num(o.ms, `rttHints[${i}].ms`, 0, MAX_PROBE_TIMEOUT_MS) }
              })
            }
          : {}),
        ...(m.refs !== undefined
          ? {
              refs: arr(m.refs, 'refs', MAX_PROBES_PER_FRAME).map((v, i) => {
                const o = obj(v, `refs[${i}]`)
                onlyKeys(o, `refs[${i}]`, ['host', 'port'])
                return { host: host(o.host, `refs[${i}].host`), port: port(o.port, `refs[${i}].port`) }
              })
            }
          : {}),
        probes: arr(m.probes, 'probes', MAX_PROBES_PER_FRAME).map((v, i) => probeOrder(v, `probes[${i}]`))
      }
    case 'flush':
      onlyKeys(m, '', ['type', 'runId', 'seq'])
      return { type, runId: runId(m.runId, 'runId'), seq: int(m.seq, 'seq', 0, 2 ** 31) }
    case 'run-end':
      onlyKeys(m, '', ['type', 'runId'])
      return { type, runId: runId(m.runId, 'runId') }
    case 'trace-start':
    case 'trace-stop':
    case 'count-start':
      return assertNftOrder(m, type)
    default:
      throw new GuardError('type', `unknown coordinator message type "${type}"`)
  }
}
