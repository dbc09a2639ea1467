import type { UdpCrowding } from '@portcheck/protocol'
import type { PlannedCheck } from '../plan/expand.js'
import { checkFamily } from '../plan/families.js'
import type { AcceptedIndex } from './accepted-index.js'
import type { CheckState } from './check-state.js'
import type { Participants } from './participants.js'
import type { PathStats } from './path-stats.js'
import type { ArrivalCounts } from './arrival-counts.js'
import type { Observation } from './verdict.js'

/** Where a run keeps what it learns: the agents, each check's results and receipts, the paths' figures, the connections without a nonce. */
export interface EvidenceStores {
  readonly participants: Participants
  readonly checks: CheckState
  readonly stats: PathStats
  readonly accepted: AcceptedIndex
  /** UDP arrivals counted on ports another process holds. */
  readonly arrivals: ArrivalCounts
}

/** The first end of a check whose agent cannot serve the check's family, and why. */
function familyGap (parts: Participants, check: PlannedCheck): Pick<Observation, 'familyGap'> {
  for (const [host, gap] of [[check.from, parts.gapOf(check.from, check.family)], [check.to, parts.gapOf(check.to, check.family)]] as const) {
    if (gap !== undefined && host !== null) return { familyGap: { host, ...gap } }
  }
  return {}
}

/**
 * Everything a run knows of one check, gathered for `decide()` (scheduler/verdict.ts), which
 * alone turns it into a verdict. `roundsLeft` is how many re-probe rounds remain (0: decide now).
 */
export function observation (stores: EvidenceStores, check: PlannedCheck, roundsLeft: number, aborted: boolean): Observation {
  const parts = stores.participants
  const src = check.from === null ? undefined : parts.get(check.from)
  const dst = check.to === null ? undefined : parts.get(check.to)
  const ls = dst?.listenerState(check.protocol, check.port)
  const result = stores.checks.result(check.index)
  const probed = stores.checks.isProbed(check.index) && src !== undefined && dst !== undefined
  return {
    source: parts.endState(check.from),
    target: parts.endState(check.to),
    misplaced: { ...(src?.misplaced !== undefined ? { source: src.misplaced } : {}), ...(dst?.misplaced !== undefined ? { target: dst.misplaced } : {}) },
    missing: endsOf(parts.missingReason(check.from), parts.missingReason(check.to)),
    ...familyGap(parts, check),
    listener: ls?.state ?? null,
    ...(ls?.error !== undefined ? { listenerError: ls.error } : {}),
    result,
    receipts: stores.checks.receipts(check.index),
    ownerOf: (a) => parts.ownerOf(a),
    reached: probed && result?.connected !== undefined ? stores.accepted.reached(dst.name, check.port, src.addresses, result.connected, (a) => parts.ownerOf(a) !== undefined, checkFamily(check, result)) : 0,
    crowd: probed && check.protocol === 'tcp' ? stores.accepted.fromOthers(dst.name, check.port, src.addresses) : 0,
    ...udpCrowd(probed && check.protocol === 'udp' ? dst?.crowded.get(check.port) : undefined),
    judged: probed ? stores.stats.judge(src.name, check.toAddress as string, check.protocol) : null,
    roundsLeft,
    aborted,
    counted: stores.arrivals.count(check.index),
    ...(check.protocol === 'tcp' && result?.connected !== undefined ? synsSeen(stores.arrivals.synsOf(check, result.connected), stores.arrivals.synsOverflowed(check.to as string)) : {})
  }
}

/** The `udpCrowd` part of an observation: only when the target's listener reported one. */
function udpCrowd (c: UdpCrowding | undefined): Pick<Observation, 'udpCrowd'> {
  return c === undefined ? {} : { udpCrowd: c }
}

/** The `syns` part of an observation: only for a TCP check whose arrivals are counted. */
function synsSeen (n: number | null, overflowed: boolean): Pick<Observation, 'syns' | 'synsOverflowed'> {
  return n === null ? {} : { syns: n, ...(overflowed ? { synsOverflowed: true } : {}) }
}

/** The `missing` part of an observation: the known reasons of either end, only those set. */
function endsOf (source: string | undefined, target: string | undefined): { source?: string, target?: string } {
  return { ...(source !== undefined ? { source } : {}), ...(target !== undefined ? { target } : {}) }
}
