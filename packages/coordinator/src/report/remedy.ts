import type { CheckReport } from './report.js'

/**
 * What an operator should change so a non-passing check passes, in one line, or null when
 * there is nothing firewall-shaped to do (e.g. a missing agent).
 */
export function remedy (c: Pick<CheckReport, 'status' | 'reason' | 'protocol' | 'port' | 'from' | 'to' | 'fromAddress' | 'toAddress'> & { detail?: string | null }): string | null {
  const src = c.fromAddress ?? c.from ?? '?'
  const dst = c.toAddress ?? c.to ?? '?'
  const rule = `${c.protocol} ${c.port} from ${src} to ${dst}`
  if (c.status === 'blocked') {
    switch (c.reason) {
      case 'timeout': return `allow ${rule} (inbound on ${c.to ?? dst}, and on any firewall between)`
      case 'refused': return `allow ${rule}: a firewall rejects it (check ${c.to ?? dst}'s own rules first)`
      case 'unreachable': return `allow ${rule}: a firewall or router answers "unreachable"; check routes and ACLs between them`
      case 'egress-denied': return `allow outbound ${c.protocol} ${c.port} to ${dst} on ${c.from ?? src}`
      case 'intercepted': return `find what answers ${c.protocol} ${c.port} on the way to ${dst} (a DNAT, a proxy, a load balancer) and let the traffic reach ${c.to ?? dst} itself`
      default: return `allow ${rule}`
    }
  }
  if (c.status === 'inconclusive') {
    switch (c.reason) {
      case 'agent-missing': {
        // The detail names the host(s) whose agent never joined; without it, name both ends.
        const named = /no agent joined for (.+)$/.exec(c.detail ?? '')?.[1]
        return `start the agent on ${named ?? [c.from, c.to].filter((x) => x !== null).join(' / ')}`
      }
      case 'agent-lost': return 're-run once every agent is connected'
      case 'bind-denied': return `run the agent on ${c.to ?? dst} as root (or with CAP_NET_BIND_SERVICE) so it can listen on ${c.protocol} ${c.port}`
      case 'port-in-use': return `stop what holds ${c.protocol} ${c.port} on ${c.to ?? dst}, then re-run`
      default: return null
    }
  }
  return null
}
