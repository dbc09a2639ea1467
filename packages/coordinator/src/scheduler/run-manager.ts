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

/**
 * Runs one run at a time (agents serve one run at a time too) and keeps the last few for
 * the API and the dashboard.
 */
export class RunManager extends EventEmitter<ManagerEvents> {
  private readonly runs = new Map<string, Run>()
  private active: Run | null = null

  /**
   * @param keep finished runs kept in memory (default 20)
   */
  constructor (private readonly hub: AgentHub, private readonly logger: Logger, private readonly keep = 20) {
    super()
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
    while (this.runs.size > this.keep) {
      const oldest = this.runs.keys().next().value as string
      this.runs.delete(oldest)
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
