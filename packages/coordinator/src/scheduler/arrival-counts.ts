import { MAX_ITEMS_PER_FRAME, type ArrivalCount, type CountOrder } from '@portcheck/protocol'
import type { Logger } from 'pino'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import { watchedAddresses } from '../localize/watched-addresses.js'
import type { CheckState } from './check-state.js'
import type { Participant, Participants } from './participants.js'

/** Longest agents have to add their counters, in ms. */
const COUNT_READY_MS = 5000

/** What counting needs of its run. */
export interface CountingRun {
  readonly id: string
  readonly plan: Plan
  readonly logger: Logger
  readonly participants: Participants
  readonly checks: CheckState
  readonly aborted: boolean
  /** Waits until `test()` holds, `ms` have passed, or the run is aborted. */
  wait: (test: () => boolean, ms: number) => Promise<void>
}

/**
 * UDP checks whose port another process holds on the target: nothing of ours can listen there,
 * but a target agent that can use nftables counts the check's probe datagrams (its nonce, from
 * the source's addresses) getting past its own filters. A positive count is proof of arrival
 * (`pass` `counted`); without it the check stays `inconclusive` `port-in-use`.
 */
export class ArrivalCounts {
  private readonly counted = new Set<number>()
  private readonly packets = new Map<number, number>()
  /** Targets asked to count: undefined while waiting, null when counting, else why not. */
  private readonly asked = new Map<string, { p: Participant, items: CountOrder[], ready?: string | null }>()

  /** Whether arrivals of this check are counted (its probe is sent although our listener is not there). */
  isCounted (index: number): boolean {
    return this.counted.has(index)
  }

  /** The check's count so far; null when it is not counted. */
  count (index: number): number | null {
    return this.counted.has(index) ? this.packets.get(index) ?? 0 : null
  }

  /** Asks the targets to count, and waits for them (bounded). Checks whose target cannot are left as they are. */
  async start (run: CountingRun): Promise<void> {
    const wanted: PlannedCheck[] = []
    for (const c of run.plan.checks) {
      if (c.protocol !== 'udp' || !run.checks.isProbed(c.index) || run.checks.status(c.index) !== null) continue
      const dst = run.participants.get(c.to as string)
      if (dst === undefined || dst.state !== 'ok' || dst.listenerState('udp', c.port)?.state !== 'in-use' || !dst.conn.record.nftables.usable) continue
      wanted.push(c)
    }
    if (wanted.length === 0) return
    const from = watchedAddresses(run.plan, run.participants, run.checks, wanted)
    for (const c of wanted) {
      const addresses = from.get(c.from as string) ?? []
      if (addresses.length === 0) continue
      const dst = run.participants.get(c.to as string) as Participant
      const entry = this.asked.get(dst.name) ?? { p: dst, items: [] }
      // One `count-start` per target, within the frame bound: beyond it, checks stay port-in-use.
      if (entry.items.length >= MAX_ITEMS_PER_FRAME) continue
      entry.items.push({ id: c.index, port: c.port, from: addresses, nonce: run.checks.nonceFor(c.index) })
      this.asked.set(dst.name, entry)
    }
    const asked = [...this.asked.values()]
    for (const a of asked) if (!a.p.conn.send({ type: 'count-start', runId: run.id, items: a.items })) a.ready = 'its agent left'
    await run.wait(() => asked.every((a) => a.ready !== undefined || !a.p.conn.open), COUNT_READY_MS)
    for (const a of asked) {
      if (a.ready === null) { for (const o of a.items) this.counted.add(o.id); continue }
      run.logger.warn({ runId: run.id, agent: a.p.name, why: a.ready ?? 'no answer in time' }, 'agent cannot count UDP arrivals on ports another process holds; those checks stay port-in-use')
    }
  }

  /** A target's answer to `count-start`. */
  ready (agent: string, error: string | undefined): void {
    const a = this.asked.get(agent)
    if (a !== undefined && a.ready === undefined) a.ready = error ?? null
  }

  /** A target's counts, from its `flushed`: only for checks it was asked to count. */
  take (agent: string, counts: readonly ArrivalCount[] | undefined, plan: Plan): void {
    for (const c of counts ?? []) {
      if (this.counted.has(c.id) && plan.checks[c.id]?.to === agent) this.packets.set(c.id, c.packets)
    }
  }
}
