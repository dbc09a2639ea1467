import { MAX_COUNTED_SYNS, MAX_ITEMS_PER_FRAME, familyOf, type AcceptedConnection, type ArrivalCount, type CountOrder } from '@portcheck/protocol'
import type { Logger } from 'pino'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import { watchedAddresses } from '../localize/watched-addresses.js'
import { canonicalAddress } from '../inventory/host-addresses.js'
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

/** Most SYNs remembered per run, from all agents: what the run's memory for them is bounded by. */
const MAX_SYNS_PER_RUN = 200_000
/** Most SYNs remembered from one agent in a run: what its two sets can hold, so one cannot take every other's share. */
const MAX_SYNS_PER_AGENT = 2 * MAX_COUNTED_SYNS

/**
 * Checks whose port another process holds on the target: nothing of ours can listen there, but
 * a target agent that can use nftables counts arrivals past its own filters. UDP: the check's
 * probe datagrams (its nonce, from the source's addresses); a positive count is proof of arrival
 * (`pass` `counted`), without it the check stays `inconclusive` `port-in-use`. TCP: the SYNs
 * from the source's addresses, by source port; a completed handshake whose local port is among
 * them reached the target host (`pass` `counted`), not something that answered in its place.
 * A target whose SYNs were not all kept (past either bound) is marked: none seen proves nothing.
 */
export class ArrivalCounts {
  private readonly counted = new Set<number>()
  private readonly packets = new Map<number, number>()
  /** TCP checks counted: the addresses watched for each. */
  private readonly tcpFrom = new Map<number, ReadonlySet<string>>()
  /** SYNs seen, by `target|port|sourcePort`: the source addresses. */
  private readonly syns = new Map<string, string[]>()
  private synCount = 0
  /** SYNs kept, by target. */
  private readonly synsBy = new Map<string, number>()
  /** Targets that reported SYNs past a bound, which were not kept. */
  private readonly overflowed = new Set<string>()
  /** Targets asked to count: undefined while waiting, null when counting, else why not. */
  private readonly asked = new Map<string, { p: Participant, items: CountOrder[], ready?: string | null }>()

  /** Whether arrivals of this check are counted (its probe is sent although our listener is not there). */
  isCounted (index: number): boolean {
    return this.counted.has(index)
  }

  /** A UDP check's count so far; null when it is not counted (or is TCP). */
  count (index: number): number | null {
    return this.counted.has(index) && !this.tcpFrom.has(index) ? this.packets.get(index) ?? 0 : null
  }

  /**
   * A TCP check: how many of the source's completed handshakes (their local ports) the target
   * saw the SYN of, from an address watched for the source; null when it is not counted.
   */
  synsOf (check: PlannedCheck, localPorts: readonly number[]): number | null {
    const from = this.tcpFrom.get(check.index)
    if (from === undefined || !this.counted.has(check.index)) return null
    let n = 0
    for (const p of localPorts) {
      if ((this.syns.get(`${check.to as string}|${check.port}|${p}`) ?? []).some((a) => from.has(a))) n++
    }
    return n
  }

  /** Whether this target reported SYNs that were not kept: its count of none proves nothing. */
  synsOverflowed (target: string): boolean {
    return this.overflowed.has(target)
  }

  /** Asks the targets to count, and waits for them (bounded). Checks whose target cannot are left as they are. */
  async start (run: CountingRun): Promise<void> {
    const wanted: PlannedCheck[] = []
    for (const c of run.plan.checks) {
      if (!run.checks.isProbed(c.index) || run.checks.status(c.index) !== null) continue
      const dst = run.participants.get(c.to as string)
      if (dst === undefined || dst.state !== 'ok' || dst.listenerState(c.protocol, c.port)?.state !== 'in-use' || !dst.conn.record.nftables.usable) continue
      wanted.push(c)
    }
    if (wanted.length === 0) return
    const from = watchedAddresses(run.plan, run.participants, run.checks, wanted)
    for (const c of wanted) {
      const addresses = from.get(c.from as string) ?? []
      if (addresses.length === 0) continue
      const dst = run.participants.get(c.to as string) as Participant
      const entry = this.asked.get(dst.name) ?? { p: dst, items: [] }
      // One `count-start` per target, within the frame bound: beyond it, UDP checks stay port-in-use and TCP ones existing-listener.
      if (entry.items.length >= MAX_ITEMS_PER_FRAME) continue
      if (c.protocol === 'tcp') {
        entry.items.push({ id: c.index, protocol: 'tcp', port: c.port, from: addresses })
        this.tcpFrom.set(c.index, new Set(addresses))
      } else {
        entry.items.push({ id: c.index, port: c.port, from: addresses, nonce: run.checks.nonceFor(c.index) })
      }
      this.asked.set(dst.name, entry)
    }
    const asked = [...this.asked.values()]
    for (const a of asked) if (!a.p.conn.send({ type: 'count-start', runId: run.id, items: a.items })) a.ready = 'its agent left'
    await run.wait(() => asked.every((a) => a.ready !== undefined || !a.p.conn.open), COUNT_READY_MS)
    for (const a of asked) {
      if (a.ready === null) { for (const o of a.items) this.counted.add(o.id); continue }
      run.logger.warn({ runId: run.id, agent: a.p.name, why: a.ready ?? 'no answer in time' }, 'agent cannot count arrivals on ports another process holds; those UDP checks stay port-in-use, those TCP checks existing-listener')
    }
  }

  /** A target's answer to `count-start`. */
  ready (agent: string, error: string | undefined): void {
    const a = this.asked.get(agent)
    if (a !== undefined && a.ready === undefined) a.ready = error ?? null
  }

  /** A target's SYNs, from its `arrived`: only to TCP ports it was asked to count, within the run's bounds. */
  arrived (agent: string, items: readonly AcceptedConnection[]): void {
    const ports = new Set(this.asked.get(agent)?.items.filter((o) => o.protocol === 'tcp').map((o) => o.port))
    let kept = this.synsBy.get(agent) ?? 0
    for (const i of items) {
      if (!ports.has(i.port) || familyOf(i.address) === null) continue
      if (this.synCount >= MAX_SYNS_PER_RUN || kept >= MAX_SYNS_PER_AGENT) { this.overflowed.add(agent); break }
      const key = `${agent}|${i.port}|${i.remotePort}`
      const address = canonicalAddress(i.address)
      const list = this.syns.get(key)
      if (list === undefined) this.syns.set(key, [address])
      else list.push(address)
      this.synCount++
      kept++
    }
    this.synsBy.set(agent, kept)
  }

  /** A target's counts, from its `flushed`: only for checks it was asked to count. */
  take (agent: string, counts: readonly ArrivalCount[] | undefined, plan: Plan): void {
    for (const c of counts ?? []) {
      if (this.counted.has(c.id) && plan.checks[c.id]?.to === agent) this.packets.set(c.id, c.packets)
    }
  }
}
