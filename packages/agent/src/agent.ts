import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import os from 'node:os'
import type { TLSSocket } from 'node:tls'
import WebSocket from 'ws'
import pino, { type Logger } from 'pino'
import { NUDGE_PAYLOAD, tailNudger } from '@portcheck/protocol/node'
import {
  AGENT_WS_PATH, AGENT_NAME_PATTERN, CREDENTIAL_PATTERN, ErrorCodes, MAX_RUN_TTL_MS, MISSED_HEARTBEATS, MAX_COORDINATOR_FRAME_BYTES, PIN_PATTERN, PROTOCOL_VERSION, PortcheckError,
  type ErrorCode,
  parseCoordinatorMessage, type AgentMessage, type CoordinatorMessage, type NftablesState
} from '@portcheck/protocol'
import { Backoff, agentUrl } from './connection/backoff.js'
import { ConnectionLog, credentialChangedMessage, explainConnectError } from './connection/connection-errors.js'
import { peerPin } from './connection/tls-pin.js'
import { bindListenHosts, defaultListenHosts, type ListenHost } from './listeners/listen-hosts.js'
import { RunSession } from './run/run-session.js'
import { interfaceAddresses } from './connection/interfaces.js'
import { nftUsable } from './nft/nft-command.js'
import { setInstanceAlive, sweepStaleTables } from './nft/own-tables.js'
import { AGENT_VERSION } from './version.js'

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** The coordinator's address, `wss://HOST:PORT` (the `/agent` path is added if missing); `ws://` only with `insecure`. */
  coordinator: string
  /** This host's credential, from the join command the coordinator printed for it (`--token`). */
  token: string
  /**
   * The pin of the coordinator's TLS key (`sha256:` and 64 hex digits), from the join command:
   * the agent says nothing to a coordinator whose key does not match. Without it, the
   * coordinator's certificate must be trusted by this system's CAs.
   */
  pin?: string
  /** Allow a plain `ws://` coordinator (started with `--insecure`): the credential crosses the network in clear. Default false. */
  insecure?: boolean
  /** The host name this agent stands for in the inventory. Default: the OS hostname. */
  name?: string
  /**
   * Local addresses for listeners and outgoing probes, at most one per address family (an IPv4
   * and an IPv6 address on a dual-stack host): probes to a target go from the one of its family.
   * Default: listeners on all addresses of both families (`::` dual-stack, or a socket per
   * family where the system needs it), probes from the address the system picks.
   */
  bind?: string | readonly string[]
  /** Default: a pino logger at `info` to stderr. */
  logger?: Logger
  /** First reconnect delay, in ms. Default 500. */
  reconnectMinMs?: number
  /** Longest reconnect delay, in ms. Default 30000. */
  reconnectMaxMs?: number
  /** WebSocket opening handshake timeout, in ms. Default 10000. */
  handshakeTimeoutMs?: number
  /**
   * How the coordinator's name is resolved, as `net.connect` takes it. Default: the system's
   * resolver (`dns.lookup`).
   */
  lookup?: net.LookupFunction
  /**
   * Use nftables when root: to localize where a blocked check is dropped (a temporary table of
   * the agent's own that traces the check's re-probe), and to count the probe datagrams of UDP
   * ports another process holds. The agent never touches any other table. Default true.
   */
  nftables?: boolean
}

/** Events: `registered` (agentId), `disconnected` (reason), `fatal` (PortcheckError). */
export interface Agent extends EventEmitter {
  /** The name the agent registered under. */
  readonly name: string
  /** Resolves on the first successful registration; rejects if the agent stops fatally before that. */
  readonly registered: Promise<void>
  /** Resolves when the agent has stopped (after close(), or a fatal error). */
  readonly stopped: Promise<PortcheckError | null>
  /** Ends any run (closing its listeners), disconnects and stops reconnecting. */
  close: () => Promise<void>
}

/**
 * The `--bind` addresses, checked: IP addresses, at most one per family. Throws
 * PC_ERR_OPTION_INVALID naming the address that is wrong.
 */
export function parseBinds (bind: string | readonly string[] | undefined): string[] {
  const list = (bind === undefined ? [] : typeof bind === 'string' ? [bind] : [...bind]).flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b !== '')
  const seen = new Map<number, string>()
  for (const b of list) {
    const family = net.isIP(b)
    if (family === 0) throw new PortcheckError('PC_ERR_OPTION_INVALID', `--bind ${b.slice(0, 100)}: not an IP address (give this host's IPv4 and/or IPv6 address)`)
    const other = seen.get(family)
    if (other !== undefined) throw new PortcheckError('PC_ERR_OPTION_INVALID', `--bind ${b}: a second IPv${family} address (the first is ${other}): give at most one address per family`)
    seen.set(family, b)
  }
  return list
}

/**
 * Starts an agent: connects out to the coordinator, registers, and serves runs until
 * closed, reconnecting with backoff whenever the connection drops. A refused token or an
 * incompatible coordinator stops it for good (`fatal`), since retrying cannot help.
 */
export function startAgent (options: AgentOptions): Agent {
  const name = options.name ?? os.hostname()
  if (!AGENT_NAME_PATTERN.test(name)) {
    throw new PortcheckError('PC_ERR_OPTION_INVALID', `invalid agent name "${name}": use letters, digits, dots, dashes and underscores`)
  }
  if (!CREDENTIAL_PATTERN.test(options.token)) throw new PortcheckError('PC_ERR_OPTION_INVALID', 'the credential (--token) is not one a coordinator prints: copy the join command of this host whole')
  const binds = parseBinds(options.bind)
  if (options.pin !== undefined && !PIN_PATTERN.test(options.pin)) throw new PortcheckError('PC_ERR_OPTION_INVALID', `invalid --pin "${options.pin.slice(0, 100)}": expected sha256: and 64 hex digits, as the join command prints it`)
  let url: URL
  try {
    url = agentUrl(options.coordinator, AGENT_WS_PATH, options.insecure === true)
  } catch (err) {
    throw new PortcheckError('PC_ERR_OPTION_INVALID', (err as Error).message)
  }
  if (options.pin !== undefined && url.protocol === 'ws:') throw new PortcheckError('PC_ERR_OPTION_INVALID', '--pin needs a wss:// coordinator: a plain one has no key to check')
  const logger = options.logger ?? pino({ name: 'portcheck-agent' })
  const backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs)
  const failures = new ConnectionLog((cause) => logger.warn({ coordinator: url.host }, `cannot connect to the coordinator: ${cause}`))
  const instance = randomBytes(9).toString('base64url')
  const emitter = new EventEmitter()

  let ws: WebSocket | null = null
  let session: RunSession | null = null
  let closing = false
  let reconnectTimer: NodeJS.Timeout | undefined
  let watchdog: NodeJS.Timeout | undefined
  let listenHosts: ListenHost[] | undefined
  let nftables: NftablesState = { usable: false, why: '--no-nftables' }
  /** The current connection's coordinator said welcome: only then are run orders obeyed. */
  let welcomed = false
  /** Some connection was welcomed: a credential refused later means the coordinator's token changed. */
  let everWelcomed = false
  let resolveRegistered!: () => void
  let rejectRegistered!: (err: Error) => void
  let resolveStopped!: (err: PortcheckError | null) => void
  const registered = new Promise<void>((resolve, reject) => { resolveRegistered = resolve; rejectRegistered = reject })
  registered.catch(() => {})
  const stopped = new Promise<PortcheckError | null>((resolve) => { resolveStopped = resolve })

  // Each burst of messages is followed by a nudge (see tailNudger): at 5% loss, a lost last
  // segment would otherwise hold a run-ready or a flushed for Linux's 200 ms minimum timeout.
  const nudge = tailNudger(() => {
    if (ws !== null && ws.readyState === WebSocket.OPEN) ws.pong(NUDGE_PAYLOAD)
  })
  const send = (msg: AgentMessage): void => {
    if (ws !== null && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(msg))
      nudge()
    }
  }

  const endSession = async (): Promise<void> => {
    const s = session
    session = null
    if (s !== null) await s.end()
  }

  const stop = async (err: PortcheckError | null): Promise<void> => {
    if (closing) return
    closing = true
    clearTimeout(reconnectTimer)
    clearTimeout(watchdog)
    await endSession()
    if (ws !== null) {
      const socket = ws
      await new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) { resolve(); return }
        socket.once('close', () => resolve())
        socket.close(1000, 'agent stopping')
        setTimeout(() => { socket.terminate(); resolve() }, 1000).unref()
      })
    }
    if (err !== null) {
      rejectRegistered(err)
      emitter.emit('fatal', err)
    }
    resolveStopped(err)
  }

  const armWatchdog = (ms: number): void => {
    clearTimeout(watchdog)
    watchdog = setTimeout(() => {
      logger.warn({ coordinator: url.host }, 'no heartbeat from the coordinator; reconnecting')
      ws?.terminate()
    }, ms)
  }

  const handle = (msg: CoordinatorMessage, socket: WebSocket): void => {
    switch (msg.type) {
      case 'welcome':
        if (msg.protocol !== PROTOCOL_VERSION) {
          void stop(new PortcheckError('PC_ERR_PROTOCOL_VERSION', `the coordinator speaks protocol ${msg.protocol}, this agent ${PROTOCOL_VERSION}: install matching versions`))
          return
        }
        backoff.reset()
        welcomed = true
        everWelcomed = true
        // Six missed heartbeats, as the coordinator counts them: a lossy link can stall a live
        // connection for tens of seconds, and giving up on it would close the run's listeners.
        socket.on('ping', () => armWatchdog(msg.heartbeatMs * MISSED_HEARTBEATS))
        armWatchdog(msg.heartbeatMs * MISSED_HEARTBEATS)
        logger.info({ coordinator: url.host, host: name, agentId: msg.agentId }, 'registered with the coordinator')
        resolveRegistered()
        emitter.emit('registered', msg.agentId)
        return
      case 'rejected': {
        const code: ErrorCode = Object.hasOwn(ErrorCodes, msg.code) ? msg.code as ErrorCode : 'PC_ERR_MESSAGE_INVALID'
        const message = code === 'PC_ERR_AGENT_AUTH' && everWelcomed ? credentialChangedMessage(url.host, name) : msg.message
        const err = new PortcheckError(code, message)
        if (msg.fatal) {
          logger.error({ code: msg.code }, `coordinator refused this agent: ${message}`)
          void stop(err)
        } else {
          logger.warn({ code: msg.code }, `coordinator refused this agent for now: ${msg.message}`)
        }
        return
      }
      case 'run-start': {
        // Only a coordinator that welcomed this connection may start anything.
        if (!welcomed) { logger.warn({ runId: msg.runId }, 'ignoring run-start before welcome'); return }
        const previous = session
        if (previous !== null) logger.warn({ runId: previous.runId }, 'a new run started before the previous one ended; closing it')
        // The session exists at once, so a run-end in the same read finds it; its listeners open
        // once the previous run's are closed (consecutive runs use the same ports).
        const s = new RunSession({
          runId: msg.runId,
          peers: msg.peers,
          // Whatever the coordinator says, a run's listeners never outlive MAX_RUN_TTL_MS.
          ttlMs: Math.min(msg.ttlMs, MAX_RUN_TTL_MS),
          listenHosts: listenHosts ?? [{ address: '0.0.0.0', ipv6Only: false }],
          binds,
          nft: nftables,
          instance,
          send,
          logger,
          onEnded: (ended) => { if (session === ended) session = null }
        })
        session = s
        logger.info({ runId: msg.runId, listeners: msg.listeners.length }, 'run started')
        void s.start(msg.listeners, previous?.end())
        return
      }
      case 'probe':
        if (welcomed && session?.runId === msg.runId) session.probe(msg)
        else logger.warn({ runId: msg.runId }, 'ignoring probes for a run this agent was not given')
        return
      case 'flush':
        if (welcomed && session?.runId === msg.runId) session.flush(msg.seq)
        return
      case 'trace-start':
        if (welcomed && session?.runId === msg.runId) session.trace(msg)
        else send({ type: 'trace-ready', runId: msg.runId, error: 'not a run of this agent' })
        return
      case 'trace-stop':
        if (welcomed && session?.runId === msg.runId) session.traceStop()
        return
      case 'count-start':
        if (welcomed && session?.runId === msg.runId) session.count(msg)
        else send({ type: 'count-ready', runId: msg.runId, error: 'not a run of this agent' })
        return
      case 'run-end': {
        const s = session?.runId === msg.runId ? session : null
        void (s?.end() ?? Promise.resolve()).then(() => send({ type: 'run-closed', runId: msg.runId }))
        return
      }
      default: {
        const unreachable: never = msg
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`)
      }
    }
  }

  const scheduleReconnect = (): void => {
    if (closing) return
    const delay = backoff.next()
    logger.debug({ coordinator: url.host, inMs: delay }, 'reconnecting')
    reconnectTimer = setTimeout(connect, delay)
  }

  const connect = (): void => {
    if (closing) return
    const socket = new WebSocket(url, {
      maxPayload: MAX_COORDINATOR_FRAME_BYTES,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
      perMessageDeflate: false,
      // With a pin, the key is checked once connected, before anything is said; without, the
      // certificate must be trusted the usual way.
      rejectUnauthorized: options.pin === undefined
    })
    ws = socket
    welcomed = false
    let explained = false
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0
      res.resume()
      explained = true
      failures.note(status === 404
        ? `${url.host} answered HTTP 404 on ${url.pathname}: not a portcheck coordinator, or another path`
        : status === 429 ? `${url.host} refuses more connections from this address for now (HTTP 429)` : `${url.host} answered HTTP ${status} instead of accepting the agent`)
      socket.terminate()
    })
    socket.on('open', () => {
      if (options.pin !== undefined) {
        const presented = peerPin((socket as unknown as { _socket: TLSSocket })._socket)
        if (presented !== options.pin) {
          logger.error({ coordinator: url.host, expected: options.pin, presented }, 'the coordinator\'s TLS key does not match --pin; saying nothing to it (not retrying)')
          socket.terminate()
          void stop(new PortcheckError('PC_ERR_TLS_PIN', `the coordinator at ${url.host} presented a key whose pin is ${presented ?? 'none'}, not ${options.pin}: it is not the coordinator this join command was made for (or it was re-installed: get its new join command)`))
          return
        }
      }
      failures.reset()
      send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        name,
        credential: options.token,
        instance,
        version: AGENT_VERSION,
        hostname: os.hostname(),
        platform: `${process.platform}-${process.arch} node ${process.version}`,
        pid: process.pid,
        bind: binds,
        addresses: interfaceAddresses(),
        nftables
      })
    })
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      let msg: CoordinatorMessage
      try {
        if (isBinary) throw new Error('binary frames are not part of the protocol')
        msg = parseCoordinatorMessage(data)
      } catch (err) {
        logger.error({ err }, 'invalid message from the coordinator; closing the connection')
        socket.close(1008, 'invalid message')
        return
      }
      // A nudge back carries our TCP acknowledgement once more (see tailNudger): a lost ACK
      // otherwise leaves the coordinator waiting for its retransmission timer, which doubles.
      if (socket === ws) nudge()
      handle(msg, socket)
    })
    socket.on('error', (err) => {
      // Stopped while connecting: ws reports the connection it abandons as an error; it is none.
      if (closing) return
      if (!welcomed && !explained) failures.note(explainConnectError(err, url))
      else logger.debug({ err }, 'connection error')
    })
    socket.on('close', (code, reason) => {
      const wasWelcomed = welcomed
      clearTimeout(watchdog)
      if (ws === socket) ws = null
      void endSession()
      if (closing) return
      // A connection that never got as far as welcome was already explained by its error.
      // 1001 (going away) is a coordinator that shut down on purpose: expected, not a warning.
      if (wasWelcomed) logger[code === 1001 ? 'info' : 'warn']({ coordinator: url.host, code, reason: reason.toString() }, 'disconnected from the coordinator')
      emitter.emit('disconnected', reason.toString())
      scheduleReconnect()
    })
  }

  // Before the first hello: whether nftables can be used here, and the tables of agents that are
  // gone removed (an agent killed outright leaves its temporary table behind).
  const nftReady = options.nftables === false
    ? Promise.resolve()
    : nftUsable().then(async ({ state, listing }) => {
      nftables = state
      // The listing that said nft works is the one swept: one nft process at start-up, not two.
      if (state.usable) await sweepStaleTables(logger, listing ?? undefined)
      else logger.info({ why: state.why }, 'nftables not usable: drops will not be localized on this host')
    })
  setInstanceAlive(instance, true)
  void stopped.then(() => setInstanceAlive(instance, false))
  void Promise.all([binds.length > 0 ? Promise.resolve(bindListenHosts(binds)) : defaultListenHosts(), nftReady]).then(([hosts]) => {
    listenHosts = hosts
    connect()
  })

  return Object.assign(emitter, {
    name,
    registered,
    stopped,
    close: () => stop(null)
  })
}
