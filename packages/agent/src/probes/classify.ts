import type { ProbeOutcome } from '@portcheck/protocol'

/**
 * Maps a socket error code to what it says about the path. Only codes that are evidence of
 * the network's behaviour map to a blocked-type outcome; anything local and unexplained is
 * `error`, which the coordinator reports as inconclusive rather than guess.
 */
export function classifySocketError (code: string | undefined): Exclude<ProbeOutcome, 'connected' | 'replied'> {
  switch (code) {
    // TCP RST, or ICMP port unreachable (nft `reject` on UDP, or on TCP without `with tcp reset`).
    case 'ECONNREFUSED':
      return 'refused'
    // ICMP host/net unreachable, or admin-prohibited (nft `reject with icmpx admin-prohibited`).
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'unreachable'
    // Netfilter dropping a locally generated packet in the OUTPUT hook makes sendmsg fail with EPERM.
    case 'EPERM':
    case 'EACCES':
      return 'egress-denied'
    case 'ETIMEDOUT':
      return 'timeout'
    // The name did not resolve: nothing was sent.
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
    case 'ENODATA':
    case 'ERESOLVETIMEOUT':
      return 'unresolved'
    default:
      return 'error'
  }
}

/** The error code of an unknown thrown value, if it has one. */
export function errorCodeOf (err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code
  }
  return undefined
}
