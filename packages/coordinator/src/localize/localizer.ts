import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { AgentMessage, ProbeOrder, TraceFinding, TraceOrder } from '@portcheck/protocol'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import type { CheckState } from '../scheduler/check-state.js'
import type { Participant, Participants } from '../scheduler/participants.js'
import { decideDrop } from './drop-decision.js'
import { LOCALIZABLE, summaryText, type CheckLocation, type LocalizationSummary } from './localization.js'
import { watchedAddresses } from './watched-addresses.js'

/** Longest the whole localization of a run may take, in ms (a minute): every wait below is cut to what is left of it. */
export const LOCALIZE_BUDGET_MS = 60_000
/** Longest agents have to start tracing (their monitor listening, their table added), in ms. */
const ARM_TIMEOUT_MS = 8000
/** Longest agents have to stop tracing and report, in ms. */
const STOP_TIMEOUT_MS = 10_000
/** Unanswered attempts a localization re-probe makes before it gives up: enough packets to trace, few enough to be quick. */
const REPROBE_ATTEMPTS = 3
/** The probe round number of the localization re-probe: after the run's rounds, so no result is taken for theirs. */
export const LOCALIZE_ROUND = 4
/** The barrier sequence of the localization re-probe, apart from the rounds'. */
const LOCALIZE_SEQ = 1_000_000

/** What localization needs of its run. */
export interface LocalizeRun {
  readonly id: string
  readonly plan: Plan
  readonly logger: Logger
  readonly participants: Participants
  readonly checks: CheckState
  /** `localize`: most checks localized (`--localize`). */
  readonly opts: { readonly localize: number, readonly timeoutMs: number, readonly concurrency: number, readonly flushTimeoutMs: number }
  /** Waits until `test()` holds, `ms` have passed, or localization is stopped (the run was aborted). */
  waitLocalizing: (test: () => boolean, ms: number) => Promise<void>
  readonly localizeStopped: boolean
}

/** One agent's part in a trace. */
interface TraceAgent {
  p: Participant
  orders: TraceOrder[]
  /** Undefined while waiting; null when tracing; else why not. */
  ready?: string | null
  findings?: Map<string, TraceFinding>
  /** Its interfaces with netdev ingress chains of the operator's that its trace could not watch. */
  unwatched?: string[]
  error?: string
}

/**
 * Localizes the drops of a run's blocked checks: after the verdicts are decided and before the
 * listeners close, the source and target agents of each blocked check (up to the run's limit)
 * trace one more probe of it through their own nftables rules, and the evidence says where it
 * was dropped ({@link decideDrop}). Verdicts never change: a re-probe that passes is said in the
 * check's detail, not turned into a pass. Every wait is bounded, and all of it by
 * {@link LOCALIZE_BUDGET_MS}.
 */
export class Localizer {
  /** What was found per check index. */
  readonly found = new Map<number, CheckLocation>()
  summary: LocalizationSummary | null = null
  private active = false
  private readonly agents = new Map<string, TraceAgent>()
  private readonly nonces = new Map<string, number>()
  private readonly passed = new Set<number>()
  /** Re-probe results still owed, per source agent. */
  private readonly owed = new Map<string, Set<number>>()
  private readonly flushed = new Set<string>()
  private deadline = 0

  constructor (private readonly run: LocalizeRun) {}

  /** The blocked checks a drop can be localized for, in plan order. */
  private candidates (): PlannedCheck[] {
    return this.run.plan.checks.filter((c) => this.run.checks.status(c.index) === 'blocked' && LOCALIZABLE.has(this.run.checks.reason(c.index) ?? ''))
  }

  private left (ms: number): number {
    return Math.max(0, Math.min(ms, this.deadline - Date.now()))
  }

  /** Runs the localization; fills {@link found} and {@link summary}. Never throws for network reasons. */
  async execute (): Promise<void> {
    const run = this.run
    this.deadline = Date.now() + LOCALIZE_BUDGET_MS
    const candidates = this.candidates()
    const chosen = candidates.slice(0, run.opts.localize)
    const unavailable = new Map<string, string>()
    const usable = (p: Participant | undefined, name: string): p is Participant => {
      const why = p === undefined || p.state !== 'ok' || !p.conn.open ? 'its agent left the run' : p.conn.record.nftables.usable ? null : p.conn.record.nftables.why ?? 'its agent does not trace'
      if (why !== null && !unavailable.has(name)) unavailable.set(name, why)
      return why === null
    }
    const traced: PlannedCheck[] = []
    const watched = watchedAddresses(run.plan, run.participants, run.checks, chosen)
    for (const c of chosen) {
      const src = run.participants.get(c.from as string)
      const dst = run.participants.get(c.to as string)
      const srcOk = usable(src, c.from as string)
      const dstOk = usable(dst, c.to as string)
      if (!srcOk && !dstOk) continue
      if (src === undefined || src.state !== 'ok' || !src.conn.open) continue
      traced.push(c)
      if (srcOk) this.agent(src).orders.push({ id: c.index, role: 'source', protocol: c.protocol, port: c.port, host: c.toAddress as string })
      const from = watched.get(c.from as string) ?? []
      if (dstOk && from.length > 0) this.agent(dst as Participant).orders.push({ id: c.index, role: 'target', protocol: c.protocol, port: c.port, from })
    }
    let tracedCount = 0
    if (traced.length > 0 && !run.localizeStopped) {
      this.active = true
      try {
        tracedCount = await this.trace(traced, unavailable)
      } finally {
        this.active = false
      }
    }
    const localized = [...this.found.values()].filter((f) => f.droppedAt !== undefined).length
    const base = {
      limit: run.opts.localize,
      candidates: candidates.length,
      traced: tracedCount,
      localized,
      overLimit: candidates.length - chosen.length,
      unavailable: [...unavailable].map(([host, why]) => ({ host, why })).sort((a, b) => a.host.localeCompare(b.host))
    }
    this.summary = { ...base, text: summaryText(base, run.localizeStopped) }
    run.logger.info({ runId: run.id, ...base, unavailable: base.unavailable.length }, this.summary.text)
  }

  private agent (p: Participant): TraceAgent {
    let a = this.agents.get(p.name)
    if (a === undefined) { a = { p, orders: [] }; this.agents.set(p.name, a) }
    return a
  }

  /** Arms the agents, re-probes, takes the barrier, stops the agents and decides. Returns the checks traced. */
  private async trace (checks: PlannedCheck[], unavailable: Map<string, string>): Promise<number> {
    const run = this.run
    const agents = [...this.agents.values()]
    for (const a of agents) {
      if (!a.p.conn.send({ type: 'trace-start', runId: run.id, items: a.orders })) a.ready = 'its agent left the run'
    }
    await run.waitLocalizing(() => agents.every((a) => a.ready !== undefined || !a.p.conn.open), this.left(ARM_TIMEOUT_MS))
    for (const a of agents) {
      if (a.ready === undefined) a.ready = a.p.conn.open ? 'it did not start tracing in time' : 'its agent left the run'
      if (a.ready !== null) unavailable.set(a.p.name, a.ready)
    }
    const tracing = agents.filter((a) => a.ready === null)
    const watchedBy = (c: PlannedCheck): boolean => tracing.some((a) => a.orders.some((o) => o.id === c.index))
    const reprobed = checks.filter(watchedBy)
    if (reprobed.length > 0 && !run.localizeStopped) {
      this.reprobe(reprobed)
      await run.waitLocalizing(() => [...this.owed].every(([name, ids]) => ids.size === 0 || !(run.participants.get(name)?.conn.open ?? false)), this.left(this.run.opts.timeoutMs + 5500))
      const ends = new Set(reprobed.flatMap((c) => [c.from as string, c.to as string]))
      const barrier = [...ends].map((n) => run.participants.get(n)).filter((p): p is Participant => p !== undefined && p.conn.open)
      for (const p of barrier) p.conn.send({ type: 'flush', runId: run.id, seq: LOCALIZE_SEQ })
      await run.waitLocalizing(() => barrier.every((p) => this.flushed.has(p.name) || !p.conn.open), this.left(run.opts.flushTimeoutMs))
    }
    for (const a of tracing) a.p.conn.send({ type: 'trace-stop', runId: run.id })
    // Stopped or not, agents delete their tables at run end whatever happens here.
    if (!run.localizeStopped) await run.waitLocalizing(() => tracing.every((a) => a.findings !== undefined || !a.p.conn.open), Math.max(this.left(STOP_TIMEOUT_MS), 2000))
    for (const a of tracing) if (a.findings === undefined) unavailable.set(a.p.name, 'it did not report its trace in time')
    if (run.localizeStopped) return reprobed.length
    const watched = watchedAddressesOf(tracing)
    for (const c of reprobed) {
      const finding = (name: string, role: 'source' | 'target'): TraceFinding | null => this.agents.get(name)?.findings?.get(`${role}:${c.index}`) ?? null
      this.found.set(c.index, decideDrop({
        from: c.from as string,
        to: c.to as string,
        passed: this.passed.has(c.index),
        source: finding(c.from as string, 'source'),
        target: finding(c.to as string, 'target'),
        watched: watched.get(c.index) ?? [],
        targetUnwatched: this.agents.get(c.to as string)?.unwatched ?? []
      }))
    }
    return reprobed.length
  }

  /** Sends each source its re-probes: the same check, a fresh nonce, a few attempts. */
  private reprobe (checks: PlannedCheck[]): void {
    const run = this.run
    const bySource = new Map<Participant, ProbeOrder[]>()
    for (const c of checks) {
      const src = run.participants.get(c.from as string) as Participant
      const dst = run.participants.get(c.to as string) as Participant
      const nonce = randomBytes(18).toString('base64url')
      this.nonces.set(nonce, c.index)
      const orders = bySource.get(src) ?? []
      orders.push({
        id: c.index,
        protocol: c.protocol,
        host: c.toAddress as string,
        port: c.port,
        nonce,
        timeoutMs: Math.min(run.opts.timeoutMs, 3000),
        need: REPROBE_ATTEMPTS,
        ...(dst.listenerState(c.protocol, c.port)?.state === 'in-use' ? { held: true } : {})
      })
      bySource.set(src, orders)
    }
    for (const [src, probes] of bySource) {
      this.owed.set(src.name, new Set(probes.map((o) => o.id)))
      if (!src.conn.send({ type: 'probe', runId: run.id, round: LOCALIZE_ROUND, concurrency: run.opts.concurrency, probes })) this.owed.delete(src.name)
    }
  }

  /**
   * Takes a message of the run's agents while localizing: trace answers, re-probe results,
   * receipts of re-probe nonces, the barrier. Returns false when not localizing (the run's inbox
   * handles it).
   */
  take (p: Participant, msg: AgentMessage): boolean {
    if (!this.active) return false
    switch (msg.type) {
      case 'trace-ready': {
        const a = this.agents.get(p.name)
        if (a !== undefined && a.ready === undefined) a.ready = msg.error ?? null
        return true
      }
      case 'trace-result': {
        const a = this.agents.get(p.name)
        if (a === undefined || a.ready !== null || a.findings !== undefined) return true
        // Only findings for what this agent was asked to watch, in the role it was asked.
        const asked = new Set(a.orders.map((o) => `${o.role}:${o.id}`))
        a.findings = new Map(msg.items.filter((f) => asked.has(`${f.role}:${f.id}`)).map((f) => [`${f.role}:${f.id}`, f]))
        a.unwatched = msg.unwatched ?? []
        if (msg.truncated === true) this.run.logger.warn({ runId: this.run.id, agent: p.name }, 'the trace was cut at the agent\'s bound: some findings may be missing')
        return true
      }
      case 'probe-results': {
        const owed = this.owed.get(p.name)
        for (const r of msg.results) owed?.delete(r.id)
        return true
      }
      case 'received':
        for (const item of msg.items) {
          const i = this.nonces.get(item.nonce)
          const c = i === undefined ? undefined : this.run.plan.checks[i]
          if (c !== undefined && c.to === p.name && c.protocol === item.protocol && c.port === item.port) this.passed.add(c.index)
        }
        return true
      case 'flushed':
        if (msg.seq === LOCALIZE_SEQ) this.flushed.add(p.name)
        return true
      case 'accepted':
        return true
      default:
        return false
    }
  }
}

/** The source addresses each traced check's target watched for. */
function watchedAddressesOf (tracing: readonly TraceAgent[]): Map<number, string[]> {
  const out = new Map<number, string[]>()
  for (const a of tracing) for (const o of a.orders) if (o.role === 'target' && o.from !== undefined) out.set(o.id, o.from)
  return out
}
