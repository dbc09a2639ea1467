import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, WebSocket } from 'ws'
import type { Logger } from 'pino'
import {
  MAX_AGENT_FRAME_BYTES, MISSED_HEARTBEATS, PROTOCOL_VERSION, MessageError, parseAgentMessage,
  type AgentMessage, type CoordinatorMessage, type HelloMessage
} from '@portcheck/protocol'
import { credentialMatches } from '../security/credentials.js'
import { RefusalLog } from '../security/refusal-log.js'
import { cut } from '../quote.js'
import type { AgentRecord, RefusedAgent } from './agent-record.js'
import { LaunchBoard } from './launch-board.js'

import { AgentConnection } from './agent-connection.js'

export type { AgentRecord } from './agent-record.js'
export { AgentConnection } from './agent-connection.js'

/** Options of {@link AgentHub}. */
export interface AgentHubOptions {
  /** The join token: each agent proves its host name with a credential derived from it (an HMAC). */
  token: string
  /** The inventory's host names: an agent under any other name is refused. */
  names: readonly string[]
  logger: Logger
  /** Heartbeat ping interval, in ms; an agent that misses six in a row is dropped. Default 10000. */
  heartbeatMs?: number
  /**
   * Time an agent has to say hello after connecting, in ms. Default 10000: a hello on a link that
   * loses 20% of its packets can sit behind several TCP retransmissions.
   */
  helloTimeoutMs?: number
  /** Agent connections at once from one address (before and after hello). Default 32. */
  maxPerAddress?: number
}

interface HubEvents {
  joined: [AgentConnection]
  left: [AgentConnection, string]
  message: [AgentConnection, AgentMessage]
}

let nextAgentId = 1

/** Refused names kept, the latest ones: enough to spot a typo, bounded whatever a flood sends. */
const MAX_REFUSED_KEPT = 20

/**
 * Accepts agent connections on the coordinator's HTTP server (`noServer` mode): checks the
 * token on the upgrade request, validates every frame, keeps one live connection per agent
 * name, pings them, and emits `joined`, `left` and `message`.
 */
export class AgentHub extends EventEmitter<HubEvents> {
  private readonly wss: WebSocketServer
  private readonly live = new Map<string, AgentConnection>()
  private readonly known = new Map<string, AgentRecord>()
  private readonly heartbeat: NodeJS.Timeout
  private readonly logger: Logger
  private readonly heartbeatMs: number
  private readonly helloTimeoutMs: number
  private readonly refusals: RefusalLog
  private readonly names: ReadonlySet<string>
  private readonly perAddress = new Map<string, number>()
  private readonly refusedNames: RefusedAgent[] = []
  private closing = false
  /** Hosts whose agents the coordinator launches itself (`--launch ssh`), and how each launch went. */
  readonly launches = new LaunchBoard()

  constructor (private readonly options: AgentHubOptions) {
    super()
    this.logger = options.logger
    this.heartbeatMs = options.heartbeatMs ?? 10_000
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000
    this.refusals = new RefusalLog(this.logger)
    this.names = new Set(options.names)
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: true })
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs)
    this.heartbeat.unref()
  }

  /** The live connection of an agent, if it is connected. */
  get (name: string): AgentConnection | undefined {
    return this.live.get(name)
  }

  /** Every agent ever registered, connected or lost. */
  records (): AgentRecord[] {
    return [...this.known.values()]
  }

  /** Names of the connected agents. */
  connectedNames (): string[] {
    return [...this.live.keys()]
  }

  /** The latest agents refused for a name outside the inventory, newest last (at most {@link MAX_REFUSED_KEPT}). */
  refused (): RefusedAgent[] {
    return [...this.refusedNames]
  }

  private noteRefused (name: string, remoteAddress: string, why: string): void {
    this.refusedNames.push({ name, remoteAddress, at: Date.now(), why })
    if (this.refusedNames.length > MAX_REFUSED_KEPT) this.refusedNames.shift()
  }

  /**
   * Handles an HTTP upgrade to the agent path. No secret travels in the upgrade: the agent first
   * checks the coordinator's TLS key against its pin, then proves its name in `hello`. Until then
   * a connection costs little and not for long: a few per address, 5 s to say hello.
   */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = normalize(req.socket.remoteAddress ?? '')
    const max = this.options.maxPerAddress ?? 32
    if ((this.perAddress.get(remote) ?? 0) >= max) {
      this.refusals.note('agent connection refused: too many connections from one address', { remote, limit: max })
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      socket.destroy()
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req))
  }

  /** Closes every agent connection and stops the heartbeat. */
  async close (): Promise<void> {
    this.closing = true
    clearInterval(this.heartbeat)
    this.refusals.stop()
    for (const ws of this.wss.clients) ws.close(1001, 'coordinator shutting down')
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate()
        resolve()
      }, 1000)
      t.unref()
      const check = (): void => {
        if (this.wss.clients.size === 0) { clearTimeout(t); resolve() } else setTimeout(check, 20).unref()
      }
      check()
    })
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private beat (): void {
    for (const conn of this.live.values()) {
      conn.missed = conn.alive ? 0 : conn.missed + 1
      // Six in a row, as agents do: on a lossy link a pong can sit behind TCP retransmissions,
      // whose timeouts double each time (20% loss both ways has been seen to stall a connection for
      // 30 s), and an agent dropped for that would turn its checks into agent-lost.
      if (conn.missed >= MISSED_HEARTBEATS) {
        this.logger.warn({ agent: conn.name, missed: conn.missed }, 'agent missed its heartbeats; dropping it')
        conn.terminate()
        continue
      }
      conn.alive = false
      conn.ping()
    }
  }

  private accept (ws: WebSocket, req: IncomingMessage): void {
    const remote = normalize(req.socket.remoteAddress ?? '')
    this.perAddress.set(remote, (this.perAddress.get(remote) ?? 0) + 1)
    let conn: AgentConnection | null = null
    // Set once this connection is being closed (no hello in time, a refused hello, an invalid
    // message): nothing it sends during the close handshake is read. A hello that a lossy link
    // delivers after the timer fired must not register an agent whose connection is about to
    // go, or the agent counts as joined, leaves, and a run started in between turns its checks
    // into agent-lost (seen in the field lab at 20% loss).
    let refused = false
    const helloTimer = setTimeout(() => {
      refused = true
      this.refusals.note('agent connection closed: no hello in time', { remote })
      ws.close(1008, 'hello expected')
      setTimeout(() => ws.terminate(), 1000).unref()
    }, this.helloTimeoutMs)

    ws.on('pong', (data: Buffer) => {
      // A nudge (a pong the agent sends unasked after its messages) shows it alive, but it answers
      // no heartbeat: it must not feed the round-trip estimate.
      if (conn !== null) { conn.alive = true; conn.record.lastSeen = Date.now(); if (data.length === 0) conn.ponged() }
    })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (refused) return
      let msg: AgentMessage
      try {
        if (isBinary) throw new MessageError('binary frames are not part of the protocol')
        msg = parseAgentMessage(data)
      } catch (err) {
        const other = conn === null ? otherProtocol(data, isBinary) : null
        if (other !== null) {
          // An agent of another protocol version sends a hello this version's schema cannot read:
          // tell it which version to install rather than "invalid message".
          this.refusals.note('agent refused: another protocol version', { remote, protocol: other })
          refused = true
          ws.send(JSON.stringify({ type: 'rejected', code: 'PC_ERR_PROTOCOL_VERSION', message: versionMessage(other), fatal: true } satisfies CoordinatorMessage))
          ws.close(1008, 'PC_ERR_PROTOCOL_VERSION')
          return
        }
        refused = true
        if (conn === null) this.refusals.note('agent connection closed: invalid message before hello', { remote, err: { message: cut((err as Error).message) } })
        else this.logger.warn({ agent: conn.name, remote, err: { message: cut((err as Error).message) } }, 'invalid message from agent; closing its connection')
        ws.close(1008, 'invalid message')
        return
      }
      if (conn === null) {
        if (msg.type !== 'hello') {
          refused = true
          this.refusals.note('agent connection closed: a message before hello', { remote, type: msg.type })
          ws.close(1008, 'hello expected')
          return
        }
        clearTimeout(helloTimer)
        conn = this.register(ws, msg, remote)
        // A refused hello closes the connection: nothing more from it is read.
        if (conn === null) refused = true
        return
      }
      if (msg.type === 'hello') {
        this.logger.warn({ agent: conn.name }, 'agent said hello twice; closing')
        refused = true
        ws.close(1008, 'duplicate hello')
        return
      }
      conn.alive = true
      conn.record.lastSeen = Date.now()
      conn.acknowledge()
      this.emit('message', conn, msg)
    })
    ws.on('error', (err) => this.logger.debug({ remote, err }, 'agent socket error'))
    ws.on('close', (code, reason) => {
      clearTimeout(helloTimer)
      const left = (this.perAddress.get(remote) ?? 1) - 1
      if (left > 0) this.perAddress.set(remote, left)
      else this.perAddress.delete(remote)
      if (conn === null || this.live.get(conn.name) !== conn) return
      this.live.delete(conn.name)
      const why = reason.length > 0 ? reason.toString() : `connection closed (${code})`
      conn.record.state = 'lost'
      conn.record.disconnectedAt = Date.now()
      conn.record.lostReason = why
      // Agents leaving because we shut down, or stop the ones we launched, is expected; anything else deserves a warning.
      const expected = this.closing || this.launches.get(conn.name)?.state === 'stopping'
      this.logger[expected ? 'info' : 'warn']({ agent: conn.name, code, reason: why }, 'agent disconnected')
      this.emit('left', conn, why)
    })
  }

  private register (ws: WebSocket, hello: HelloMessage, remote: string): AgentConnection | null {
    const reject = (code: string, message: string, fatal: boolean): null => {
      ws.send(JSON.stringify({ type: 'rejected', code, message, fatal } satisfies CoordinatorMessage))
      ws.close(1008, code)
      return null
    }
    if (hello.protocol !== PROTOCOL_VERSION) {
      this.refusals.note('agent refused: another protocol version', { agent: hello.name, remote, protocol: hello.protocol })
      return reject('PC_ERR_PROTOCOL_VERSION', versionMessage(hello.protocol), true)
    }
    const authentic = credentialMatches(hello.credential, this.options.token, hello.name)
    if (!this.names.has(hello.name)) {
      this.refusals.note('agent refused: its name is not in the inventory', { agent: hello.name, remote })
      this.noteRefused(hello.name, remote, authentic ? 'not in the inventory' : 'not in the inventory, and a wrong credential')
      // The inventory's names only to an agent that proves it holds the join token's credential
      // for the name it gave (a host removed from the inventory): to anyone else, nothing.
      if (!authentic) return reject('PC_ERR_AGENT_AUTH', `the coordinator does not accept "${hello.name}" with this credential: a name not in its inventory, or a join token that changed since the join command was printed; run the join command it prints now`, true)
      const list = [...this.names].join(', ')
      return reject('PC_ERR_AGENT_UNKNOWN', `"${hello.name}" is not a host of this coordinator's inventory; its hosts are: ${cut(list)}. Run the join command printed for this host`, true)
    }
    if (!authentic) {
      this.refusals.note('agent refused: wrong credential', { agent: hello.name, remote })
      return reject('PC_ERR_AGENT_AUTH', `the coordinator does not accept this credential for "${hello.name}": its join token changed since the join command was printed (a new coordinator, or another --state-dir or --token); run the join command it prints now`, true)
    }
    const existing = this.live.get(hello.name)
    if (existing !== undefined) {
      if (existing.instance !== hello.instance && existing.alive && existing.open) {
        this.refusals.note('agent refused: its name is already connected', { agent: hello.name, remote, existing: existing.record.remoteAddress })
        return reject('PC_ERR_AGENT_DUPLICATE', `an agent named "${hello.name}" is already connected from ${existing.record.remoteAddress}: give each host its own --name`, false)
      }
      // The same agent reconnecting (or a dead connection not yet noticed): the new one wins.
      this.live.delete(hello.name)
      existing.record.state = 'lost'
      existing.record.disconnectedAt = Date.now()
      existing.record.lostReason = 'replaced by a new connection'
      existing.terminate()
      this.emit('left', existing, 'replaced by a new connection')
    }
    const now = Date.now()
    const record: AgentRecord = {
      name: hello.name,
      state: 'connected',
      agentId: `a${nextAgentId++}`,
      version: hello.version,
      hostname: hello.hostname,
      platform: hello.platform,
      remoteAddress: remote,
      bind: hello.bind,
      addresses: hello.addresses,
      nftables: hello.nftables ?? { usable: false, why: 'its agent does not say it can use nftables' },
      connectedAt: now,
      lastSeen: now,
      disconnectedAt: null,
      lostReason: null
    }
    const conn = new AgentConnection(record, ws, hello.instance)
    this.live.set(hello.name, conn)
    this.known.set(hello.name, record)
    conn.send({ type: 'welcome', protocol: PROTOCOL_VERSION, agentId: record.agentId, heartbeatMs: this.heartbeatMs })
    // A first round trip right away: adaptive timeouts use it before the first heartbeat.
    conn.ping()
    this.logger.info({ agent: hello.name, remote: record.remoteAddress, version: hello.version }, 'agent joined')
    this.emit('joined', conn)
    return conn
  }
}

const normalize = (a: string): string => a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a

/** The refusal text for an agent of another protocol version. */
function versionMessage (protocol: number): string {
  return `this coordinator speaks protocol ${PROTOCOL_VERSION}, the agent ${protocol}: run the agent this coordinator serves (its join command fetches it)`
}

/**
 * The protocol version of a frame that is a `hello` of another version, else null: read before
 * validation, which only knows this version's shape.
 */
function otherProtocol (data: Buffer, isBinary: boolean): number | null {
  if (isBinary) return null
  try {
    const m: unknown = JSON.parse(data.toString('utf8'))
    if (typeof m !== 'object' || m === null) return null
    const { type, protocol } = m as { type?: unknown, protocol?: unknown }
    return type === 'hello' && Number.isSafeInteger(protocol) && protocol !== PROTOCOL_VERSION ? protocol as number : null
  } catch {
    return null
  }
}
