/**
 * The control-channel protocol between agents and the coordinator: JSON text frames over
 * one WebSocket that the agent opens to the coordinator. docs/reference/protocol.md walks
 * through a run message by message.
 *
 * Every frame is validated on arrival by {@link parseAgentMessage} or
 * {@link parseCoordinatorMessage}; anything malformed, unknown or oversized closes the
 * connection instead of being trusted.
 */
import { GuardError, arr, bool, int, num, obj, oneOf, onlyKeys, str, type Obj } from './guards.js'

/** Bumped on any incompatible change to the messages below. */
export const PROTOCOL_VERSION = 1

/** The HTTP path agents upgrade to a WebSocket on. */
export const AGENT_WS_PATH = '/agent'

/** Largest frame the coordinator accepts from an agent, in bytes (1 MiB). */
export const MAX_AGENT_FRAME_BYTES = 1024 * 1024
/** Largest frame an agent accepts from the coordinator, in bytes (8 MiB). */
export const MAX_COORDINATOR_FRAME_BYTES = 8 * 1024 * 1024
/** Most probe orders in one `probe` frame. */
export const MAX_PROBES_PER_FRAME = 2000
/** Most listeners in one `run-start` frame: every port of both protocols. */
export const MAX_LISTENERS_PER_FRAME = 2 * 65535
/** Most results or receipts in one agent frame. */
export const MAX_ITEMS_PER_FRAME = 4000

/** Transport protocols a check can use. */
export type Proto = 'tcp' | 'udp'
export const PROTOS: readonly Proto[] = ['tcp', 'udp']

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/
/** Nonces are base64url, 16 to 64 characters (at least 96 random bits). */
export const NONCE_RE = /^[A-Za-z0-9_-]{16,64}$/
const HOST_RE = /^[A-Za-z0-9.:%_-]{1,253}$/

/** An agent host name, as given with `--name` and in the inventory. */
export const AGENT_NAME_PATTERN = NAME_RE

// ---------------------------------------------------------------- agent -> coordinator

/** First frame of a connection: who the agent is. The token travelled in the upgrade request. */
export interface HelloMessage {
  type: 'hello'
  protocol: number
  /** Host name the agent stands for (matches the inventory). */
  name: string
  /** Random per process: tells a reconnect of the same agent from a second agent with the same name. */
  instance: string
  /** The agent package version. */
  version: string
  hostname: string
  platform: string
  pid: number
  /** The address the agent binds its listeners and probes to, or null for the default. */
  bind: string | null
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

/** Reply to `run-start`, sent once every listener has been bound or has failed to. */
export interface RunReadyMessage {
  type: 'run-ready'
  runId: string
  listeners: ListenerState[]
}

/** How a probe ended, as seen from the source. */
export type ProbeOutcome = 'connected' | 'replied' | 'timeout' | 'refused' | 'unreachable' | 'egress-denied' | 'error'
export const PROBE_OUTCOMES: readonly ProbeOutcome[] = ['connected', 'replied', 'timeout', 'refused', 'unreachable', 'egress-denied', 'error']

/** What came back to the source: our listener's acknowledgement of this nonce, something else, or nothing. */
export type EchoKind = 'ours' | 'other' | 'none'
export const ECHO_KINDS: readonly EchoKind[] = ['ours', 'other', 'none']

export interface ProbeResult {
  /** The probe order's id. */
  id: number
  outcome: ProbeOutcome
  /** System error code behind `refused`, `unreachable`, `egress-denied` or `error`. */
  error?: string
  /** TCP: time to complete the handshake; UDP: round trip to our echo; null when neither happened. In ms. */
  latencyMs: number | null
  /** Datagrams sent (UDP) or connections attempted (TCP). */
  attempts: number
  echo: EchoKind
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

/** Reply to `flush`: every receipt the agent saw before it is already on the wire. */
export interface FlushedMessage {
  type: 'flushed'
  runId: string
  seq: number
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
  | FlushedMessage
  | RunClosedMessage

// ---------------------------------------------------------------- coordinator -> agent

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

/** Starts a run on an agent: open these listeners, then answer `run-ready`. */
export interface RunStartMessage {
  type: 'run-start'
  runId: string
  /** The agent ends the run by itself after this long, in ms, if no `run-end` comes. */
  ttlMs: number
  listeners: ListenOrder[]
}

export interface ProbeOrder {
  id: number
  protocol: Proto
  /** The target's address from the inventory. */
  host: string
  port: number
  nonce: string
  /** Give up after this long, in ms. */
  timeoutMs: number
}

/** Probes to send for the current run; may come in several frames. */
export interface ProbeMessage {
  type: 'probe'
  runId: string
  /** Most probes in flight at once on this agent. */
  concurrency: number
  /**
   * Give up on each probe after a deadline learnt from the round trips this agent measures during
   * the run (never more than the order's `timeoutMs`), instead of after `timeoutMs` itself.
   */
  adaptive?: boolean
  /**
   * With `adaptive`: for target hosts, an upper estimate of the round trip to them, in ms (this
   * agent's control-channel RTT plus the target's), used until the agent has measured its own.
   */
  rttHints?: Array<{ host: string, ms: number }>
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

// ---------------------------------------------------------------- validation

/** Raised for a frame that must not be trusted; the receiver closes the connection. */
export class MessageError extends Error {
  readonly code = 'PC_ERR_MESSAGE_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'MessageError'
  }
}

const port = (v: unknown, p: string): number => int(v, p, 1, 65535)
const runId = (v: unknown, p: string): string => str(v, p, { pattern: ID_RE })
const nonce = (v: unknown, p: string): string => str(v, p, { pattern: NONCE_RE })
const proto = (v: unknown, p: string): Proto => oneOf(v, p, PROTOS)

function parseJson (raw: string | Buffer, maxBytes: number): Obj {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length
  if (size > maxBytes) throw new MessageError(`frame of ${size} bytes exceeds the ${maxBytes}-byte limit`)
  let v: unknown
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'))
  } catch {
    throw new MessageError('frame is not valid JSON')
  }
  return obj(v, 'message')
}

function wrap<T> (fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof GuardError) throw new MessageError(err.message)
    throw err
  }
}

function errorCode (o: Obj, p: string): void {
  if (o.error !== undefined) str(o.error, `${p}.error`, { max: 64 })
}


/** Parses and validates a frame an agent sent. Throws {@link MessageError}. */
export function parseAgentMessage (raw: string | Buffer): AgentMessage {
  return wrap(() => assertAgentMessage(parseJson(raw, MAX_AGENT_FRAME_BYTES)))
}

/**
 * Validates an already-parsed agent message in place and returns it typed. Nothing is copied:
 * frames carry thousands of receipts, and a validator that rebuilt each one would double the
 * coordinator's garbage at scale. Unknown fields anywhere are refused, so what passes is
 * exactly the declared shape.
 */
export function assertAgentMessage (m: Obj): AgentMessage {
  const type = str(m.type, 'type', { max: 32 })
  switch (type) {
    case 'hello':
      onlyKeys(m, '', ['type', 'protocol', 'name', 'instance', 'version', 'hostname', 'platform', 'pid', 'bind'])
      int(m.protocol, 'protocol', 1, 1000)
      str(m.name, 'name', { pattern: NAME_RE })
      str(m.instance, 'instance', { pattern: ID_RE })
      str(m.version, 'version', { max: 64 })
      str(m.hostname, 'hostname', { max: 253 })
      str(m.platform, 'platform', { max: 64 })
      int(m.pid, 'pid', 0, 2 ** 31)
      if (m.bind !== null) str(m.bind, 'bind', { pattern: HOST_RE })
      return m as unknown as HelloMessage
    case 'run-ready': {
      onlyKeys(m, '', ['type', 'runId', 'listeners'])
      runId(m.runId, 'runId')
      const list = arr(m.listeners, 'listeners', MAX_LISTENERS_PER_FRAME)
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
    case 'probe-results': {
      onlyKeys(m, '', ['type', 'runId', 'results'])
      runId(m.runId, 'runId')
      const list = arr(m.results, 'results', MAX_ITEMS_PER_FRAME)
      for (let i = 0; i < list.length; i++) {
        const p = `results[${i}]`
        const o = obj(list[i], p)
        onlyKeys(o, p, ['id', 'outcome', 'error', 'latencyMs', 'attempts', 'echo'])
        int(o.id, `${p}.id`, 0, 2 ** 31)
        oneOf(o.outcome, `${p}.outcome`, PROBE_OUTCOMES)
        errorCode(o, p)
        if (o.latencyMs !== null) num(o.latencyMs, `${p}.latencyMs`, 0, 3_600_000)
        int(o.attempts, `${p}.attempts`, 0, 1000)
        oneOf(o.echo, `${p}.echo`, ECHO_KINDS)
      }
      return m as unknown as ProbeResultsMessage
    }
    case 'received': {
      onlyKeys(m, '', ['type', 'runId', 'items'])
      runId(m.runId, 'runId')
      const list = arr(m.items, 'items', MAX_ITEMS_PER_FRAME)
      for (let i = 0; i < list.length; i++) {
        const p = `items[${i}]`
        const o = obj(list[i], p)
        onlyKeys(o, p, ['protocol', 'port', 'nonce', 'address', 'remotePort'])
        proto(o.protocol, `${p}.protocol`)
        port(o.port, `${p}.port`)
        nonce(o.nonce, `${p}.nonce`)
        str(o.address, `${p}.address`, { pattern: HOST_RE })
        int(o.remotePort, `${p}.remotePort`, 0, 65535)
      }
      return m as unknown as ReceivedMessage
    }
    case 'flushed':
      onlyKeys(m, '', ['type', 'runId', 'seq'])
      runId(m.runId, 'runId')
      int(m.seq, 'seq', 0, 2 ** 31)
      return m as unknown as FlushedMessage
    case 'run-closed':
      onlyKeys(m, '', ['type', 'runId'])
      runId(m.runId, 'runId')
      return m as unknown as RunClosedMessage
    default:
      throw new GuardError('type', `unknown agent message type "${type}"`)
  }
}

/** Parses and validates a frame the coordinator sent. Throws {@link MessageError}. */
export function parseCoordinatorMessage (raw: string | Buffer): CoordinatorMessage {
  return wrap(() => assertCoordinatorMessage(parseJson(raw, MAX_COORDINATOR_FRAME_BYTES)))
}

/** Validates an already-parsed coordinator message; returns it typed. */
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
      onlyKeys(m, '', ['type', 'runId', 'ttlMs', 'listeners'])
      return {
        type,
        runId: runId(m.runId, 'runId'),
        ttlMs: int(m.ttlMs, 'ttlMs', 1, 24 * 3_600_000),
        listeners: arr(m.listeners, 'listeners', MAX_LISTENERS_PER_FRAME).map((v, i) => {
          const p = `listeners[${i}]`
          const o = obj(v, p)
          onlyKeys(o, p, ['protocol', 'port'])
          return { protocol: proto(o.protocol, `${p}.protocol`), port: port(o.port, `${p}.port`) }
        })
      }
    case 'probe':
      onlyKeys(m, '', ['type', 'runId', 'concurrency', 'adaptive', 'rttHints', 'probes'])
      return {
        type,
        runId: runId(m.runId, 'runId'),
        concurrency: int(m.concurrency, 'concurrency', 1, 65535),
        ...(m.adaptive !== undefined ? { adaptive: bool(m.adaptive, 'adaptive') } : {}),
        ...(m.rttHints !== undefined
          ? {
              rttHints: arr(m.rttHints, 'rttHints', MAX_PROBES_PER_FRAME).map((v, i) => {
                const o = obj(v, `rttHints[${i}]`)
                onlyKeys(o, `rttHints[${i}]`, ['host', 'ms'])
                return { host: str(o.host, `rttHints[${i}].host`, { pattern: HOST_RE }), ms: num(o.ms, `rttHints[${i}].ms`, 0, 600_000) }
              })
            }
          : {}),
        probes: arr(m.probes, 'probes', MAX_PROBES_PER_FRAME).map((v, i) => {
          const p = `probes[${i}]`
          const o = obj(v, p)
          onlyKeys(o, p, ['id', 'protocol', 'host', 'port', 'nonce', 'timeoutMs'])
          return {
            id: int(o.id, `${p}.id`, 0, 2 ** 31),
            protocol: proto(o.protocol, `${p}.protocol`),
            host: str(o.host, `${p}.host`, { pattern: HOST_RE }),
            port: port(o.port, `${p}.port`),
            nonce: nonce(o.nonce, `${p}.nonce`),
            timeoutMs: int(o.timeoutMs, `${p}.timeoutMs`, 1, 600_000)
          }
        })
      }
    case 'flush':
      onlyKeys(m, '', ['type', 'runId', 'seq'])
      return { type, runId: runId(m.runId, 'runId'), seq: int(m.seq, 'seq', 0, 2 ** 31) }
    case 'run-end':
      onlyKeys(m, '', ['type', 'runId'])
      return { type, runId: runId(m.runId, 'runId') }
    default:
      throw new GuardError('type', `unknown coordinator message type "${type}"`)
  }
}
