import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { ProbeOrder, ProbeResult, Proto, ReferenceEndpoint } from '@portcheck/protocol'
import { SocketBudget, type ProbeContext } from './attempt-clock.js'
import { PathTable } from './path-table.js'
import { Resolver, type LookupFn } from './resolver.js'
import { tcpProbe } from './tcp-probe.js'
import { udpProbe } from './udp-probe.js'

/** Runs one probe against a resolved address; injectable for tests of the runner itself. */
export type ProbeFn = (order: ProbeOrder, address: string, localAddress: string | undefined, signal: AbortSignal, ctx: ProbeContext) => Promise<ProbeResult>

const byProtocol: ProbeFn = (order, address, localAddress, signal, ctx) =>
  order.protocol === 'tcp' ? tcpProbe(order, address, localAddress, signal, ctx) : udpProbe(order, address, localAddress, signal, ctx)

/** Answered reference attempts a path needs; the reference exchanges stop there. */
const REFERENCE_SAMPLE = 40
/** Reference exchanges in flight at once per host. */
const REFERENCE_PARALLEL = 4

/** Options of {@link ProbeRunner}. */
export interface ProbeRunnerOptions {
  /** Address to send from, or undefined for the system's choice. */
  localAddress: string | undefined
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
  private readonly refRunning = new Map<string, number>()
  private readonly refDead = new Set<string>()
  private refTimeoutMs = 3000

  constructor (private readonly opts: ProbeRunnerOptions) {
    this.ctx = { adaptive: false, paths: this.paths, sockets: new SocketBudget(opts.socketBudget) }
    this.resolver = new Resolver(opts.lookup)
    this.probe = opts.probe ?? byProtocol
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
      this.pendingByHost.set(o.host, (this.pendingByHost.get(o.host) ?? 0) + 1)
      this.refTimeoutMs = o.timeoutMs
    }
    for (const host of new Set(orders.map((o) => o.host))) for (let i = 0; i < REFERENCE_PARALLEL; i++) this.reference(host)
    this.pump()
  }

  /** Probes queued or in flight. */
  get pending (): number {
    return this.queue.length - this.head + this.active
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
    try {
      const target = await this.resolver.resolve(order.host)
      if (this.stopped) return { id: order.id, outcome: 'error', error: 'ECANCELED', latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
      if ('error' in target) return { id: order.id, outcome: 'unresolved', error: target.error, latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
      const result = await this.probe(order, target.address, this.opts.localAddress, this.controller.signal, this.ctx)
      return target.address !== order.host ? { ...result, address: target.address } : result
    } catch (err) {
      // A probe function must not throw; if one does, report a local error rather than lose the check.
      return { id: order.id, outcome: 'error', error: err instanceof Error ? err.name.slice(0, 64) : 'EUNKNOWN', latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' }
    }
  }

  /**
   * Exchanges with a host's reference listener, one probe after another, while probes to the host
   * are pending and its path has fewer than {@link REFERENCE_SAMPLE} answered attempts. A reference
   * probe that goes unanswered means the reference port is not reachable: no more are sent.
   */
  private reference (host: string): void {
    const port = this.refs.get(host)
    const running = this.refRunning.get(host) ?? 0
    if (port === undefined || running >= REFERENCE_PARALLEL || this.refDead.has(host) || this.stopped) return
    if ((this.pendingByHost.get(host) ?? 0) === 0 || this.paths.measuredAttempts(host, 'tcp' satisfies Proto) >= REFERENCE_SAMPLE) return
    this.refRunning.set(host, running + 1)
    const order: ProbeOrder = { id: 0, protocol: 'tcp', host, port, nonce: randomBytes(12).toString('base64url'), timeoutMs: this.refTimeoutMs }
    void this.resolver.resolve(host).then(async (target) => {
      if ('error' in target || this.stopped) return null
      // Reference probes never stop early: their answers are the measurement.
      return await tcpProbe(order, target.address, this.opts.localAddress, this.controller.signal, { ...this.ctx, adaptive: false })
    }).then((result) => {
      this.refRunning.set(host, (this.refRunning.get(host) ?? 1) - 1)
      if (result === null || result.echo !== 'ours') { this.refDead.add(host); return }
      setTimeout(() => this.reference(host), this.paths.window(host, 'tcp').ms / 4).unref()
    })
  }
}
