import type { EchoKind, ListenerStateName, ProbeResult, Proto, Status } from '@portcheck/protocol'
import type { PlannedCheck } from '../plan/expand.js'

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
export type EndState = 'ok' | 'missing' | 'lost'

/** Everything the coordinator observed about one check. */
export interface Observation {
  source: EndState
  target: EndState
  /** How the target agent's listener bind went; null if the target never said. */
  listener: ListenerStateName | null
  listenerError?: string
  /** The source agent's account of the probe; null if none came. */
  result: ProbeResult | null
  /** Every agent report of this check's nonce. */
  receipts: SeenReceipt[]
  /** The run was aborted before this check finished. */
  aborted: boolean
}

/** A check's final (or, while running, provisional) verdict. */
export interface Verdict {
  status: Status
  reason: string | null
  /** What exactly was seen, in words, or null. */
  detail: string | null
  observedSource: string | null
  echo: EchoKind | null
}

const PROTO_NAME = (p: Proto): string => p.toUpperCase()

function v (status: Status, reason: string | null, detail: string | null, extra: Partial<Verdict> = {}): Verdict {
  return { status, reason, detail, observedSource: null, echo: null, ...extra }
}

/** The receipt that proves this check: its nonce, on the target host's listener of this protocol and port. */
export function provingReceipt (check: PlannedCheck, receipts: readonly SeenReceipt[]): SeenReceipt | undefined {
  return receipts.find((r) => r.agent === check.to && r.protocol === check.protocol && r.port === check.port)
}

/**
 * Decides a check's verdict from what was observed. The one rule that matters most: `pass`
 * only when the target agent itself reported this check's nonce on the right listener
 * (or, for a TCP port another process already holds, when a connection to it completed).
 * Anything that cannot be proven either way is `inconclusive`, never a guess.
 */
export function decide (check: PlannedCheck, obs: Observation): Verdict {
  if (check.skip !== null) return v('skipped', check.skip, null)
  const echo = obs.result?.echo ?? null

  const proof = provingReceipt(check, obs.receipts)
  if (proof !== undefined) return v('pass', null, null, { observedSource: proof.address, echo })

  if (obs.source === 'missing' || obs.target === 'missing') {
    const who = [obs.source === 'missing' ? check.from : null, obs.target === 'missing' ? check.to : null].filter((x) => x !== null)
    return v('inconclusive', 'agent-missing', `no agent joined for ${who.join(' and ')}`)
  }

  const elsewhere = obs.receipts[0]
  if (elsewhere !== undefined) {
    return v('blocked', 'intercepted', `the nonce arrived at ${elsewhere.agent} on ${elsewhere.protocol}/${elsewhere.port} instead of ${check.to ?? ''} on ${check.protocol}/${check.port}: traffic is redirected`, { observedSource: elsewhere.address, echo })
  }

  const outcome = obs.result?.outcome
  const code = obs.result?.error
  switch (obs.listener) {
    case 'denied':
      return v('inconclusive', 'bind-denied', `${check.to ?? ''} may not listen on ${check.protocol}/${check.port} (${obs.listenerError ?? 'EACCES'}): run its agent as root or with CAP_NET_BIND_SERVICE`)
    case 'failed':
      return v('inconclusive', 'bind-failed', `${check.to ?? ''} could not listen on ${check.protocol}/${check.port} (${obs.listenerError ?? 'error'})`)
    case 'in-use':
      if (check.protocol === 'udp') return v('inconclusive', 'port-in-use', `another process holds udp/${check.port} on ${check.to ?? ''}; stop it, or check this port once it is free`)
      if (outcome === 'connected') return v('pass', 'existing-listener', `another process holds tcp/${check.port} on ${check.to ?? ''}; a connection to it completed`, { echo })
      if (outcome === 'refused') return v('inconclusive', 'port-in-use', `another process holds tcp/${check.port} on ${check.to ?? ''}, and the connection was refused: a firewall reject, or that process listens on another address`)
      break
    default:
      break
  }

  if (obs.source === 'lost' || obs.target === 'lost' || obs.listener === null || obs.result === null) {
    if (obs.aborted) return v('inconclusive', 'aborted', 'the run was stopped before this check finished')
    const who = [obs.source === 'lost' ? check.from : null, obs.target === 'lost' || obs.listener === null ? check.to : null].filter((x) => x !== null)
    return v('inconclusive', 'agent-lost', who.length > 0 ? `the agent of ${who.join(' and ')} left or stopped answering during the run` : `no probe result came from ${check.from ?? ''}`)
  }

  // An aborted run skipped its end-of-probing barrier: a receipt may still have been on its way,
  // so no absence of proof may be read as blocked.
  if (obs.aborted) return v('inconclusive', 'aborted', 'the run was stopped before every receipt was in', { echo })

  const inUse = obs.listener === 'in-use' ? ` (another process holds the port on ${check.to ?? ''})` : ''
  switch (outcome) {
    case 'connected':
      return v('blocked', 'intercepted', `the TCP connection completed but ${check.to ?? ''}'s listener never saw the nonce: something else answered (a DNAT, a proxy or another host)`, { echo })
    case 'replied':
      return v('blocked', 'intercepted', `a reply came back, but ${check.to ?? ''}'s listener never saw the nonce: something else answered`, { echo })
    case 'timeout':
      return v('blocked', 'timeout', `no answer within the timeout: ${PROTO_NAME(check.protocol)} ${check.port} is silently dropped between ${check.from ?? ''} and ${check.to ?? ''}${inUse}`, { echo })
    case 'refused':
      return v('blocked', 'refused', `${check.protocol === 'tcp' ? 'connection refused (RST or ICMP port unreachable)' : 'ICMP port unreachable'} although the listener was open: a firewall rejects it${code !== undefined ? ` (${code})` : ''}`, { echo })
    case 'unreachable':
      return v('blocked', 'unreachable', `ICMP unreachable (${code ?? 'EHOSTUNREACH'}): a firewall or router refuses the path${inUse}`, { echo })
    case 'egress-denied':
      return v('blocked', 'egress-denied', `${check.from ?? ''}'s own firewall refused to send it (${code ?? 'EPERM'}): an egress rule on the source${inUse}`, { echo })
    case 'error':
    default:
      if (code === 'ECANCELED' && obs.aborted) return v('inconclusive', 'aborted', 'the run was stopped before this check finished')
      return v('inconclusive', 'probe-error', `${check.from ?? ''} could not send the probe: ${code ?? 'unknown error'}`, { echo })
  }
}
