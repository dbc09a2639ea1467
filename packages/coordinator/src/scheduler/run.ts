import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { MAX_RUN_TTL_MS, type AgentMessage, type Status } from '@portcheck/protocol'
import type { AgentConnection, AgentHub } from '../hub/agent-hub.js'
import { DEFAULT_LOCALIZE, type LocalizationSummary } from '../localize/localization.js'
import { LOCALIZE_BUDGET_MS, Localizer } from '../localize/localizer.js'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import { noCommonFamily } from '../plan/families.js'
import { checkReport, type CheckReport, type CheckRow, type RunReport, type RunState, type RunSummary } from '../report/report.js'
import type { ReportSource } from '../report/report-source.js'
import { streamJson, summarize } from '../report/run-summary.js'
import { AcceptedIndex } from './accepted-index.js'
import { ArrivalCounts } from './arrival-counts.js'
import { CheckState } from './check-state.js'
import { Participants } from './participants.js'
import { PathStats } from './path-stats.js'
import { roundBudgetMs, sendRound } from './probe-round.js'
import { observation } from './observe.js'
import { takeLeave, takeMessage } from './run-inbox.js'
import { decide, type Observation, type Verdict } from './verdict.js'
import { MAX_ROUNDS, newRunId, type RunEvents, type RunOptions } from './run-options.js'

export { MAX_ROUNDS, newRunId, type RunEvents, type RunOptions } from './run-options.js'

/** How long before its agents' listeners expire a run still going is aborted, besides closing them, in ms. */
const RUN_DEADLINE_MARGIN_MS = 10_000

/**
 * One pass over a plan: checks that every agent runs where the inventory says, opens the target
 * listeners (waiting for every bind to be confirmed), has every source probe in parallel, waits
 * for a barrier that guarantees every receipt is in, re-probes what the evidence cannot decide
 * yet, decides every verdict, and closes the listeners, also on abort or error.
 */
export class Run extends EventEmitter<RunEvents> {
  readonly id: string
  /** The run whose failed checks this one re-runs, or null. */
  readonly rerunOf: string | null
  /** Started by the schedule (`serve --every`). */
  readonly scheduled: boolean
  state: RunState = 'waiting'
  readonly startedAt = new Date()
  finishedAt: Date | null = null
  readonly opts: Required<RunOptions>
  readonly participants: Participants
  /** @internal Each check's state: results, receipts, statuses. */
  readonly checks: CheckState
  /** @internal Measured loss and round trip per path, from the barriers. */
  readonly stats = new PathStats()
  /** @internal TCP connections that arrived without a nonce. */
  readonly accepted = new AcceptedIndex()
  /** @internal UDP arrivals counted on ports another process holds. */
  readonly arrivals = new ArrivalCounts()
  /** @internal Drop localization, once the verdicts are decided (null before, and when off). */
  localizer: Localizer | null = null
  /** Set by abort() while localizing: localization stops waiting; the verdicts stand. */
  localizeStopped = false
  /** The probe round in progress. */
  round = 0
  private done = 0
  private readonly counted: Uint8Array
  /** Set when verdicts are decided: from then on, nothing an agent says or does changes them. */
  frozen = false
  aborted = false
  /** Aborts the run before the agents' listeners expire (see {@link Run.ttlMs}). */
  private deadline: NodeJS.Timeout | undefined
  private waiter: { test: () => boolean, resolve: () => void } | null = null
  private readonly onMessage: (conn: AgentConnection, msg: AgentMessage) => void
  private readonly onLeft: (conn: AgentConnection) => void
  private flushSeq = 1

  constructor (readonly plan: Plan, hub: AgentHub, readonly logger: Logger, options: RunOptions = {}, id = newRunId()) {
    super()
    this.id = id
    this.rerunOf = options.rerunOf ?? null
    this.scheduled = options.scheduled ?? false
    this.opts = {
      timeoutMs: options.timeoutMs ?? 3000,
      concurrency: options.concurrency ?? 256,
      listenTimeoutMs: options.listenTimeoutMs ?? 60_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 60_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      maxTtlMs: Math.min(options.maxTtlMs ?? MAX_RUN_TTL_MS, MAX_RUN_TTL_MS),
      adaptive: options.adaptive ?? false,
      rerunOf: options.rerunOf ?? '',
      scheduled: this.scheduled,
      localize: options.localize ?? DEFAULT_LOCALIZE
    }
    this.participants = new Participants(plan, hub, logger)
    const n = plan.checks.length
    this.checks = new CheckState(n)
    this.counted = new Uint8Array(n)
    this.onMessage = (conn, msg) => takeMessage(this, conn, msg)
    this.onLeft = (conn) => takeLeave(this, conn)
  }

  /** Stops the run: what has not finished becomes inconclusive (`aborted`), and listeners close. */
  abort (): void {
    // Once verdicts are decided, stopping changes nothing: localization stops, listeners close.
    if (this.state === 'localizing' && !this.localizeStopped) {
      this.logger.warn({ runId: this.id }, 'localization stopped')
      this.localizeStopped = true
      this.poke()
      return
    }
    if (this.aborted || this.frozen || this.state === 'done') return
    this.logger.warn({ runId: this.id }, 'run aborted')
    this.aborted = true
    this.poke()
  }

  /** Runs to the end; resolves with the final summary. Never rejects for network reasons. */
  async execute (): Promise<RunSummary> {
    const hub = this.participants.hub
    hub.on('message', this.onMessage)
    hub.on('left', this.onLeft)
    try {
      this.setState('preparing')
      // Preparing sends nothing: a run aborted before it began still knows its agents, and its
      // checks end as aborted, but no agent is asked for anything.
      await this.prepare()
      if (!this.aborted) await this.openListeners()
      if (!this.aborted) await this.arrivals.start(this)
      for (this.round = 1; this.round <= MAX_ROUNDS && !this.aborted; this.round++) {
        const sent = this.probeRound()
        if (sent === 0) break
        this.setState('probing')
        await this.collect()
        if (this.aborted) break
        this.setState('settling')
        await this.barrier()
      }
      this.finalize()
      if (!this.aborted) await this.localize()
    } finally {
      clearTimeout(this.deadline)
      if (!this.frozen) this.finalize()
      this.setState('closing')
      await this.closeAll()
      hub.off('message', this.onMessage)
      hub.off('left', this.onLeft)
      this.finishedAt = new Date()
      this.setState(this.aborted ? 'aborted' : 'done')
    }
    const summary = this.summary()
    this.emit('done', summary)
    return summary
  }

  /** What localization did, once done; null before (and for runs that ended before it). */
  get localization (): LocalizationSummary | null {
    return this.localizer?.summary ?? null
  }

  /** How far the run is, cheaply (no report is built). */
  progress (): { state: RunState, done: number, total: number, elapsedMs: number } {
    return { state: this.state, done: this.done, total: this.plan.checks.length, elapsedMs: (this.finishedAt ?? new Date()).getTime() - this.startedAt.getTime() }
  }

  /**
   * The report without its checks: for progress, lists and events. One pass over the checks'
   * statuses while the run goes on; once it has ended, computed once and kept (frozen).
   */
  summary (): RunSummary {
    if (this.final !== null) return this.final
    const summary = summarize(this, (i) => this.checks.status(i), this.done)
    if (this.finishedAt !== null && (this.state === 'done' || this.state === 'aborted')) this.final = Object.freeze(summary)
    return summary
  }

  private final: RunSummary | null = null

  /** One check's entry in the report, built on demand. */
  checkAt (index: number): CheckReport {
    const check = this.plan.checks[index] as PlannedCheck
    const result = this.checks.result(index)
    // Until a check is settled, its verdict is pending; afterwards it is recomputed from the
    // stored observations, which no longer change.
    const verdict = this.checks.status(index) === null ? null : decide(check, this.observe(check, 0))
    return checkReport(check, verdict, result?.latencyMs ?? null, result?.attempts ?? null, this.plan.catalog, result?.address, this.localizer?.found.get(index))
  }

  /** Every check's plan entry with its current status and reason, without building reports. */
  * rows (): Generator<CheckRow> {
    const n = this.plan.checks.length
    for (let i = 0; i < n; i++) {
      const c = this.plan.checks[i] as PlannedCheck
      yield { index: i, from: c.from, to: c.to, fromRole: c.fromRole, toRole: c.toRole, family: c.family, protocol: c.protocol, port: c.port, ...(c.portEnd !== undefined ? { portEnd: c.portEnd } : {}), required: c.required, status: this.checks.status(i), reason: this.checks.reason(i) }
    }
  }

  /** The whole report, checks included. For large runs prefer {@link writeJson}, which streams. */
  report (): RunReport {
    const checks: CheckReport[] = new Array(this.plan.checks.length)
    for (let i = 0; i < checks.length; i++) checks[i] = this.checkAt(i)
    return { ...this.summary(), checks }
  }

  /** The report as the streamed formats read it: a check at a time, each built on demand. */
  source (): ReportSource {
    const checks = this.plan.checks
    return {
      summary: this.summary(),
      count: checks.length,
      briefAt: (i) => {
        const c = checks[i] as PlannedCheck
        return { fromRole: c.fromRole, toRole: c.toRole, required: c.required, status: this.checks.status(i) }
      },
      checkAt: (i) => this.checkAt(i)
    }
  }

  /** Writes the report as JSON, a slice of checks at a time. `write` may return a promise (backpressure). */
  async writeJson (write: (chunk: string) => unknown): Promise<void> {
    await streamJson(this.summary(), this.plan.checks.length, (i) => this.checkAt(i), write)
  }

  // ------------------------------------------------------------------ phases

  /** Settles what needs no probe (skips, missing and misplaced agents) and plans the listeners. */
  private async prepare (): Promise<void> {
    await this.participants.place()
    for (const check of this.plan.checks) {
      if (check.skip !== null || noCommonFamily(check)) { this.settle(check); continue }
      // An end that cannot serve the check's family settles it too (see Participants.serving).
      const src = this.participants.serving(check.from as string, check.family)
      const dst = this.participants.serving(check.to as string, check.family)
      if (src === undefined || dst === undefined) { this.settle(check); continue }
      this.checks.markProbed(check.index)
      src.probes++
      src.peers.add(check.toAddress as string)
      dst.targeted++
      dst.listen(check.protocol, check.port)
    }
  }

  /**
   * Localizes the drops of the blocked checks (see {@link Localizer}), with the listeners still
   * open. The verdicts are decided already and do not change.
   */
  private async localize (): Promise<void> {
    this.localizer = new Localizer(this)
    if (this.opts.localize > 0) this.setState('localizing')
    await this.localizer.execute()
  }

  /** @internal Localization's waits: they go on past an abort (the verdicts stand), not past a stop of localization. */
  async waitLocalizing (test: () => boolean, ms: number): Promise<void> {
    await this.until(() => test() || this.localizeStopped, ms, true)
  }

  private async openListeners (): Promise<void> {
    const ttlMs = this.ttlMs()
    for (const p of this.participants.ok()) {
      // An agent with nothing to listen on and nothing to probe is left alone.
      if (p.listeners.length === 0 && p.probes === 0) continue
      p.started = true
      if (!p.conn.send({ type: 'run-start', runId: this.id, ttlMs, listeners: p.listeners, peers: [...p.peers] })) p.state = 'lost'
      // Said once, never needed again: a kept run should not hold every source's target list.
      p.peers.clear()
    }
    // Past their TTL the agents close the listeners by themselves, and a probe then meets a reset:
    // a false `refused`. Stop first (unfinished checks end `aborted`), leaving time to close.
    this.deadline = setTimeout(() => {
      this.logger.warn({ runId: this.id, ttlMs }, 'run reached the time its agents keep listeners open; aborting it (a shorter --timeout, more --concurrency or fewer hosts per run keep it within)')
      this.abort()
    }, Math.max(0, ttlMs - this.opts.closeTimeoutMs - RUN_DEADLINE_MARGIN_MS))
    this.deadline.unref()
    await this.until(() => this.participants.started().every((p) => p.ready), this.opts.listenTimeoutMs)
    if (this.aborted) return
    for (const p of this.participants.started()) {
      if (!p.ready) {
        this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not confirm its listeners in time')
        p.state = 'lost'
      }
    }
  }

  /** Sends this round's probes (see {@link sendRound}); returns how many were sent. */
  private probeRound (): number {
    const { sent, budgetMs } = sendRound(this, MAX_ROUNDS)
    this.roundBudgetMs = budgetMs
    return sent
  }

  private roundBudgetMs = 0

  /** Waits for every result of the round (each probe ends within its timeout; waves and slow agents allowed for). */
  private async collect (): Promise<void> {
    await this.until(() => this.participants.started().every((p) => p.resultsPending === 0), this.roundBudgetMs)
    if (this.aborted) return
    for (const p of this.participants.started()) {
      if (p.resultsPending > 0) {
        this.logger.warn({ runId: this.id, agent: p.name, missing: p.resultsPending }, 'agent did not report every probe in time')
        p.state = 'lost'
      }
    }
  }

  /**
   * Asks every agent still here to push out what it has and answer with its path figures. The
   * control channel is ordered, so once an agent has answered, every receipt it saw before is in:
   * a check whose nonce has not arrived by then was not received.
   */
  private async barrier (): Promise<void> {
    const seq = this.flushSeq++
    for (const p of this.participants.started()) {
      if (!p.conn.send({ type: 'flush', runId: this.id, seq })) p.state = 'lost'
    }
    await this.until(() => this.participants.started().every((p) => p.flushedSeq === seq), this.opts.flushTimeoutMs)
    if (this.aborted) return
    for (const p of this.participants.started()) {
      if (p.flushedSeq !== seq) {
        this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not answer the barrier in time')
        p.state = 'lost'
      }
    }
  }

  private finalize (): void {
    for (const check of this.plan.checks) {
      this.markDone(check.index)
      this.setVerdict(check, decide(check, this.observe(check, 0)))
    }
    // checkAt() recomputes details from the observations: they must not move after this point.
    this.frozen = true
  }

  private async closeAll (): Promise<void> {
    const open = this.participants.all().filter((p) => p.started && p.conn.open)
    for (const p of open) p.conn.send({ type: 'run-end', runId: this.id })
    await this.until(() => open.every((p) => p.closed || !p.conn.open), this.opts.closeTimeoutMs, true)
    for (const p of open) {
      if (!p.closed && p.conn.open) this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not confirm its listeners closed; it closes them itself when the run TTL ends')
    }
  }

  // ------------------------------------------------------------------ helpers

  /** What is known of a check now, for {@link decide}; `roundsLeft` rounds of re-probing remain. */
  observe (check: PlannedCheck, roundsLeft: number): Observation {
    return observation(this, check, roundsLeft, this.aborted)
  }

  /** @internal Decides a check from what is known now, and counts it as done. */
  settle (check: PlannedCheck): void {
    this.markDone(check.index)
    this.setVerdict(check, decide(check, this.observe(check, 0)))
  }

  /** @internal Counts a check as done (once). */
  markDone (index: number): void {
    if (this.counted[index] === 0) {
      this.counted[index] = 1
      this.done++
    }
  }

  /** @internal Records a check's status and reason. */
  setVerdict (check: PlannedCheck, verdict: Pick<Verdict, 'status' | 'reason'>): void {
    this.checks.setStatus(check.index, verdict.status as Status, verdict.reason)
  }

  /** Listeners must outlive the whole run, but not by much: binds, every round's waves and barrier, close, and a margin. */
  private ttlMs (): number {
    // Each round as long as collecting its results may wait (see roundBudgetMs), then its barrier.
    const round = roundBudgetMs(this.participants.maxProbesPerSource(), this.opts) + this.opts.flushTimeoutMs
    const localizing = this.opts.localize > 0 ? LOCALIZE_BUDGET_MS : 0
    const ms = this.opts.listenTimeoutMs + MAX_ROUNDS * round + localizing + this.opts.closeTimeoutMs + 30_000
    if (ms > this.opts.maxTtlMs) this.logger.warn({ runId: this.id, ttlMs: ms, limit: this.opts.maxTtlMs }, 'this run could outlast the hour agents keep listeners open for: a shorter --timeout, more --concurrency or fewer hosts per run keep it within')
    return Math.min(ms, this.opts.maxTtlMs)
  }

  private setState (state: RunState): void {
    this.state = state
    this.emit('state', state)
  }

  /** @internal Waits until `test()` holds, `ms` pass, or the run is aborted. */
  wait (test: () => boolean, ms: number): Promise<void> {
    return this.until(test, ms)
  }

  /** Waits until `test()` holds, the deadline passes, or (unless `ignoreAbort`) the run is aborted. */
  private until (test: () => boolean, ms: number, ignoreAbort = false): Promise<void> {
    if (test() || (this.aborted && !ignoreAbort)) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiter = null; resolve() }, ms)
      this.waiter = {
        test: () => test() || (this.aborted && !ignoreAbort),
        resolve: () => { clearTimeout(timer); this.waiter = null; resolve() }
      }
    })
  }

  /** @internal Re-tests what the run is waiting for. */
  poke (): void {
    const w = this.waiter
    if (w !== null && w.test()) w.resolve()
  }
}
