import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { PortcheckError } from '@portcheck/protocol'
import type { AgentHub } from '../hub/agent-hub.js'
import type { Plan } from '../plan/expand.js'
import type { RunReport, RunSummary } from '../report/report.js'
import { Run, type RunOptions } from './run.js'

interface ManagerEvents {
  started: [Run]
  finished: [Run]
}

/** Checks kept in memory over every kept run, by default (`serve --keep-checks`). */
export const DEFAULT_KEEP_CHECKS = 2_000_000

/**
 * What a run weighs against the bound, at least: what a run holds besides its checks (agents,
 * path figures, its summary) is worth about this many checks, so that runs of a handful of checks
 * are bounded too (at most 2,000 of them at the default bound).
 */
export const MIN_RUN_WEIGHT = 1000

/** What a kept run counts against {@link DEFAULT_KEEP_CHECKS}: its checks, and at least {@link MIN_RUN_WEIGHT}. */
export function runWeight (run: Run): number {
  return Math.max(run.plan.checks.length, MIN_RUN_WEIGHT)
}

/**
 * Runs one run at a time (agents serve one run at a time too) and keeps the latest ones for the
 * API and the dashboard: as many as fit in a number of checks, oldest dropped first. The newest
 * run is always kept, whatever its size.
 */
export class RunManager extends EventEmitter<ManagerEvents> {
  private readonly runs = new Map<string, Run>()
  private active: Run | null = null
  private weight = 0

  /**
   * @param keepChecks checks kept in memory over every kept run (default {@link DEFAULT_KEEP_CHECKS}); see {@link runWeight}
   */
  constructor (private readonly hub: AgentHub, private readonly logger: Logger, readonly keepChecks = DEFAULT_KEEP_CHECKS) {
    super()
  }

  /** How many runs are kept, and what they weigh (see {@link runWeight}). */
  kept (): { runs: number, checks: number } {
    return { runs: this.runs.size, checks: this.weight }
  }

  get current (): Run | null {
    return this.active
  }

  get (id: string): Run | undefined {
    return this.runs.get(id)
  }

  /** Runs newest first. */
  list (): Run[] {
    return [...this.runs.values()].reverse()
  }

  /** The most recent run, running or finished. */
  latest (): Run | undefined {
    return this.list()[0]
  }

  /** Starts a run of a plan; throws PC_ERR_RUN_BUSY if one is in progress. */
  start (plan: Plan, options: RunOptions = {}): Run {
    if (this.active !== null) throw new PortcheckError('PC_ERR_RUN_BUSY', `run ${this.active.id} is in progress; wait for it or abort it`)
    const run = new Run(plan, this.hub, this.logger.child({ component: 'run' }), options)
    this.active = run
    this.runs.set(run.id, run)
    this.weight += runWeight(run)
    // The new run is the newest and the only active one: what is dropped has ended.
    for (const [id, old] of this.runs) {
      if (this.weight <= this.keepChecks || old === run) break
      this.runs.delete(id)
      this.weight -= runWeight(old)
    }
    this.emit('started', run)
    this.logger.info({ runId: run.id, checks: plan.checks.length }, 'run started')
    // Start on the next turn, so whoever asked for the run can subscribe to its events first.
    const started = new Promise<void>((resolve) => setImmediate(resolve))
    started.then(() => run.execute()).then((report) => {
      this.logger.info({ runId: run.id, verdict: report.verdict, durationMs: report.durationMs, ...report.summary }, 'run finished')
    }, (err: unknown) => {
      this.logger.error({ runId: run.id, err }, 'run failed')
    }).finally(() => {
      if (this.active === run) this.active = null
      this.emit('finished', run)
    })
    return run
  }

  /** Waits for a run to finish; resolves with its summary (no checks: cheap at any size). */
  async finished (run: Run): Promise<RunSummary> {
    if (this.active !== run && (run.state === 'done' || run.state === 'aborted')) return run.summary()
    return await new Promise((resolve) => {
      const onFinished = (r: Run): void => {
        if (r !== run) return
        this.off('finished', onFinished)
        resolve(run.summary())
      }
      this.on('finished', onFinished)
    })
  }

  /** Waits for a run to finish and returns its whole report, checks included. */
  async wait (run: Run): Promise<RunReport> {
    await this.finished(run)
    return run.report()
  }

  /** Aborts the run in progress, if any, and waits until its listeners are closed. */
  async abortCurrent (): Promise<void> {
    const run = this.active
    if (run === null) return
    run.abort()
    await this.finished(run)
  }
}
