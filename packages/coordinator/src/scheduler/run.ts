import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import {
  MAX_PROBES_PER_FRAME, type AgentMessage, type ListenOrder, type ListenerState, type ProbeOrder, type Status
} from '@portcheck/protocol'
import type { AgentConnection, AgentHub } from '../hub/agent-hub.js'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import { checkReport, emptyCounts, verdictOf, type CheckReport, type CheckRow, type Counts, type RunReport, type RunState, type RunSummary } from '../report/report.js'
import { CheckState } from './check-state.js'
import { decide, provingReceipt, type EndState, type Observation } from './verdict.js'

/** Tunables of a run. Every wait is bounded, so a run always ends. */
export interface RunOptions {
  /** Probe timeout, in ms. Default 3000. With `adaptive`, the longest a probe may take. */
  timeoutMs?: number
  /**
   * `--timeout auto`: agents give up on each probe after a deadline derived from the round trips
   * they measure during this run, per target (150 ms at least, `timeoutMs` at most). Default false.
   */
  adaptive?: boolean
  /** Most probes in flight per agent. Default 256. */
  concurrency?: number
  /** How long agents have to confirm their listeners, in ms. Default 15000. */
  listenTimeoutMs?: number
  /** How long agents have to answer the end-of-probing barrier, in ms. Default 5000. */
  flushTimeoutMs?: number
  /** How long agents have to confirm their listeners are closed, in ms. Default 5000. */
  closeTimeoutMs?: number
  /** The run this one re-runs the failed checks of, if any (shown in lists). */
  rerunOf?: string
}

interface Participant {
  name: string
  /** The host's inventory address (where its peers probe it). */
  address: string
  conn: AgentConnection
  state: EndState
  listeners: ListenOrder[]
  listenerKeys: Set<string>
  ready: boolean
  resultsPending: number
  flushed: boolean
  closed: boolean
}

export interface RunEvents {
  state: [RunState]
  done: [RunSummary]
}

let runCounter = 0

/** A short, unique, URL-safe run id. */
export function newRunId (): string {
  runCounter = (runCounter + 1) % 1296
  return `${Date.now().toString(36)}${runCounter.toString(36).padStart(2, '0')}${randomBytes(3).toString('hex')}`
}

/**
 * One pass over a plan: opens the target listeners (waiting for every bind to be confirmed),
 * has every source probe in parallel, waits for a barrier that guarantees every receipt is
 * in, decides every verdict, and closes the listeners, also on abort or error.
 */
export class Run extends EventEmitter<RunEvents> {
  readonly id: string
  /** The run whose failed checks this one re-runs, or null. */
  readonly rerunOf: string | null
  state: RunState = 'waiting'
  readonly startedAt = new Date()
  private finishedAt: Date | null = null
  private readonly timeoutMs: number
  private readonly concurrency: number
  private readonly opts: Required<RunOptions>
  private readonly participants = new Map<string, Participant>()
  private readonly checks: CheckState
  private readonly listenerStates = new Map<string, ListenerState>()
  private done = 0
  private readonly counted: Uint8Array
  /** Set when verdicts are decided: from then on, nothing an agent says or does changes them. */
  private frozen = false
  private missingAtStart: string[] = []
  private maxProbesPerSource = 0
  private aborted = false
  private waiter: { test: () => boolean, resolve: () => void } | null = null
  private readonly onMessage: (conn: AgentConnection, msg: AgentMessage) => void
  private readonly onLeft: (conn: AgentConnection) => void
  private flushSeq = 1

  constructor (readonly plan: Plan, private readonly hub: AgentHub, private readonly logger: Logger, options: RunOptions = {}, id = newRunId()) {
    super()
    this.id = id
    this.rerunOf = options.rerunOf ?? null
    this.opts = {
      timeoutMs: options.timeoutMs ?? 3000,
      concurrency: options.concurrency ?? 256,
      listenTimeoutMs: options.listenTimeoutMs ?? 15_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 5000,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      adaptive: options.adaptive ?? false,
      rerunOf: options.rerunOf ?? ''
    }
    this.timeoutMs = this.opts.timeoutMs
    this.concurrency = this.opts.concurrency
    const n = plan.checks.length
    this.checks = new CheckState(n)
    this.counted = new Uint8Array(n)
    this.onMessage = (conn, msg) => this.handle(conn, msg)
    this.onLeft = (conn) => this.left(conn)
  }

  /** Stops the run: what has not finished becomes inconclusive (`aborted`), and listeners close. */
  abort (): void {
    // Once verdicts are decided, stopping changes nothing: the run is only closing its listeners.
    if (this.aborted || this.frozen || this.state === 'done') return
    this.logger.warn({ runId: this.id }, 'run aborted')
    this.aborted = true
    this.poke()
  }

  /** Runs to the end; resolves with the final summary. Never rejects for network reasons. */
  async execute (): Promise<RunSummary> {
    this.hub.on('message', this.onMessage)
    this.hub.on('left', this.onLeft)
    try {
      this.prepare()
      this.setState('preparing')
      await this.openListeners()
      if (!this.aborted) {
        this.setState('probing')
        await this.probe()
      }
      if (!this.aborted) {
        this.setState('settling')
        await this.barrier()
      }
    } finally {
      this.finalize()
      this.setState('closing')
      await this.closeAll()
      this.hub.off('message', this.onMessage)
      this.hub.off('left', this.onLeft)
      this.finishedAt = new Date()
      this.setState(this.aborted ? 'aborted' : 'done')
    }
    const summary = this.summary()
    this.emit('done', summary)
    return summary
  }

  /** How far the run is, cheaply (no report is built). */
  progress (): { state: RunState, done: number, total: number, elapsedMs: number } {
    return { state: this.state, done: this.done, total: this.plan.checks.length, elapsedMs: (this.finishedAt ?? new Date()).getTime() - this.startedAt.getTime() }
  }

  /** The report without its checks: cheap at any size, for progress, lists and events. */
  summary (): RunSummary {
    const all = emptyCounts()
    const required = emptyCounts()
    const n = this.plan.checks.length
    for (let i = 0; i < n; i++) {
      const status = this.checks.status(i)
      const req = (this.plan.checks[i] as PlannedCheck).required
      all.checks++
      if (req) required.checks++
      if (status !== null) {
        all[status]++
        if (req) required[status]++
      }
    }
    const finished = this.state === 'done' || this.state === 'aborted'
    const { verdict, exitCode } = verdictOf(required)
    const expected = this.plan.hosts.length
    const lost = [...this.participants.values()].filter((p) => p.state === 'lost').map((p) => p.name)
    return {
      id: this.id,
      catalog: this.plan.catalog.id,
      catalogTitle: this.plan.catalog.title,
      state: this.state,
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.finishedAt?.toISOString() ?? null,
      durationMs: (this.finishedAt ?? new Date()).getTime() - this.startedAt.getTime(),
      timeoutMs: this.timeoutMs,
      adaptive: this.opts.adaptive,
      includeOptional: this.plan.includeOptional,
      settings: { ...this.plan.settings },
      summary: all,
      required,
      progress: { done: this.done, total: n },
      verdict: finished ? verdict : null,
      exitCode: finished ? exitCode : null,
      agents: { expected, joined: expected - this.missingAtStart.length, missing: this.missingAtStart, lost }
    }
  }

  /** One check's entry in the report, built on demand. */
  checkAt (index: number): CheckReport {
    const check = this.plan.checks[index] as PlannedCheck
    const result = this.checks.result(index)
    // Until a check is settled, its verdict is pending; afterwards it is recomputed from the
    // stored observations, which no longer change.
    const verdict = this.checks.status(index) === null ? null : decide(check, this.observe(check))
    return checkReport(check, verdict, result?.latencyMs ?? null, result?.attempts ?? null)
  }

  /** Every check's plan entry with its current status and reason, without building reports. */
  * rows (): Generator<CheckRow> {
    const n = this.plan.checks.length
    for (let i = 0; i < n; i++) {
      const c = this.plan.checks[i] as PlannedCheck
      yield { index: i, from: c.from, to: c.to, fromRole: c.fromRole, toRole: c.toRole, protocol: c.protocol, port: c.port, ...(c.portEnd !== undefined ? { portEnd: c.portEnd } : {}), required: c.required, status: this.checks.status(i), reason: this.checks.reason(i) }
    }
  }

  /** The whole report, checks included. For large runs prefer {@link writeJson}, which streams. */
  report (): RunReport {
    const checks: CheckReport[] = new Array(this.plan.checks.length)
    for (let i = 0; i < checks.length; i++) checks[i] = this.checkAt(i)
    return { ...this.summary(), checks }
  }

  /**
   * Writes the report as JSON, a slice of checks at a time, so a million-check report never sits
   * in memory whole. `write` may return a promise (backpressure); it is awaited.
   */
  async writeJson (write: (chunk: string) => unknown): Promise<void> {
    const head = JSON.stringify(this.summary(), null, 2)
    await write(head.slice(0, -2) + ',\n  "checks": [')
    const n = this.plan.checks.length
    for (let i = 0; i < n; i += 1000) {
      const parts: string[] = []
      for (let j = i; j < Math.min(n, i + 1000); j++) parts.push((j === 0 ? '\n    ' : ',\n    ') + JSON.stringify(this.checkAt(j)))
      await write(parts.join(''))
    }
    await write(n === 0 ? ']\n}\n' : '\n  ]\n}\n')
  }

  // ------------------------------------------------------------------ phases

  private prepare (): void {
    this.missingAtStart = this.plan.hosts.map((h) => h.name).filter((n) => this.hub.get(n) === undefined)
    const perSource = new Map<string, number>()
    for (const check of this.plan.checks) {
      if (check.skip !== null) {
        this.settle(check)
        continue
      }
      const src = this.participant(check.from as string, check.fromAddress as string)
      const dst = this.participant(check.to as string, check.toAddress as string)
      if (src === null || dst === null) {
        this.settle(check)
        continue
      }
      const n = (perSource.get(src.name) ?? 0) + 1
      perSource.set(src.name, n)
      if (n > this.maxProbesPerSource) this.maxProbesPerSource = n
      this.checks.markProbed(check.index)
      const key = `${check.protocol}/${check.port}`
      if (!dst.listenerKeys.has(key)) {
        dst.listenerKeys.add(key)
        dst.listeners.push({ protocol: check.protocol, port: check.port })
      }
    }
  }

  private async openListeners (): Promise<void> {
    const ttlMs = this.ttlMs()
    for (const p of this.participants.values()) {
      if (!p.conn.send({ type: 'run-start', runId: this.id, ttlMs, listeners: p.listeners })) p.state = 'lost'
    }
    await this.until(() => [...this.participants.values()].every((p) => p.ready || p.state !== 'ok'), this.opts.listenTimeoutMs)
    for (const p of this.participants.values()) {
      if (!p.ready && p.state === 'ok') {
        this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not confirm its listeners in time')
        p.state = 'lost'
      }
    }
  }

  private async probe (): Promise<void> {
    // Per source, its checks grouped by target (indexes only: orders are built frame by frame).
    const perSource = new Map<string, Map<string, number[]>>()
    for (const check of this.plan.checks) {
      if (!this.checks.isProbed(check.index) || this.checks.status(check.index) !== null) continue
      const src = this.participants.get(check.from as string) as Participant
      const dst = this.participants.get(check.to as string) as Participant
      const ls = this.listenerStates.get(`${dst.name}|${check.protocol}/${check.port}`)
      const probeable = src.state === 'ok' && dst.state === 'ok' && ls !== undefined &&
        (ls.state === 'open' || (ls.state === 'in-use' && check.protocol === 'tcp'))
      if (!probeable) {
        this.settle(check)
        continue
      }
      let byTarget = perSource.get(src.name)
      if (byTarget === undefined) { byTarget = new Map(); perSource.set(src.name, byTarget) }
      let list = byTarget.get(dst.name)
      if (list === undefined) { list = []; byTarget.set(dst.name, list) }
      list.push(check.index)
    }
    let longest = 0
    for (const [name, byTarget] of perSource) {
      const p = this.participants.get(name) as Participant
      // Interleave by target, so no target takes every source's first wave at once.
      const lists = [...byTarget.values()]
      const order = new Int32Array(lists.reduce((n, l) => n + l.length, 0))
      let k = 0
      for (let i = 0, more = true; more; i++) {
        more = false
        for (const l of lists) {
          const idx = l[i]
          if (idx !== undefined) { order[k++] = idx; more = true }
        }
      }
      // Upper estimates of each target's round trip, by the triangle through the coordinator.
      const rttHints: Array<{ host: string, ms: number }> = []
      if (this.opts.adaptive && p.conn.rttMs !== null) {
        for (const targetName of byTarget.keys()) {
          const t = this.participants.get(targetName) as Participant
          if (t.conn.rttMs !== null) rttHints.push({ host: t.address, ms: Math.round((p.conn.rttMs + t.conn.rttMs) * 1000) / 1000 })
        }
      }
      byTarget.clear()
      p.resultsPending = order.length
      longest = Math.max(longest, order.length)
      for (let i = 0; i < order.length; i += MAX_PROBES_PER_FRAME) {
        const probes: ProbeOrder[] = []
        for (let j = i; j < Math.min(order.length, i + MAX_PROBES_PER_FRAME); j++) {
          const check = this.plan.checks[order[j] as number] as PlannedCheck
          probes.push({ id: check.index, protocol: check.protocol, host: check.toAddress as string, port: check.port, nonce: this.checks.nonceFor(check.index), timeoutMs: this.timeoutMs })
        }
        const first = i === 0
        if (!p.conn.send({ type: 'probe', runId: this.id, concurrency: this.concurrency, ...(this.opts.adaptive ? { adaptive: true } : {}), ...(first && rttHints.length > 0 ? { rttHints } : {}), probes })) {
          p.state = 'lost'
          break
        }
      }
    }
    perSource.clear()
    // Every probe ends within its timeout; allow for waves of `concurrency` and for slow agents.
    const budget = Math.ceil(longest / this.concurrency) * (this.timeoutMs + 500) + 5000
    await this.until(() => [...this.participants.values()].every((p) => p.resultsPending === 0 || p.state !== 'ok'), budget)
    for (const p of this.participants.values()) {
      if (p.resultsPending > 0 && p.state === 'ok') {
        this.logger.warn({ runId: this.id, agent: p.name, missing: p.resultsPending }, 'agent did not report every probe in time')
        p.state = 'lost'
      }
    }
  }

  /**
   * Asks every agent still here to push out what it has and answer. The control channel is
   * ordered, so once an agent has answered, every receipt it saw before is in: a check whose
   * nonce has not arrived by then was not received.
   */
  private async barrier (): Promise<void> {
    const seq = this.flushSeq++
    for (const p of this.participants.values()) {
      if (p.state === 'ok' && !p.conn.send({ type: 'flush', runId: this.id, seq })) p.state = 'lost'
    }
    await this.until(() => [...this.participants.values()].every((p) => p.flushed || p.state !== 'ok'), this.opts.flushTimeoutMs)
    for (const p of this.participants.values()) {
      if (!p.flushed && p.state === 'ok') {
        this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not answer the barrier in time')
        p.state = 'lost'
      }
    }
  }

  private finalize (): void {
    for (const check of this.plan.checks) {
      this.markDone(check.index)
      this.setVerdict(check, decide(check, this.observe(check)))
    }
    // checkAt() recomputes details from the observations: they must not move after this point.
    this.frozen = true
  }

  private async closeAll (): Promise<void> {
    const open = [...this.participants.values()].filter((p) => p.conn.open)
    for (const p of open) p.conn.send({ type: 'run-end', runId: this.id })
    await this.until(() => open.every((p) => p.closed || !p.conn.open), this.opts.closeTimeoutMs, true)
    for (const p of open) {
      if (!p.closed && p.conn.open) this.logger.warn({ runId: this.id, agent: p.name }, 'agent did not confirm its listeners closed; it closes them itself when the run TTL ends')
    }
  }

  // ------------------------------------------------------------------ events from agents

  private handle (conn: AgentConnection, msg: AgentMessage): void {
    if (msg.type === 'hello' || msg.runId !== this.id) return
    const p = this.participants.get(conn.name)
    if (p === undefined || p.conn !== conn) return
    if (this.frozen) {
      if (msg.type === 'run-closed') { p.closed = true; this.poke() }
      else if (msg.type === 'received' || msg.type === 'probe-results') this.logger.warn({ runId: this.id, agent: p.name, type: msg.type }, 'late report after the verdicts were decided; ignored')
      return
    }
    switch (msg.type) {
      case 'run-ready':
        if (p.ready) return
        p.ready = true
        for (const ls of msg.listeners) {
          const key = `${ls.protocol}/${ls.port}`
          // Only listeners we asked for count; anything else is ignored, not trusted.
          if (p.listenerKeys.has(key)) this.listenerStates.set(`${p.name}|${key}`, ls)
        }
        break
      case 'probe-results':
        for (const r of msg.results) {
          const check = this.plan.checks[r.id]
          // A result counts only for a probe this very agent was given and has not answered yet.
          if (check === undefined || check.from !== p.name || !this.checks.isProbed(r.id) || !this.checks.setResult(r)) continue
          p.resultsPending--
          this.markDone(check.index)
          // Publish at once only what is proven; anything else waits for the barrier.
          const verdict = decide(check, this.observe(check))
          if (verdict.status === 'pass') this.setVerdict(check, verdict)
        }
        break
      case 'received':
        for (const item of msg.items) {
          const idx = this.checks.indexOfNonce(item.nonce)
          if (idx === -1) {
            this.logger.debug({ runId: this.id, agent: p.name, port: item.port }, 'receipt of an unknown nonce ignored')
            continue
          }
          const check = this.plan.checks[idx] as PlannedCheck
          this.checks.addReceipt(idx, { agent: p.name, protocol: item.protocol, port: item.port, address: item.address })
          if (this.checks.status(idx) !== 'pass' && provingReceipt(check, this.checks.receipts(idx)) !== undefined) this.settle(check)
        }
        break
      case 'flushed':
        p.flushed = true
        break
      case 'run-closed':
        p.closed = true
        break
    }
    this.poke()
  }

  private left (conn: AgentConnection): void {
    const p = this.participants.get(conn.name)
    if (p === undefined || p.conn !== conn) return
    p.closed = true
    if (this.frozen) { this.poke(); return }
    if (p.state === 'ok') this.logger.warn({ runId: this.id, agent: p.name }, 'agent left during the run')
    p.state = 'lost'
    this.poke()
  }

  // ------------------------------------------------------------------ helpers

  private participant (name: string, address: string): Participant | null {
    const existing = this.participants.get(name)
    if (existing !== undefined) return existing
    const conn = this.hub.get(name)
    if (conn === undefined) return null
    const p: Participant = { name, address, conn, state: 'ok', listeners: [], listenerKeys: new Set(), ready: false, resultsPending: 0, flushed: false, closed: false }
    this.participants.set(name, p)
    return p
  }

  private endState (name: string | null): EndState {
    if (name === null) return 'ok'
    const p = this.participants.get(name)
    return p === undefined ? 'missing' : p.state
  }

  private observe (check: PlannedCheck): Observation {
    const ls = check.to === null ? undefined : this.listenerStates.get(`${check.to}|${check.protocol}/${check.port}`)
    return {
      source: this.endState(check.from),
      target: this.endState(check.to),
      listener: ls?.state ?? null,
      ...(ls?.error !== undefined ? { listenerError: ls.error } : {}),
      result: this.checks.result(check.index),
      receipts: this.checks.receipts(check.index),
      aborted: this.aborted
    }
  }

  /** Decides a check from what is known now, and counts it as done. */
  private settle (check: PlannedCheck): void {
    this.markDone(check.index)
    this.setVerdict(check, decide(check, this.observe(check)))
  }

  private markDone (index: number): void {
    if (this.counted[index] === 0) {
      this.counted[index] = 1
      this.done++
    }
  }

  private setVerdict (check: PlannedCheck, verdict: { status: Status, reason: string | null }): void {
    this.checks.setStatus(check.index, verdict.status, verdict.reason)
  }

  /** Listeners must outlive the whole run, but not by much: binds, probe waves, barrier and close, plus a margin. */
  private ttlMs (): number {
    return this.opts.listenTimeoutMs + Math.ceil(this.maxProbesPerSource / this.concurrency + 1) * (this.timeoutMs + 500) +
      this.opts.flushTimeoutMs + this.opts.closeTimeoutMs + 30_000
  }

  private setState (state: RunState): void {
    this.state = state
    this.emit('state', state)
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

  private poke (): void {
    const w = this.waiter
    if (w !== null && w.test()) w.resolve()
  }
}
