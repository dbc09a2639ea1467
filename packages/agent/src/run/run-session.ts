import {
  MAX_ITEMS_PER_FRAME, type AcceptedConnection, type AgentMessage, type CountStartMessage, type ListenOrder, type NftablesState, type ProbeMessage, type ProbeResult,
  type Proto, type Receipt, type TraceStartMessage
} from '@portcheck/protocol'
import type { Logger } from 'pino'
import type { ListenHost } from '../listeners/listen-hosts.js'
import { ListenerSet } from '../listeners/listener-set.js'
import { ProbeRunner } from '../probes/probe-runner.js'
import type { LookupFn } from '../probes/resolver.js'
import { Batcher } from './batcher.js'
import { NftWatch } from './nft-watch.js'

/**
 * How long `flush` waits before answering, in ms: lets datagrams the kernel has already
 * queued on our listeners be read and reported ahead of the `flushed` reply.
 */
const FLUSH_SETTLE_MS = 10

export interface RunSessionOptions {
  runId: string
  /** The hosts the run's probe orders may name; any other is refused. */
  peers: readonly string[]
  /** The session ends by itself after this long, in ms. */
  ttlMs: number
  /** Where listeners bind: one socket per entry. */
  listenHosts: readonly ListenHost[]
  /** The `--bind` addresses (one per family at most): probes go from the one of their target's family; empty for the system's choice. */
  binds: readonly string[]
  send: (msg: AgentMessage) => void
  logger: Logger
  /** Called once when the session ended, for whatever reason. */
  onEnded: (session: RunSession) => void
  /** How target names are resolved. Default: the system resolver. */
  lookup?: LookupFn
  /** Whether the agent can use nftables (drop localization, UDP arrival counting). Default: it cannot. */
  nft?: NftablesState
  /** The agent's instance id, which names its nftables tables. */
  instance?: string
}

/**
 * Everything an agent does for one run: its listeners, its probes, and the receipts and
 * results flowing back. It exists from the moment `run-start` arrives, so a `run-end` right
 * behind it always finds it; it ends on `run-end`, on its TTL, or when the connection drops,
 * and in every case all listeners are closed and all probes stopped.
 */
export class RunSession {
  readonly runId: string
  private readonly listeners: ListenerSet
  private readonly runner: ProbeRunner
  private readonly receipts: Batcher<Receipt>
  private readonly accepted: Batcher<AcceptedConnection>
  private readonly results: Batcher<ProbeResult>
  private readonly ttl: NodeJS.Timeout
  private ending: Promise<void> | null = null
  private readonly watch: NftWatch
  /** `protocol/port` of every listener the run ordered, and of those another process held. */
  private readonly listenKeys = new Set<string>()
  private readonly inUse = new Set<string>()
  /** `protocol/port` of every probe order of the run. */
  private readonly probedPorts = new Set<string>()

  constructor (private readonly opts: RunSessionOptions) {
    this.runId = opts.runId
    const runId = opts.runId
    this.receipts = new Batcher(MAX_ITEMS_PER_FRAME, (items) => opts.send({ type: 'received', runId, items }))
    this.accepted = new Batcher(MAX_ITEMS_PER_FRAME, (items) => opts.send({ type: 'accepted', runId, items }))
    this.results = new Batcher(MAX_ITEMS_PER_FRAME, (results) => opts.send({ type: 'probe-results', runId, results }))
    this.listeners = new ListenerSet(opts.listenHosts, { receipt: (r) => this.receipts.push(r), accepted: (c) => this.accepted.push(c) })
    this.runner = new ProbeRunner({ binds: opts.binds, peers: opts.peers, onResult: (r) => this.results.push(r), ...(opts.lookup !== undefined ? { lookup: opts.lookup } : {}) })
    this.watch = new NftWatch({
      runId,
      nft: opts.nft ?? { usable: false, why: 'nftables not enabled' },
      instance: opts.instance ?? 'agent',
      send: opts.send,
      logger: opts.logger,
      listens: (protocol, port) => this.listenKeys.has(`${protocol}/${port}`),
      inUse: (protocol, port) => this.inUse.has(`${protocol}/${port}`),
      probed: (protocol: Proto, host, port) => this.probedPorts.has(`${protocol}/${port}`) && opts.peers.includes(host),
      addressOf: async (host) => await this.runner.addressOf(host)
    })
    this.ttl = setTimeout(() => {
      opts.logger.warn({ runId }, 'run reached its time limit without run-end; closing its listeners')
      void this.end()
    }, opts.ttlMs)
  }

  get ended (): boolean {
    return this.ending !== null
  }

  /**
   * Opens the run's listeners once `after` has settled (the previous run's listeners are closed:
   * consecutive runs use the same ports), and answers `run-ready`. Ended before that: opens nothing.
   */
  async start (orders: ListenOrder[], after: Promise<void> = Promise.resolve()): Promise<void> {
    await after
    if (this.ended) return
    for (const o of orders) this.listenKeys.add(`${o.protocol}/${o.port}`)
    const { states, refPort } = await this.listeners.openAll(orders)
    if (this.ended) return
    for (const st of states) if (st.state === 'in-use') this.inUse.add(`${st.protocol}/${st.port}`)
    const open = states.filter((s) => s.state === 'open').length
    this.opts.logger.info({ runId: this.runId, listeners: open, failed: states.length - open }, 'listeners ready')
    // A big listener set goes in several frames, each under the coordinator's frame limit.
    for (let i = 0; i < states.length || i === 0; i += MAX_ITEMS_PER_FRAME) {
      const more = i + MAX_ITEMS_PER_FRAME < states.length
      this.opts.send({ type: 'run-ready', runId: this.runId, listeners: states.slice(i, i + MAX_ITEMS_PER_FRAME), refPort, ...(more ? { more: true } : {}) })
    }
  }

  probe (msg: ProbeMessage): void {
    if (this.ended) return
    for (const o of msg.probes) this.probedPorts.add(`${o.protocol}/${o.port}`)
    this.runner.add(msg.probes, msg.concurrency, msg.adaptive === true, msg.rttHints, msg.refs)
  }

  /** `trace-start`: watch these checks' packets with nftables (see {@link NftWatch}). */
  trace (msg: TraceStartMessage): void {
    if (!this.ended) this.watch.trace(msg)
  }

  /** `trace-stop`: stop watching and report what was seen. */
  traceStop (): void {
    void this.watch.traceStop()
  }

  /** `count-start`: count the arrivals of checks whose port another process holds (UDP datagrams, TCP SYNs). */
  count (msg: CountStartMessage): void {
    if (!this.ended) void this.watch.count(msg)
  }

  /** Pushes out every receipt and accepted connection seen so far, then answers `flushed` with the path figures (and the arrival counts, and the UDP listeners a flood reached); SYNs counted go just before, in `arrived`. */
  flush (seq: number): void {
    setTimeout(() => {
      setImmediate(() => {
        if (this.ended) return
        this.listeners.reportPending()
        this.receipts.flush()
        this.accepted.flush()
        this.results.flush()
        // One entry per target host and protocol: a frame holds 2,000 targets' figures. Beyond
        // that (never at the scales portcheck runs), the coordinator falls back to wider samples.
        const paths = this.runner.figures().slice(0, MAX_ITEMS_PER_FRAME)
        void Promise.all([this.watch.counts(), this.watch.arrived(), this.listeners.crowding()]).then(([counts, arrived, crowding]) => {
          if (this.ended) return
          // The SYNs counted on TCP ports another process holds, ahead of the `flushed` they belong to.
          for (let i = 0; i < arrived.length; i += MAX_ITEMS_PER_FRAME) this.opts.send({ type: 'arrived', runId: this.runId, items: arrived.slice(i, i + MAX_ITEMS_PER_FRAME) })
          const crowded = crowding.slice(0, MAX_ITEMS_PER_FRAME)
          this.opts.send({ type: 'flushed', runId: this.runId, seq, paths, ...(counts !== undefined ? { counts } : {}), ...(crowded.length > 0 ? { crowded } : {}) })
        })
      })
    }, FLUSH_SETTLE_MS)
  }

  /** Closes every listener and stops every probe. Idempotent. */
  end (): Promise<void> {
    if (this.ending !== null) return this.ending
    clearTimeout(this.ttl)
    this.runner.stop()
    this.receipts.clear()
    this.accepted.clear()
    this.results.clear()
    // Every nftables table of the run's goes with it, whatever was still running.
    this.ending = Promise.all([this.listeners.closeAll(), this.watch.end()]).then(() => {
      this.opts.logger.info({ runId: this.runId }, 'run closed')
      this.opts.onEnded(this)
    })
    return this.ending
  }
}
