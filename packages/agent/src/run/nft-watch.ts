import net from 'node:net'
import type { Logger } from 'pino'
import {
  MAX_TRACE_MS, MAX_UNWATCHED_DEVICES, type AcceptedConnection, type AgentMessage, type ArrivalCount, type CountStartMessage, type NftablesState, type Proto, type TraceStartMessage
} from '@portcheck/protocol'
import { ArrivalCounter } from '../nft/counter.js'
import { ownTableName } from '../nft/own-tables.js'
import { Tracer } from '../nft/tracer.js'
import type { SourceWatch, TargetWatch } from '../nft/watch-rules.js'

/** What a run's nftables watch needs of its run. */
export interface NftWatchOptions {
  runId: string
  /** Whether this agent can use nftables at all. */
  nft: NftablesState
  /** The agent's instance id: its tables' names. */
  instance: string
  send: (msg: AgentMessage) => void
  logger: Logger
  /** Whether the run ordered a listener on this protocol and port. */
  listens: (protocol: Proto, port: number) => boolean
  /** Whether another process held this port when the run's listeners opened. */
  inUse: (protocol: Proto, port: number) => boolean
  /** Whether this run's probe orders named this host and this protocol and port. */
  probed: (protocol: Proto, host: string, port: number) => boolean
  /** Where a peer resolves to; null for a host that is not a peer of the run. */
  addressOf: (host: string) => Promise<string | null>
  /** Longest a trace runs, in ms. Default {@link MAX_TRACE_MS}; never more. */
  traceMs?: number
}

/**
 * A run's use of nftables: at most one trace (drop localization) and one set of counters (UDP
 * arrivals), each in a temporary table of the agent's own, deleted when done and at the latest
 * when the run ends. Orders are checked against the run itself: a trace only ever concerns a
 * probe this run made to one of its peers, or a port this run listens on; counting, a port of
 * the run that another process holds. Whatever the coordinator asks, nothing else is watched.
 */
export class NftWatch {
  private tracer: Tracer | null = null
  private tracing: Promise<void> | null = null
  private traced = false
  private timer: NodeJS.Timeout | undefined
  private reported = false
  private counter: ArrivalCounter | null = null
  private counting = false
  private ended = false

  constructor (private readonly opts: NftWatchOptions) {}

  /** `trace-start`: checks every order, adds the trace table, starts watching; answers `trace-ready`. */
  trace (msg: TraceStartMessage): void {
    this.tracing = this.startTrace(msg)
  }

  private async startTrace (msg: TraceStartMessage): Promise<void> {
    const { runId, send } = this.opts
    const refuse = (error: string): void => { send({ type: 'trace-ready', runId, error }) }
    if (!this.opts.nft.usable) { refuse(this.opts.nft.why ?? 'nftables cannot be used'); return }
    if (this.traced || this.ended) { refuse(this.ended ? 'the run has ended' : 'this run was traced already'); return }
    this.traced = true
    const sources: SourceWatch[] = []
    const targets: TargetWatch[] = []
    for (const [i, o] of msg.items.entries()) {
      if (o.role === 'source') {
        const address = o.host !== undefined && this.opts.probed(o.protocol, o.host, o.port) ? await this.opts.addressOf(o.host) : null
        if (address === null) { refuse(`items[${i}]: this run sent no ${o.protocol}/${o.port} probe to ${o.host ?? '?'}`); return }
        sources.push({ id: o.id, protocol: o.protocol, port: o.port, address })
      } else {
        const from = o.from ?? []
        if (!this.opts.listens(o.protocol, o.port)) { refuse(`items[${i}]: this run does not listen on ${o.protocol}/${o.port}`); return }
        if (from.some((a) => net.isIP(a) === 0)) { refuse(`items[${i}].from: not IP addresses`); return }
        targets.push({ id: o.id, protocol: o.protocol, port: o.port, from })
      }
    }
    const tracer = new Tracer(ownTableName('trace', this.opts.instance), sources, targets, this.opts.logger)
    if (!await this.started(tracer, refuse)) return
    this.tracer = tracer
    this.timer = setTimeout(() => { void this.traceStop('the trace reached its time bound') }, Math.min(this.opts.traceMs ?? MAX_TRACE_MS, MAX_TRACE_MS))
    this.opts.logger.info({ runId, sources: sources.length, targets: targets.length }, 'tracing checks to localize drops')
    send({ type: 'trace-ready', runId })
  }

  /** `trace-stop` (or the trace's time bound): deletes the table, stops watching, answers `trace-result` once. */
  async traceStop (why?: string): Promise<void> {
    await this.tracing
    const tracer = this.tracer
    if (tracer === null || this.reported) return
    this.reported = true
    clearTimeout(this.timer)
    const outcome = await tracer.stop()
    const unwatched = outcome.unwatched.slice(0, MAX_UNWATCHED_DEVICES)
    this.opts.send({ type: 'trace-result', runId: this.opts.runId, items: outcome.items, ...(outcome.truncated ? { truncated: true } : {}), ...(unwatched.length > 0 ? { unwatched } : {}), ...(why !== undefined ? { error: why } : {}) })
  }

  /** `count-start`: checks every order, adds the counting table; answers `count-ready`. */
  async count (msg: CountStartMessage): Promise<void> {
    const { runId, send } = this.opts
    const refuse = (error: string): void => { send({ type: 'count-ready', runId, error }) }
    if (!this.opts.nft.usable) { refuse(this.opts.nft.why ?? 'nftables cannot be used'); return }
    if (this.counting || this.ended) { refuse(this.ended ? 'the run has ended' : 'this run counts already'); return }
    this.counting = true
    for (const [i, o] of msg.items.entries()) {
      const proto = o.protocol ?? 'udp'
      if (!this.opts.listens(proto, o.port) || !this.opts.inUse(proto, o.port)) { refuse(`items[${i}]: ${proto}/${o.port} is not a port of this run that another process holds`); return }
      if (o.from.some((a) => net.isIP(a) === 0)) { refuse(`items[${i}].from: not IP addresses`); return }
    }
    const counter = new ArrivalCounter(ownTableName('count', this.opts.instance), msg.items)
    if (!await this.started(counter, refuse)) return
    this.counter = counter
    this.opts.logger.info({ runId, checks: msg.items.length }, 'counting arrivals on ports another process holds')
    send({ type: 'count-ready', runId })
  }

  /** The counts so far, for `flushed`; undefined when not counting. */
  async counts (): Promise<ArrivalCount[] | undefined> {
    if (this.counter === null) return undefined
    try {
      return await this.counter.read()
    } catch (err) {
      this.opts.logger.warn({ err }, 'cannot read the arrival counters')
      return undefined
    }
  }

  /** The TCP SYNs counted since the last call, for `arrived`; none when not counting. */
  async arrived (): Promise<AcceptedConnection[]> {
    if (this.counter === null) return []
    try {
      return await this.counter.arrived()
    } catch (err) {
      this.opts.logger.warn({ err }, 'cannot read the arrival sets')
      return []
    }
  }

  /**
   * Adds one of the run's own tables (a trace, the counters). False when it is not to be used:
   * adding it failed (refused with nft's reason), or the run ended meanwhile (deleted again).
   */
  private async started (table: { start: () => Promise<void>, stop: () => Promise<unknown> }, refuse: (error: string) => void): Promise<boolean> {
    try {
      await table.start()
    } catch (err) {
      refuse((err as Error).message.slice(0, 200))
      return false
    }
    if (this.ended) { await table.stop(); return false }
    return true
  }

  /** Deletes every table of the run's, stopping the trace. Idempotent. */
  async end (): Promise<void> {
    this.ended = true
    clearTimeout(this.timer)
    await this.tracing
    await Promise.all([this.tracer?.stop(), this.counter?.stop()])
  }
}
