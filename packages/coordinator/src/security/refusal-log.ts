import type { Logger } from 'pino'

/** How often refusals that were only counted are summed up in the log, in ms. */
export const SUMMARY_INTERVAL_MS = 10_000

/**
 * Logs refused connections and requests at a bounded rate: the first of each kind at once, then
 * a count every `intervalMs` (10 s) while they keep coming. A flood, or a misconfigured agent
 * retrying, can neither fill the log nor go unnoticed.
 */
export class RefusalLog {
  private readonly counts = new Map<string, { n: number, sample: Record<string, unknown> }>()
  private readonly seen = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  /** When the current counting window began (Date.now()). */
  private since = 0

  /** @param intervalMs how long refusals are counted before their summary line, in ms (default {@link SUMMARY_INTERVAL_MS}, 10000) */
  constructor (private readonly logger: Logger, private readonly intervalMs = SUMMARY_INTERVAL_MS) {}

  /** Records one refusal of kind `why` (a short sentence, also the log message). */
  note (why: string, fields: Record<string, unknown> = {}): void {
    if (!this.seen.has(why)) {
      this.seen.add(why)
      this.logger.warn(fields, why)
      return
    }
    const c = this.counts.get(why)
    if (c === undefined) this.counts.set(why, { n: 1, sample: fields })
    else c.n++
    if (this.timer === null) {
      this.since = Date.now()
      this.timer = setTimeout(() => this.flush(), this.intervalMs)
      this.timer.unref()
    }
  }

  /**
   * Logs what was counted since the last summary.
   * @param inLastMs the window the counts cover, in ms (default: the whole interval)
   */
  flush (inLastMs = this.intervalMs): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const [why, c] of this.counts) this.logger.warn({ ...c.sample, refused: c.n, inLastMs }, `${why} (${c.n} more)`)
    this.counts.clear()
  }

  /** Stops counting. What was counted and not yet summed up is logged now: shutting down drops no refusal. */
  stop (): void {
    if (this.counts.size > 0) this.flush(Date.now() - this.since)
    else if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
