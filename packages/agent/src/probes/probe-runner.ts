import { setMaxListeners } from 'node:events'
import type { ProbeOrder, ProbeResult } from '@portcheck/protocol'
import { tcpProbe } from './tcp-probe.js'
import { RttTable, type ProbeTiming } from './timing.js'
import { udpProbe } from './udp-probe.js'

/** Runs one probe; injectable for tests of the runner itself. */
export type ProbeFn = (order: ProbeOrder, localAddress: string | undefined, signal: AbortSignal, timing: ProbeTiming) => Promise<ProbeResult>

const byProtocol: ProbeFn = (order, localAddress, signal, timing) =>
  order.protocol === 'tcp' ? tcpProbe(order, localAddress, signal, timing) : udpProbe(order, localAddress, signal, timing)

/**
 * Runs probe orders with at most `concurrency` in flight, in the order given, and hands each
 * result to `onResult` as soon as it is known. Orders can keep arriving while it runs.
 */
export class ProbeRunner {
  private readonly queue: ProbeOrder[] = []
  private head = 0
  private active = 0
  private readonly controller = ((c: AbortController): AbortController => {
    // Every probe in flight listens on this one signal (hundreds at once): that is by design.
    setMaxListeners(0, c.signal)
    return c
  })(new AbortController())
  private readonly rtt = new RttTable()
  private adaptive = false
  // The probes read the runner's current mode and estimates through this view.
  private readonly timing: ProbeTiming = ((runner: ProbeRunner): ProbeTiming => ({
    deadlineMs: (host) => runner.adaptive ? runner.rtt.deadline(host, Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY,
    get adaptive () { return runner.adaptive }
  }))(this)

  constructor (
    private concurrency: number,
    private readonly localAddress: string | undefined,
    private readonly onResult: (result: ProbeResult) => void,
    private readonly probe: ProbeFn = byProtocol
  ) {}

  /**
   * Queues orders; `concurrency` replaces the current bound (the latest order from the
   * coordinator wins), and so does `adaptive` (deadlines learnt from this run's round trips).
   */
  add (orders: ProbeOrder[], concurrency: number, adaptive = false, rttHints: ReadonlyArray<{ host: string, ms: number }> = []): void {
    this.concurrency = concurrency
    this.adaptive = adaptive
    for (const h of rttHints) this.rtt.hint(h.host, h.ms)
    for (const o of orders) this.queue.push(o)
    this.pump()
  }

  /** Probes queued or in flight. */
  get pending (): number {
    return this.queue.length - this.head + this.active
  }

  /** Stops everything: queued orders are dropped, in-flight probes are aborted and report nothing. */
  stop (): void {
    this.queue.length = 0
    this.head = 0
    this.controller.abort()
  }

  private pump (): void {
    while (this.active < this.concurrency && this.head < this.queue.length && !this.controller.signal.aborted) {
      const order = this.queue[this.head++] as ProbeOrder
      this.active++
      this.probe(order, this.localAddress, this.controller.signal, this.timing).then((result) => {
        this.active--
        // Round trips to learn from: a completed handshake, or our own acknowledgement.
        if (result.latencyMs !== null && (result.outcome === 'connected' || (result.outcome === 'replied' && result.echo === 'ours'))) {
          this.rtt.add(order.host, result.latencyMs)
        }
        if (!this.controller.signal.aborted) this.onResult(result)
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        }
        this.pump()
      }, (err: unknown) => {
        // A probe function must not throw; if one does, report a local error rather than lose the check.
        this.active--
        if (!this.controller.signal.aborted) {
          this.onResult({ id: order.id, outcome: 'error', error: err instanceof Error ? err.name.slice(0, 64) : 'EUNKNOWN', latencyMs: null, attempts: 0, echo: 'none' })
        }
        this.pump()
      })
    }
  }
}
