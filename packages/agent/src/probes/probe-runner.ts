import { setMaxListeners } from 'node:events'
import net from 'node:net'
import type { AddressFamily, ProbeOrder, ProbeResult, ReferenceEndpoint } from '@portcheck/protocol'
import { isLoopback, isUnspecified } from '@portcheck/protocol/node'
import { localAddressFor } from '../listeners/listen-hosts.js'
import { SocketBudget, type ProbeContext } from './attempt-clock.js'
import { PathTable } from './path-table.js'
import { ReferenceStream } from './reference-stream.js'
import { Resolver, type LookupFn } from './resolver.js'
import { tcpProbe } from './tcp-probe.js'
import { udpProbe } from './udp-probe.js'

/** Runs one probe against a resolved address; injectable for tests of the runner itself. */
export type ProbeFn = (order: ProbeOrder, address: string, localAddress: string | undefined, signal: AbortSignal, ctx: ProbeContext) => Promise<ProbeResult>

const byProtocol: ProbeFn = (order, address, localAddress, signal, ctx) =>
  order.protocol === 'tcp' ? tcpProbe(order, address, localAddress, signal, ctx) : udpProbe(order, address, localAddress, signal, ctx)

/** Options of {@link ProbeRunner}. */
export interface ProbeRunnerOptions {
  /** The `--bind` addresses, at most one per family: probes go from the one of their target's family. Empty: the system's choice. */
  binds: readonly string[]
  /** The hosts probe orders may name (the run's peers); any other order is refused. */
  peers: readonly string[]
  onResult: (result: ProbeResult) => void
  probe?: ProbeFn
  lookup?: LookupFn
  /** Sockets all probes may hold at once. Default 768. */
  socketBudget?: number
}

/**
 * Runs one run's probe orders with at most `concurrency` in flight, in the order given, and
 * hands each result to `onResult` as soon as it is known. Orders can keep arriving while it
 * runs. Target names are resolved once, before their first probe. While probes to a host are
 * pending, it also exchanges with that host's reference listener, so every path is measured
 * (round trip and loss) even when every port checked on it is dropped.
 */
export class ProbeRunner {
  private readonly queue: ProbeOrder[] = []
  private head = 0
  private active = 0
  private concurrency = 1
  private readonly controller = ((c: AbortController): AbortController => {
    // Every probe in flight listens on this one signal (hundreds at once): that is by design.
    setMaxListeners(0, c.signal)
    return c
  })(new AbortController())

  private readonly paths = new PathTable()
  private readonly ctx: ProbeContext
  private readonly resolver: Resolver
  private readonly probe: ProbeFn
  /** Probes queued or running, per target host. */
  private readonly pendingByHost = new Map<string, number>()
  private readonly refs = new Map<string, number>()
  /** Each host's reference stream, the last one started (null while its name resolves). */
  private readonly streams = new Map<string, ReferenceStream | null>()
  /** The family each target name is resolved in (from its orders; one source's orders to a name all ask the same). */
  private readonly families = new Map<string, AddressFamily | undefined>()
  /** With `--bind` of one family only, names resolve in that family: nothing may leave from elsewhere. */
  private readonly bindFamily: AddressFamily | undefined

  private readonly peers: ReadonlySet<string>

  constructor (private readonly opts: ProbeRunnerOptions) {
    this.peers = new Set(opts.peers)
    this.ctx = { adaptive: false, paths: this.paths, sockets: new SocketBudget(opts.socketBudget), measure: (host) => this.reference(host) }
    this.resolver = new Resolver(opts.lookup)
    this.probe = opts.probe ?? byProtocol
    const bound = new Set(opts.binds.map((b) => net.isIPv6(b) ? 'ipv6' as const : 'ipv4' as const))
    this.bindFamily = bound.size === 1 ? [...bound][0] : undefined
  }

  /**
   * Queues orders; `concurrency` replaces the current bound (the latest order from the
   * coordinator wins), and so does `adaptive`.
   */
  add (orders: ProbeOrder[], concurrency: number, adaptive = false, rttHints: ReadonlyArray<{ host: string, ms: number }> = [], refs: readonly ReferenceEndpoint[] = []): void {
    this.concurrency = concurrency
    this.ctx.adaptive = adaptive
    for (const h of rttHints) this.paths.hint(h.host, h.ms)
    for (const r of refs) this.refs.set(r.host, r.port)
    for (const o of orders) {
      this.queue.push(o)
      this.families.set(o.host, o.family ?? this.bindFamily)
      this.pendingByHost.set(o.host, (this.pendingByHost.get(o.host) ?? 0) + 1)
    }
    this.pump()
  }

  /** Probes queued or in flight. */
  get pending (): number {
    return this.queue.length - this.head + this.active
  }

  /** The address a peer of this run resolves to (an address passes through); null for a host that is not a peer, or a name that did not resolve. */
  async addressOf (host: string): Promise<string | null> {
    if (!this.peers.has(host)) return null
    const r = await this.resolver.resolve(host)
    return 'address' in r ? r.address : null
  }

  /** What this run measured on each path so far. */
  figures (): ReturnType<PathTable['figures']> {
    return this.paths.figures()
  }

  /** Stops everything: queued orders are dropped, in-flight probes are aborted and report nothing. */
  stop (): void {
    this.queue.length = 0
    this.head = 0
    this.controller.abort()
    for (const s of this.streams.values()) s?.stop()
  }

  private get stopped (): boolean {
    return this.controller.signal.aborted
  }

  private pump (): void {
    while (this.active < this.concurrency && this.head < this.queue.length && !this.stopped) {
      const order = this.queue[this.head++] as ProbeOrder
      this.active++
      void this.runOne(order).then((result) => {
        this.active--
        this.pendingByHost.set(order.host, (this.pendingByHost.get(order.host) ?? 1) - 1)
        if (!this.stopped) this.opts.onResult(result)
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        }
        this.pump()
      })
    }
  }

  private async runOne (order: ProbeOrder): Promise<ProbeResult> {
    // A coordinator may only make this agent probe the hosts of its run, and never this host's
    // own loopback services unless the inventory names a loopback address.
    if (!this.peers.has(order.host)) return refused(order, 'ENOTPEER')
    try {
      const target = await this.resolver.resolve(order.host, this.families.get(order.host))
      if ('address' in target && connectsToSelf(target.address) && !connectsToSelf(order.host)) return refused(order, 'ELOOPBACK')
      if (this.stopped) return { id: order.id, outcome: 'error', error: 'ECANCELED', latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
      if ('error' in target) return { id: order.id, outcome: 'unresolved', error: target.error, latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
      const result = await this.probe(order, target.address, localAddressFor(this.opts.binds, target.address), this.controller.signal, this.ctx)
      return target.address !== order.host ? { ...result, address: target.address } : result
    } catch (err) {
      // A probe function must not throw; if one does, report a local error rather than lose the check.
      return { id: order.id, outcome: 'error', error: err instanceof Error ? err.name.slice(0, 64) : 'EUNKNOWN', latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
    }
  }

  /**
   * Measures the path to a host on its reference listener, from the moment a probe to it has an
   * unanswered attempt, while probes to it are pending (see {@link ReferenceStream}).
   */
  private reference (host: string): void {
    const port = this.refs.get(host)
    if (!this.peers.has(host)) return
    const current = this.streams.get(host)
    if (port === undefined || this.stopped || current === null || current?.running === true || current?.dead === true) return
    // Resolving: nothing may start a second stream meanwhile.
    this.streams.set(host, null)
    void this.resolver.resolve(host, this.families.get(host)).then((target) => {
      if ('error' in target || this.stopped || (connectsToSelf(target.address) && !connectsToSelf(host))) { this.streams.delete(host); return }
      const stream = new ReferenceStream(host, target.address, port, localAddressFor(this.opts.binds, target.address), this.paths, () => (this.pendingByHost.get(host) ?? 0) > 0 && !this.stopped)
      this.streams.set(host, stream)
      stream.start()
    })
  }
}

/** A probe the agent will not send: not a peer of the run, or its own loopback. */
function refused (order: ProbeOrder, code: 'ENOTPEER' | 'ELOOPBACK'): ProbeResult {
  return { id: order.id, outcome: 'error', error: code, latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
}

/** Whether `address` (an IP address, or `localhost`) reaches this host itself: a loopback or an unspecified address (`0.0.0.0`, `::`), in any spelling. */
export function connectsToSelf (address: string): boolean {
  return isLoopback(address) || isUnspecified(address)
}
