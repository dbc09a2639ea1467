import type { Logger } from 'pino'
import type { AgentMessage } from '@portcheck/protocol'
import type { AgentConnection } from '../hub/agent-hub.js'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import type { Localizer } from '../localize/localizer.js'
import type { EvidenceStores } from './observe.js'
import { decide, provingReceipt, type Observation, type Verdict } from './verdict.js'

/** What a run's inbox needs of the run: its stores, where it stands, and how it counts and decides. */
export interface InboxRun extends EvidenceStores {
  readonly id: string
  readonly plan: Plan
  readonly logger: Logger
  /** The probe round in progress (1 to MAX_ROUNDS). */
  readonly round: number
  /** True once verdicts are decided: nothing an agent says changes them any more. */
  readonly frozen: boolean
  /** Drop localization, which takes the agents' messages while it runs. */
  readonly localizer: Localizer | null
  observe: (check: PlannedCheck, roundsLeft: number) => Observation
  markDone: (index: number) => void
  setVerdict: (check: PlannedCheck, verdict: Pick<Verdict, 'status' | 'reason'>) => void
  /** Re-tests what the run is waiting for. */
  poke: () => void
}

/**
 * Takes in one message of a run's agent: listener states, probe results, receipts, accepted
 * connections, barrier answers. Only what this very agent may report counts: a result for a
 * probe it was given in this round, receipts within what its run can produce.
 */
export function takeMessage (run: InboxRun, conn: AgentConnection, msg: AgentMessage): void {
  if (msg.type === 'hello' || msg.runId !== run.id) return
  const p = run.participants.get(conn.name)
  if (p === undefined || p.conn !== conn || !p.started) return
  if (run.localizer?.take(p, msg) === true) { run.poke(); return }
  if (run.frozen) {
    if (msg.type === 'run-closed') { p.closed = true; run.poke() } else if (msg.type === 'received' || msg.type === 'probe-results') run.logger.debug({ runId: run.id, agent: p.name, type: msg.type }, 'late report after the verdicts were decided; ignored')
    return
  }
  switch (msg.type) {
    case 'run-ready':
      p.setReady(msg.listeners, msg.refPort, msg.more === true)
      break
    case 'probe-results':
      for (const r of msg.results) {
        const check = run.plan.checks[r.id]
        // A result counts only for a probe this very agent was given in this round and has not answered yet.
        if (check === undefined || check.from !== p.name || !run.checks.awaits(r.id, run.round) || !run.checks.setResult(r)) continue
        p.resultsPending--
        run.markDone(check.index)
      }
      break
    case 'received':
      for (const item of msg.items) {
        if (!p.mayReceipt()) {
          if (p.receipts === 4 * p.targeted + 1001) run.logger.warn({ runId: run.id, agent: p.name, limit: p.receipts - 1 }, 'agent reports more receipts than its run can produce; ignoring the rest')
          break
        }
        const idx = run.checks.indexOfNonce(item.nonce)
        if (idx === -1) {
          run.logger.debug({ runId: run.id, agent: p.name, port: item.port }, 'receipt of an unknown nonce ignored')
          continue
        }
        const check = run.plan.checks[idx] as PlannedCheck
        if (!run.checks.addReceipt(idx, { agent: p.name, protocol: item.protocol, port: item.port, address: item.address })) continue
        // Publish at once only what is proven; anything else waits for the barrier.
        if (run.checks.status(idx) !== 'pass' && provingReceipt(check, run.checks.receipts(idx)) !== undefined) {
          const verdict = decide(check, run.observe(check, 0))
          if (verdict.status === 'pass') { run.markDone(idx); run.setVerdict(check, verdict) }
        }
      }
      break
    case 'accepted':
      for (const item of msg.items) run.accepted.add(p.name, item)
      break
    case 'flushed':
      run.stats.update(p.name, msg.paths)
      run.arrivals.take(p.name, msg.counts, run.plan)
      p.setCrowded(msg.crowded)
      p.flushedSeq = msg.seq
      break
    case 'count-ready':
      run.arrivals.ready(p.name, msg.error)
      break
    case 'arrived':
      run.arrivals.arrived(p.name, msg.items)
      break
    case 'run-closed':
      p.closed = true
      break
  }
  run.poke()
}

/** An agent's connection closed during the run: before the verdicts, its unfinished checks become agent-lost. */
export function takeLeave (run: InboxRun, conn: AgentConnection): void {
  const p = run.participants.get(conn.name)
  if (p === undefined || p.conn !== conn) return
  p.closed = true
  if (run.frozen) { run.poke(); return }
  if (p.state === 'ok') run.logger.warn({ runId: run.id, agent: p.name }, 'agent left during the run')
  if (p.state === 'ok') p.state = 'lost'
  run.poke()
}
