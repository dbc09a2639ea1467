import type { ProbeOrder } from '@portcheck/protocol'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import type { ArrivalCounts } from './arrival-counts.js'
import type { CheckState } from './check-state.js'
import type { Participant, Participants } from './participants.js'
import { pathHints, probeFrames, probeOrder } from './probe-orders.js'
import { decide, type Observation } from './verdict.js'

/** What sending a round needs of its run. */
export interface RoundRun {
  readonly id: string
  readonly plan: Plan
  readonly round: number
  readonly participants: Participants
  readonly checks: CheckState
  readonly arrivals: ArrivalCounts
  readonly opts: { timeoutMs: number, concurrency: number, adaptive: boolean }
  observe: (check: PlannedCheck, roundsLeft: number) => Observation
  /** Decides a check that can no longer be probed. */
  settle: (check: PlannedCheck) => void
}

/** What a round's results may take beyond its waves of probes: results behind retransmissions on a lossy control channel, in ms. */
const ROUND_SLACK_MS = 60_000

/**
 * How long a round of `probes` probes from one source may take, in ms: waves of `concurrency`,
 * each within the timeout (and half a second), and {@link ROUND_SLACK_MS}.
 */
export function roundBudgetMs (probes: number, opts: { timeoutMs: number, concurrency: number }): number {
  return Math.ceil(probes / opts.concurrency) * (opts.timeoutMs + 500) + ROUND_SLACK_MS
}

/**
 * Sends a round's probes: in the first, every probed check whose ends are still here; in the
 * next ones, the checks that lack evidence, each with the attempts it still needs. Checks that
 * can no longer be probed are settled. Returns how many probes were sent, and how long their
 * results may take (waves of `concurrency`, each within the timeout, and results that sit behind
 * retransmissions on a lossy control channel), in ms.
 *
 * @param maxRounds the run's last round
 */
export function sendRound (run: RoundRun, maxRounds: number): { sent: number, budgetMs: number } {
  const round = run.round
  const perSource = new Map<Participant, Map<string, number[]>>()
  const need = new Map<number, number>()
  const targetOf = new Map<string, Participant>()
  for (const check of run.plan.checks) {
    const i = check.index
    if (!run.checks.isProbed(i) || run.checks.status(i) !== null) continue
    if (round > 1) {
      // Re-evaluated every round on the figures of the last barrier, which keep growing: only
      // passes (and what can no longer be probed) are settled before the end.
      const verdict = decide(check, run.observe(check, maxRounds - round + 1))
      if (verdict.more === undefined) continue
      need.set(i, verdict.more)
    }
    const src = run.participants.get(check.from as string) as Participant
    const dst = run.participants.get(check.to as string) as Participant
    // A UDP port another process holds is probed only when its target counts the arrivals.
    const probeable = dst.probeable(check.protocol, check.port) || run.arrivals.isCounted(i)
    if (src.state !== 'ok' || dst.state !== 'ok' || !probeable) { run.settle(check); continue }
    let byTarget = perSource.get(src)
    if (byTarget === undefined) { byTarget = new Map(); perSource.set(src, byTarget) }
    // Per target address: each of a host's families is a path of its own.
    const to = check.toAddress as string
    let list = byTarget.get(to)
    if (list === undefined) { list = []; byTarget.set(to, list) }
    list.push(i)
    targetOf.set(to, dst)
  }
  let sent = 0
  let longest = 0
  for (const [p, byTarget] of perSource) {
    const build = (i: number): ProbeOrder => {
      const c = run.plan.checks[i] as PlannedCheck
      const dst = run.participants.get(c.to as string) as Participant
      run.checks.await(i, round)
      return probeOrder(c, run.checks.nonceFor(i), run.opts.timeoutMs, need.get(i), c.protocol === 'tcp' && dst.listenerState(c.protocol, c.port)?.state === 'in-use')
    }
    const targets = [...byTarget.keys()].map((address) => {
      const t = targetOf.get(address) as Participant
      return { address, refPort: t.refPort, rttMs: t.conn.rttMs }
    })
    const frames = probeFrames(run.id, round, [...byTarget.values()], build, {
      concurrency: run.opts.concurrency,
      adaptive: run.opts.adaptive,
      ...pathHints(p.conn.rttMs, targets)
    })
    const count = [...byTarget.values()].reduce((n, l) => n + l.length, 0)
    p.resultsPending = count
    longest = Math.max(longest, count)
    sent += count
    for (const frame of frames) {
      if (!p.conn.send(frame)) { p.state = 'lost'; break }
    }
  }
  return { sent, budgetMs: roundBudgetMs(longest, run.opts) }
}
