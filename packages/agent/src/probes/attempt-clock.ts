import { MAX_ATTEMPTS_PER_ROUND, attemptsNeeded, type ProbeOrder } from '@portcheck/protocol'
import { EVIDENCE_MARGIN, MIN_SPACING_MS, type PathTable } from './path-table.js'

/** Attempts started beyond what the evidence asks for, in case the last windows do not close before the timeout. */
const SPARE_ATTEMPTS = EVIDENCE_MARGIN + 2
const NOTHING_MEASURED = { attempts: 0, failed: 0 }

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
  /**
   * Called when a probe to `host` has an unanswered attempt: its verdict will rest on the path's
   * measured loss, so the path is to be measured (reference exchanges) if it is not yet.
   */
  measure: (host: string) => void
}

/**
 * Paces the attempts of one probe and says when to give up. An attempt (a TCP connection, a UDP
 * datagram) counts as unanswered once it ended without our acknowledgement, or its path's answer
 * window passed since it started (or since its TCP handshake completed) without one; the next
 * one starts a quarter window after the last. The probe gives up:
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
  /** When each attempt last made progress: its start, or its completed handshake. */
  private readonly marks: number[] = []
  private readonly ended: boolean[] = []
  private readonly t0 = performance.now()
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private stopped = false
  private measuring = false
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

  /**
   * Attempt `seq` made progress (a TCP handshake completed): it has a whole window again from
   * now for our acknowledgement, the data round trip, before it counts as unanswered.
   */
  progress (seq: number): void {
    if (seq >= 1 && seq <= this.marks.length) this.marks[seq - 1] = performance.now()
  }

  /** Marks attempt `seq` as ended without an answer (closed, reset, timed out by the kernel). */
  endAttempt (seq: number): void {
    if (this.ended[seq - 1] === true) return
    this.ended[seq - 1] = true
    this.schedule(0)
  }

  /**
   * How long an attempt is given, in ms: the path's answer window, but never more than a third
   * of the probe's timeout, so that attempts made early in a probe can count. A path slower
   * than that needs a longer timeout anyway; its checks then come out `lossy-path`, not wrong.
   */
  private window (): { ms: number, measured: boolean } {
    const w = this.ctx.paths.window(this.order.host, this.order.protocol)
    return { ms: Math.min(w.ms, this.order.timeoutMs / 3), measured: w.measured }
  }

  /** Attempts that went unanswered, as of now. */
  unanswered (): number {
    const w = this.window().ms
    const now = performance.now()
    let k = 0
    for (let i = 0; i < this.marks.length; i++) if (this.ended[i] === true || now - (this.marks[i] as number) >= w) k++
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
    const w = this.window()
    const k = this.unanswered()
    if (k > 0 && !this.measuring) { this.measuring = true; this.ctx.measure(host) }
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
    // As many attempts as the evidence asks for on what the path has shown so far (the prior
    // alone before it is measured), and a couple more whose windows may not close in time: more
    // would only load both hosts. A worse measurement later asks for more.
    const sample = paths.sample(host, protocol)
    const wanted = need ?? Math.min(MAX_ATTEMPTS_PER_ROUND, attemptsNeeded(sample ?? NOTHING_MEASURED, MAX_ATTEMPTS_PER_ROUND) + SPARE_ATTEMPTS)
    const last = this.starts.length === 0 ? Number.NEGATIVE_INFINITY : this.starts[this.starts.length - 1] as number
    const more = !enough && !this.noMore && this.starts.length < wanted
    let next = this.t0 + timeoutMs
    if (more) {
      if (now - last >= spacing) {
        const seq = this.starts.length + 1
        if (this.startAttempt(seq)) {
          this.starts.push(performance.now())
          this.marks.push(performance.now())
          next = Math.min(next, performance.now() + spacing)
        } else next = Math.min(next, now + MIN_SPACING_MS)
      } else next = Math.min(next, last + spacing)
    }
    // The path's figures keep coming in (other probes, reference exchanges): with adaptive timing,
    // look again every so often whether they now make the silence evidence enough.
    if (this.ctx.adaptive) next = Math.min(next, now + Math.max(50, w.ms / 2))
    // Wake when the next attempt not yet counted reaches its window.
    for (let i = 0; i < this.marks.length; i++) {
      const at = (this.marks[i] as number) + w.ms
      if (this.ended[i] !== true && at > now) next = Math.min(next, at)
    }
    this.schedule(next - performance.now())
  }
}
