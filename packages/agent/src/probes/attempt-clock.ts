import { MAX_ATTEMPTS_PER_ROUND, type ProbeOrder } from '@portcheck/protocol'
import { MIN_SPACING_MS, type PathTable } from './path-table.js'

/** Caps the sockets all probes of an agent hold at once, so a big run never meets EMFILE. */
export class SocketBudget {
  private used = 0
  /** @param max sockets at once (default 768: well under the common 1024-descriptor limit) */
  constructor (private readonly max = 768) {}

  /** Takes a socket from the budget; false if none is left (try again later). */
  acquire (): boolean {
    if (this.used >= this.max) return false
    this.used++
    return true
  }

  release (): void {
    if (this.used > 0) this.used--
  }
}

/** What every probe of a run shares. */
export interface ProbeContext {
  /** `--timeout auto`: give up as soon as the silence is evidence of a drop. */
  adaptive: boolean
  /** This run's measurements, per target host and protocol. */
  paths: PathTable
  sockets: SocketBudget
}

/**
 * Paces the attempts of one probe and says when to give up. An attempt (a TCP connection, a UDP
 * datagram) counts as unanswered once it ended without our acknowledgement or its path's answer
 * window has passed; the next one starts a quarter window after the last. The probe gives up:
 * - at its order's timeout, always;
 * - with `need` (a re-probe), once that many attempts went unanswered;
 * - with adaptive timing, once the unanswered attempts are evidence of a drop on the path's
 *   measured loss, and never before that path has been measured.
 * Without adaptive timing, attempts stop once they are evidence enough, but the probe still
 * waits for its timeout. A give-up is deferred past one I/O poll, so that an answer already
 * waiting in the kernel is read first and not mistaken for silence.
 */
export class AttemptClock {
  private readonly starts: number[] = []
  private readonly ended: boolean[] = []
  private readonly t0 = performance.now()
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private stopped = false
  /** Set by the probe when no further attempt makes sense (a TCP port held by another process connected). */
  noMore = false

  /**
   * @param order the probe's order (`timeoutMs`, `need`)
   * @param host the path's key: the target host as the order names it
   * @param startAttempt starts attempt `seq` (1-based); false if it could not start now (no socket left)
   * @param giveUp called once, with the number of unanswered attempts
   */
  constructor (
    private readonly order: ProbeOrder,
    private readonly ctx: ProbeContext,
    private readonly startAttempt: (seq: number) => boolean,
    private readonly giveUp: (unanswered: number) => void
  ) {}

  /** Starts the first attempt and the clock. */
  start (): void {
    this.tick()
  }

  /** Attempts started so far. */
  get attempts (): number {
    return this.starts.length
  }

  /** When attempt `seq` started (performance.now() time). */
  startedAt (seq: number): number {
    return this.starts[seq - 1] ?? this.t0
  }

  /** Marks attempt `seq` as ended without an answer (closed, reset, timed out by the kernel). */
  endAttempt (seq: number): void {
    if (this.ended[seq - 1] === true) return
    this.ended[seq - 1] = true
    this.schedule(0)
  }

  /** Attempts that went unanswered, as of now. */
  unanswered (): number {
    const w = this.ctx.paths.window(this.order.host, this.order.protocol).ms
    const now = performance.now()
    let k = 0
    for (let i = 0; i < this.starts.length; i++) if (this.ended[i] === true || now - (this.starts[i] as number) >= w) k++
    return k
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
  }

  private schedule (ms: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(ms)))
  }

  private tick (): void {
    if (this.stopped) return
    const now = performance.now()
    const elapsed = now - this.t0
    const paths = this.ctx.paths
    const { host, protocol, need, timeoutMs } = this.order
    const w = paths.window(host, protocol)
    const k = this.unanswered()
    const enough = need !== undefined ? k >= need : w.measured && paths.enough(host, protocol, k)
    if (elapsed >= timeoutMs || (enough && (need !== undefined || this.ctx.adaptive))) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined
        if (this.stopped) return
        // An answer read in the meantime stopped the clock; anything else is still silence.
        this.stopped = true
        clearTimeout(this.timer)
        this.giveUp(this.unanswered())
      })
      return
    }
    const spacing = Math.max(MIN_SPACING_MS, w.ms / 4)
    const last = this.starts.length === 0 ? Number.NEGATIVE_INFINITY : this.starts[this.starts.length - 1] as number
    const more = !enough && !this.noMore && this.starts.length < Math.min(MAX_ATTEMPTS_PER_ROUND, need ?? Number.POSITIVE_INFINITY)
    let next = this.t0 + timeoutMs
    if (more) {
      if (now - last >= spacing) {
        const seq = this.starts.length + 1
        if (this.startAttempt(seq)) {
          this.starts.push(performance.now())
          next = Math.min(next, performance.now() + spacing)
        } else next = Math.min(next, now + MIN_SPACING_MS)
      } else next = Math.min(next, last + spacing)
    }
    // Wake when the oldest attempt not yet counted reaches its window.
    for (let i = 0; i < this.starts.length; i++) {
      const at = (this.starts[i] as number) + w.ms
      if (this.ended[i] !== true && at > now) { next = Math.min(next, at); break }
    }
    this.schedule(next - performance.now())
  }
}
