import { ruleClause, type DropRule } from './drop-site.js'
import type { CheckReport } from './report.js'

/**
 * The fields of a check a remedy is made from: what it checks, what was found, and, when known,
 * whose agent is the cause and where the traffic was dropped. Never the detail text.
 */
export type RemedyInput = Pick<CheckReport, 'status' | 'reason' | 'protocol' | 'port' | 'from' | 'to' | 'fromAddress' | 'toAddress'> &
  Partial<Pick<CheckReport, 'agentHosts' | 'droppedAt' | 'rule'>>

function before (rule: DropRule | undefined): string {
  return rule !== undefined ? ruleClause(rule) : ''
}

/**
 * What an operator should change so a non-passing check passes, in one line, or null when
 * there is nothing to do (a pass, a skip, an aborted run). Where the drop was localized
 * (`droppedAt`), the line names that place; otherwise it follows the reason.
 */
export function remedy (c: RemedyInput): string | null {
  const src = c.fromAddress ?? c.from ?? '?'
  const dst = c.toAddress ?? c.to ?? '?'
  const source = c.from ?? src
  const target = c.to ?? dst
  const rule = `${c.protocol} ${c.port} from ${src} to ${dst}`
  if (c.status === 'blocked') {
    if (c.reason === 'intercepted') return `find what answers ${c.protocol} ${c.port} on the way to ${dst} (a DNAT, a proxy, a load balancer) and let the traffic reach ${target} itself`
    if (c.droppedAt === 'source' || (c.droppedAt === undefined && c.reason === 'egress-denied')) return `allow outbound ${c.protocol} ${c.port} to ${dst} on ${source}${before(c.rule)}`
    if (c.droppedAt === 'target') return `allow ${rule} inbound on ${target}${before(c.rule)}`
    if (c.droppedAt === 'network') return `allow ${rule} on the firewalls or security groups between ${source} and ${target}: both hosts let it through`
    switch (c.reason) {
      case 'timeout': return `allow ${rule} (inbound on ${target}, and on any firewall between)`
      case 'refused': return `allow ${rule}: a firewall rejects it (check ${target}'s own rules first)`
      case 'unreachable': return `allow ${rule}: a firewall or router answers "unreachable"; check routes and ACLs between them`
      default: return `allow ${rule}`
    }
  }
  if (c.status === 'inconclusive') {
    const hosts = (c.agentHosts !== undefined && c.agentHosts.length > 0 ? c.agentHosts : [c.from, c.to].filter((x) => x !== null)).join(' and ')
    switch (c.reason) {
      case 'agent-missing': return `start the agent on ${hosts}`
      case 'agent-lost': return c.agentHosts !== undefined && c.agentHosts.length > 0 ? `re-run once the agent on ${hosts} is connected again` : 're-run once every agent is connected'
      case 'agent-misplaced': return `run the agent of ${hosts} on the host itself, at its inventory address (or set nat: true for a host reached through NAT)`
      case 'bind-denied': return `run the agent on ${target} as root (or with CAP_NET_BIND_SERVICE) so it can listen on ${c.protocol} ${c.port}`
      case 'port-in-use': return `stop what holds ${c.protocol} ${c.port} on ${target}, then re-run`
      case 'no-common-family': return `give ${source} and ${target} addresses of a common family (addresses: [IPv4, IPv6] in the inventory), or drop this flow between them`
      default: return null
    }
  }
  return null
}
