import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Coordinator } from '../server/coordinator.js'
import { formatDuration } from './duration.js'

/** What a schedule needs of a coordinator: its runs, a way to start one, and its agents. */
export type ScheduleTarget = Pick<Coordinator, 'runs' | 'startRun' | 'waitForAgents' | 'hosts'>

/** Options of {@link RunSchedule}. */
export interface ScheduleOptions {
  /** The period, in ms: a run starts this long after the previous one started (see {@link RunSchedule}). */
  everyMs: number
  logger: Logger
  /**
   * Longest the first run waits for every inventory host's agent, in ms. Default: `everyMs`, so
   * the first run starts as soon as every agent joined, and at the latest one period in.
   */
  firstWaitMs?: number
}

/** Resolves when `promise` settles or `signal` aborts, whichever comes first; never rejects. */
async function until (promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  let onAbort = (): void => {}
  const aborted = new Promise<void>((resolve) => { onAbort = resolve; signal.addEventListener('abort', onAbort, { once: true }) })
  try {
    await Promise.race([promise.then(() => {}, () => {}), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Re-checks the whole matrix every period, with the agents that stay joined (`portcheck serve
 * --every`). Runs never overlap: a run starts one period after the previous one started, or as
 * soon as it ended if it took longer (said once in the log, and again when the schedule catches
 * up); a run started from the API in the meantime is waited for. A run that cannot start, or
 * that fails, is logged and the schedule goes on. `stop()` ends the schedule; the run in
 * progress is left to the coordinator, whose `close()` aborts it and closes its listeners.
 */
export class RunSchedule {
  private readonly ac = new AbortController()
  private loop: Promise<void> | null = null
  private behind = false
  /** Scheduled runs started so far. */
  started = 0

  constructor (private readonly target: ScheduleTarget, private readonly options: ScheduleOptions) {}

  /** Starts the schedule; the first run waits for the agents (see {@link ScheduleOptions.firstWaitMs}). */
  start (): void {
    if (this.loop !== null) return
    this.loop = this.run()
  }

  /** Ends the schedule: no run starts after this; resolves once the loop has returned. */
  async stop (): Promise<void> {
    this.ac.abort()
    await this.loop
  }

  private async run (): Promise<void> {
    const { everyMs, logger } = this.options
    const signal = this.ac.signal
    logger.info({ every: formatDuration(everyMs) }, `checking the whole matrix every ${formatDuration(everyMs)}`)
    await until(this.target.waitForAgents(this.options.firstWaitMs ?? everyMs, undefined, signal), signal)
    while (!signal.aborted) {
      // Never two runs at once: one started from the API or the dashboard is waited for.
      const current = this.target.runs.current
      if (current !== null) await until(this.target.runs.finished(current), signal)
      if (signal.aborted) break
      const startedAt = Date.now()
      try {
        const run = this.target.startRun({}, undefined, { scheduled: true })
        this.started++
        await until(this.target.runs.finished(run), signal)
      } catch (err) {
        logger.error({ err }, `a scheduled run could not start; the next one is due in ${formatDuration(everyMs)}`)
      }
      if (signal.aborted) break
      const waitMs = startedAt + everyMs - Date.now()
      this.pace(waitMs)
      await sleep(Math.max(0, waitMs), undefined, { signal }).catch(() => {})
    }
  }

  /** Says once that runs outlast the period (the next starts when the last ended), and once when back on time. */
  private pace (waitMs: number): void {
    const { everyMs, logger } = this.options
    if (waitMs <= 0 && !this.behind) {
      this.behind = true
      logger.warn({ every: formatDuration(everyMs), overMs: -waitMs }, `a run took longer than the period (${formatDuration(everyMs)}): each run now starts when the previous one ends, without overlap`)
    } else if (waitMs > 0 && this.behind) {
      this.behind = false
      logger.info({ every: formatDuration(everyMs) }, `runs fit in the period (${formatDuration(everyMs)}) again`)
    }
  }
}
