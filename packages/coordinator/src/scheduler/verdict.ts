import {
  FAMILY_LABELS, MAX_ATTEMPTS_PER_ROUND, familyOf, isEvidenceOfDrop, lossRate,
  type EchoKind, type ListenerStateName, type ProbeResult, type Proto, type Reason, type Status, type UdpCrowding
} from '@portcheck/protocol'
import type { PlannedCheck } from '../plan/expand.js'
import { checkFamily, noCommonFamily, noCommonFamilyText } from '../plan/families.js'
import type { FamilyGap } from './placement.js'
import { moreAttemptsNeeded, type JudgedSample } from './path-stats.js'

/** A nonce seen by some agent's listener. */
export interface SeenReceipt {
  /** The agent whose listener saw it. */
  agent: string
  protocol: Proto
  port: number
  /** The source address that listener saw. */
  address: string
}

/** State of one end's agent during the run. */
export type EndState = 'ok' | 'missing' | 'lost' | 'misplaced'

/** Everything the coordinator observed about one check. */
export interface Observation {
  source: EndState
  target: EndState
  /** Where a misplaced end's agent really runs, in words (set for each end whose state is `misplaced`). */
  misplaced: { source?: string, target?: string }
  /** Why a missing end has no agent, when known (its launch failed), in words. */
  missing?: { source?: string, target?: string }
  /** An end whose agent runs on its host but cannot serve the check's family (see placement.ts). */
  familyGap?: FamilyGap & { host: string }
  /** How the target agent's listener bind went; null if the target never said. */
  listener: ListenerStateName | null
  listenerError?: string
  /** The source agent's account of the probe, merged over rounds; null if none came. */
  result: ProbeResult | null
  /** Every agent report of this check's nonce. */
  receipts: SeenReceipt[]
  /** The inventory host an address belongs to, if any. */
  ownerOf: (address: string) => string | undefined
  /** TCP: of the attempts whose handshake completed, how many the target's listener accepted (without a nonce). */
  reached: number
  /**
   * TCP: connections the target's listener accepted without a nonce from addresses other than
   * the source's during the run (a third party crowding it). Default 0.
   */
  crowd?: number
  /**
   * UDP: what the target's listener on the check's port saw of others' traffic, when it saw
   * any: datagrams that were no probe, and datagrams its socket dropped (a full buffer).
   */
  udpCrowd?: UdpCrowding
  /** The loss sample the check's silent attempts are judged against; null if nothing was probed. */
  judged: JudgedSample | null
  /** Rounds of re-probing still allowed after this evaluation (0: the verdict is final). */
  roundsLeft: number
  /** The run was aborted before this check finished. */
  aborted: boolean
  /**
   * UDP, a port another process holds on the target: the check's probe datagrams the target's
   * agent counted getting past its filters; null when they are not counted.
   */
  counted?: number | null
  /**
   * TCP, a port another process holds on the target, arrivals counted there: how many of the
   * source's completed handshakes the target's agent saw the SYN of (by source port).
   */
  syns?: number
  /** The target reported more SYNs than the run keeps: a count of 0 proves nothing. */
  synsOverflowed?: boolean
}

/** A check's final (or, while running, provisional) verdict. */
export interface Verdict {
  status: Status
  reason: Reason | null
  /** What exactly was seen, in words, or null. */
  detail: string | null
  observedSource: string | null
  echo: EchoKind | null
  /** `agent-missing`, `agent-lost`, `agent-misplaced`: the host(s) whose agent is the cause. */
  agentHosts?: string[]
  /** Undecided for now: attempts still needed in another round before a drop could be reported. */
  more?: number
}

const PROTO_NAME = (p: Proto): string => p.toUpperCase()

/**
 * Connections without a nonce from other addresses on one target listener, in a run, from which
 * it counts as flooded. Honest sources send their nonce at once; only a lossy path leaves a few
 * of theirs without one, far fewer than this.
 */
export const FLOODED_LISTENER = 64

function v (status: Status, reason: Reason | null, detail: string | null, extra: Partial<Verdict> = {}): Verdict {
  return { status, reason, detail, observedSource: null, echo: null, ...extra }
}

/** The receipt that proves this check: its nonce, on the target host's listener of this protocol and port. */
export function provingReceipt (check: PlannedCheck, receipts: readonly SeenReceipt[]): SeenReceipt | undefined {
  return receipts.find((r) => r.agent === check.to && r.protocol === check.protocol && r.port === check.port)
}

const pct = (x: number): string => `${Math.round(x * 100)}%`

/** The measured loss of a sample, in words. */
function lossWords (j: JudgedSample): string {
  const scope = j.scope === 'path' ? 'this path' : j.scope === 'source' ? "the source's paths" : j.scope === 'target' ? "the target's paths" : 'no path'
  const rate = lossRate(j.sample)
  return rate === null ? 'nothing was measured on this path' : `${scope} lost ${pct(rate)} of ${j.sample.attempts} attempts`
}

/**
 * A TCP port another process holds, and the source's handshake to it completed. Where the
 * target's agent counted SYNs, one of the handshake's own (its source port) having reached the
 * target past its firewall is proof it was the target that answered: `counted`; counted and
 * none seen, what answered may not have been the target at all (a DNAT, a proxy or another
 * host on the way), so nothing is proven: `port-in-use`, as for UDP. Not counted (the target's
 * agent cannot use nftables), the completed handshake is all there is: `existing-listener`.
 */
function heldConnected (check: PlannedCheck, syns: number | undefined, echo: EchoKind | null, overflowed: boolean): Verdict {
  const from = check.from ?? ''
  const to = check.to ?? ''
  const held = `another process holds tcp/${check.port} on ${to}`
  if (syns !== undefined && syns > 0) return v('pass', 'counted', `${held}; ${to}'s agent saw the SYN of ${syns} of ${from}'s completed connection(s) to it getting past ${to}'s firewall`, { echo })
  if (syns === 0 && overflowed) return v('inconclusive', 'port-in-use', `${held}; a connection to it completed, but ${to} reported more SYNs than a run keeps, so whether this connection's reached it is unknown: re-run, or check this port once it is free`, { echo })
  if (syns === 0) return v('inconclusive', 'port-in-use', `${held}; a connection to it completed, but ${to}'s agent saw none of its SYNs arrive from ${from}: something else may have answered in ${to}'s place (a DNAT, a proxy or another host on the way), or a NAT changed ${from}'s address; stop that process and re-run, or check this port once it is free`, { echo })
  return v('pass', 'existing-listener', `${held}; a connection to it completed`, { echo })
}

/**
 * Decides a silent check (no answer, or TCP handshakes that our acknowledgement never followed)
 * from the evidence: the unanswered attempts (or the completed handshakes) must be unlikely
 * enough on an open port, given the path's measured loss, to call it dropped (or intercepted).
 * Short of that, it asks for another round, and in the last round it is `lossy-path`.
 */
function silence (check: PlannedCheck, obs: Observation, r: ProbeResult, inUse: string): Verdict {
  const judged = obs.judged ?? { sample: { attempts: 0, failed: 0 }, scope: 'none', rttMs: null }
  const handshakes = check.protocol === 'tcp' ? (r.connected?.length ?? 0) : 0
  const from = check.from ?? ''
  const to = check.to ?? ''
  // A listener crowded by others' idle connections drops new ones (its accept queue is full), or
  // accepts them too late: neither unanswered handshakes nor unaccepted ones say anything about a
  // firewall. (Payload lost after our listener accepted the connection still does.)
  const crowd = obs.crowd ?? 0
  if (check.protocol === 'tcp' && crowd >= FLOODED_LISTENER && !(handshakes > 0 && obs.reached > 0)) {
    return v('inconclusive', 'listener-flooded', `${to}'s listener accepted ${crowd} connection(s) from other addresses that never sent a nonce while ${from}'s ${r.unanswered} attempt(s) went unanswered: a flood keeps it from taking new connections, so this silence is no evidence of a firewall; stop the flood, or re-run when it is over`)
  }
  // A UDP socket whose receive buffer overflowed dropped datagrams the kernel had delivered to
  // it: the probe's may have been among them. Another round may get one through (a pass); past
  // the last, the silence is no evidence of a firewall.
  const dropped = check.protocol === 'udp' ? (obs.udpCrowd?.dropped ?? 0) : 0
  if (dropped > 0) {
    const strangers = obs.udpCrowd?.strangers ?? 0
    return v('inconclusive', 'listener-flooded', `${to}'s listener dropped ${dropped} datagram(s) because its receive buffer was full (it read ${strangers} datagram(s) that were no probe) while ${from}'s ${r.unanswered} attempt(s) went unanswered: a flood fills the socket faster than it is read, so this silence is no evidence of a firewall; stop the flood, or re-run when it is over`, obs.roundsLeft > 0 ? { more: MAX_ATTEMPTS_PER_ROUND } : {})
  }
  let count: number
  let drop: () => Verdict
  if (handshakes > 0 && obs.reached > 0) {
    count = obs.reached
    drop = () => v('blocked', 'timeout', `the connection reached ${to}'s listener ${count} time(s), but the probe's data never did: something on the path drops the payload (an IPS or a proxy)`)
  } else if (handshakes > 0) {
    count = handshakes
    drop = () => v('blocked', 'intercepted', `the TCP connection completed ${count} time(s) but ${to}'s listener never accepted one, and nothing answered: something else took the traffic (a DNAT, a proxy or another host)${inUse}`)
  } else {
    count = r.unanswered
    drop = () => v('blocked', 'timeout', `no answer to ${count} attempt(s): ${PROTO_NAME(check.protocol)} ${check.port} is silently dropped between ${from} and ${to}${inUse} (${lossWords(judged)})`)
  }
  if (isEvidenceOfDrop(count, judged.sample)) return drop()
  const more = moreAttemptsNeeded(judged.sample, count, obs.roundsLeft * MAX_ATTEMPTS_PER_ROUND)
  const detail = `${count} unanswered attempt(s) are not evidence enough on a lossy path: ${lossWords(judged)}. The port may be open or dropped; fix the loss between ${from} and ${to}, or re-run`
  // A couple of attempts more than the figures ask for now: they keep moving until the last barrier.
  return v('inconclusive', 'lossy-path', detail, obs.roundsLeft > 0 && Number.isFinite(more) ? { more: Math.min(MAX_ATTEMPTS_PER_ROUND, Math.max(1, more) + 2) } : {})
}

/**
 * Decides a check's verdict from what was observed. The one rule that matters most: `pass`
 * only when the target agent itself reported this check's nonce on the right listener, from
 * an address that is not another inventory host's (or, for a TCP port another process already
 * holds, when the target counted the SYN of a connection to it that completed, or cannot count
 * at all and a connection completed). `blocked` only on positive evidence (a refusal, an ICMP
 * error, something else answering) or on silence that the path's measured loss cannot explain.
 * Anything else is `inconclusive`, never a guess.
 */
export function decide (check: PlannedCheck, obs: Observation): Verdict {
  if (check.skip !== null) return v('skipped', check.skip, null)
  const echo = obs.result?.echo ?? null
  const from = check.from ?? ''
  const to = check.to ?? ''
  if (noCommonFamily(check)) return v('inconclusive', 'no-common-family', noCommonFamilyText(from, check.fromAddress ?? '', to, check.toAddress ?? ''))

  const proof = provingReceipt(check, obs.receipts)
  if (proof !== undefined) {
    const owner = obs.ownerOf(proof.address)
    if (owner !== undefined && owner !== check.from) {
      return v('inconclusive', 'agent-misplaced', `the probe arrived from ${proof.address}, which is ${owner}'s address, not from ${from} (${check.fromAddress ?? ''}): ${from}'s agent does not run on ${from}`, { observedSource: proof.address, echo, agentHosts: [from] })
    }
    // Proof of a path of one family: a nonce that came in over the other was translated on the way.
    const family = checkFamily(check, obs.result)
    const came = familyOf(proof.address)
    if (family !== null && came !== null && came !== family) {
      return v('inconclusive', 'translated', `the nonce reached ${to}'s listener from ${proof.address}, an ${FAMILY_LABELS[came]} address, though it was sent over ${FAMILY_LABELS[family]} to ${obs.result?.address ?? check.toAddress ?? to}: something on the way translates between IPv4 and IPv6 (NAT64, a proxy), so the ${FAMILY_LABELS[family]} path itself is not proven`, { observedSource: proof.address, echo })
    }
    return v('pass', null, null, { observedSource: proof.address, echo })
  }

  if (obs.source === 'missing' || obs.target === 'missing') {
    const who = [obs.source === 'missing' ? check.from : null, obs.target === 'missing' ? check.to : null].filter((x) => x !== null)
    const why = [obs.source === 'missing' ? obs.missing?.source : undefined, obs.target === 'missing' ? obs.missing?.target : undefined]
      .map((w, i) => w === undefined ? null : who.length > 1 ? `${i === 0 ? check.from ?? '' : check.to ?? ''}: ${w}` : w)
      .filter((x) => x !== null)
    return v('inconclusive', 'agent-missing', `no agent joined for ${who.join(' and ')}${why.length > 0 ? ` (${why.join('; ')})` : ''}`, { agentHosts: who })
  }
  if (obs.source === 'misplaced' || obs.target === 'misplaced') {
    const who = [obs.source === 'misplaced' ? check.from : null, obs.target === 'misplaced' ? check.to : null].filter((x) => x !== null)
    return v('inconclusive', 'agent-misplaced', [obs.misplaced.source, obs.misplaced.target].filter((x) => x !== undefined).join('; '), { agentHosts: who })
  }
  if (obs.familyGap !== undefined) {
    const gap = obs.familyGap
    return v('inconclusive', gap.reason, gap.detail, gap.reason === 'agent-misplaced' ? { agentHosts: [gap.host] } : {})
  }

  const elsewhere = obs.receipts[0]
  if (elsewhere !== undefined) {
    return v('blocked', 'intercepted', `the nonce arrived at ${elsewhere.agent} on ${elsewhere.protocol}/${elsewhere.port} instead of ${to} on ${check.protocol}/${check.port}: traffic is redirected`, { observedSource: elsewhere.address, echo })
  }

  const r = obs.result
  const outcome = r?.outcome
  const code = r?.error
  switch (obs.listener) {
    case 'denied':
      return v('inconclusive', 'bind-denied', `${to} may not listen on ${check.protocol}/${check.port} (${obs.listenerError ?? 'EACCES'}): run its agent as root or with CAP_NET_BIND_SERVICE`)
    case 'failed':
      if (obs.listenerError === 'ELIMIT') return v('inconclusive', 'bind-failed', `${to}'s agent holds as many listeners as its open-file limit allows: raise it (ulimit -n) to check ${check.protocol}/${check.port}`)
      return v('inconclusive', 'bind-failed', `${to} could not listen on ${check.protocol}/${check.port} (${obs.listenerError ?? 'error'})`)
    case 'in-use':
      if (check.protocol === 'udp') {
        const n = obs.counted ?? null
        if (n !== null && n > 0) return v('pass', 'counted', `another process holds udp/${check.port} on ${to}; ${to}'s agent counted ${n} probe datagram(s) of this check from ${from} getting past ${to}'s firewall`, { echo })
        return v('inconclusive', 'port-in-use', `another process holds udp/${check.port} on ${to}; ${n === 0 ? `${to}'s agent counted none of the probe's datagrams arriving; ` : ''}stop it, or check this port once it is free`)
      }
      if (outcome === 'connected') return heldConnected(check, obs.syns, echo, obs.synsOverflowed === true)
      if (outcome === 'refused') return v('inconclusive', 'port-in-use', `another process holds tcp/${check.port} on ${to}, and the connection was refused: a firewall reject, or that process listens on another address`)
      break
    default:
      break
  }

  if (obs.source === 'lost' || obs.target === 'lost' || obs.listener === null || r === null) {
    if (obs.aborted) return v('inconclusive', 'aborted', 'the run was stopped before this check finished')
    const who = [obs.source === 'lost' ? check.from : null, obs.target === 'lost' || obs.listener === null ? check.to : null].filter((x) => x !== null)
    return who.length > 0
      ? v('inconclusive', 'agent-lost', `the agent of ${who.join(' and ')} left or stopped answering during the run`, { agentHosts: who })
      : v('inconclusive', 'agent-lost', `no probe result came from ${from}`)
  }

  // An aborted run skipped its end-of-probing barrier: a receipt may still have been on its way,
  // so no absence of proof may be read as blocked.
  if (obs.aborted) return v('inconclusive', 'aborted', 'the run was stopped before every receipt was in', { echo })

  const inUse = obs.listener === 'in-use' ? ` (another process holds the port on ${to})` : ''
  switch (outcome) {
    case 'connected':
    case 'replied':
      if (echo === 'other') return v('blocked', 'intercepted', `something answered with bytes that are not our acknowledgement, and ${to}'s listener never saw the nonce: a DNAT, a proxy or another host took the traffic${inUse}`, { echo })
      if (echo === 'ours') return v('blocked', 'intercepted', `a portcheck acknowledgement came back, but ${to}'s listener of this run never saw the nonce: another listener answered${inUse}`, { echo })
      return { ...silence(check, obs, r, inUse), echo }
    case 'timeout':
      return { ...silence(check, obs, r, inUse), echo }
    case 'refused':
      return v('blocked', 'refused', `${check.protocol === 'tcp' ? 'connection refused (RST or ICMP port unreachable)' : 'ICMP port unreachable'} although the listener was open: a firewall rejects it${code !== undefined ? ` (${code})` : ''}`, { echo })
    case 'unreachable':
      return v('blocked', 'unreachable', `ICMP unreachable or no route (${code ?? 'EHOSTUNREACH'}): a firewall or router refuses the path${inUse}`, { echo })
    case 'egress-denied':
      return v('blocked', 'egress-denied', `${from}'s own firewall or routing policy refused to send it (${code ?? 'EPERM'}): an egress rule on the source${inUse}`, { echo })
    case 'unresolved':
      return v('inconclusive', 'unresolved', `${from} could not resolve ${check.toAddress ?? to} (${code ?? 'ENOTFOUND'}): nothing was sent; fix the name in the inventory or ${from}'s resolver`, { echo })
    case 'error':
    default:
      if (code === 'ENOTPEER' || code === 'ELOOPBACK') return v('inconclusive', 'probe-error', `${from}'s agent refused to probe ${check.toAddress ?? to} (${code}): ${code === 'ENOTPEER' ? 'not a peer of its run' : 'it resolves to its own loopback'}`, { echo })
      return v('inconclusive', 'probe-error', `${from} could not send the probe: ${code ?? 'unknown error'}`, { echo })
  }
}
