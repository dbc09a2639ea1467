// Whether an agent runs where the inventory says its host is. Peers probe a host at its
// inventory address: an agent that listens on another one proves nothing about that address,
// and its flows fail for a reason no firewall rule fixes.
import type { HostAgentStatus } from '../../src/server/api-types.js'

/**
 * What is wrong with where a host's agent runs, one sentence per finding: none when it runs
 * where the inventory says, or when no agent is connected. The coordinator decides (the same
 * rule a run applies before it gives the agent anything to do); every flag the agents view
 * shows comes from here.
 */
export function placementFindings (host: HostAgentStatus): string[] {
  const p = host.placement
  if (p === null) return []
  // Placed, an agent may still lack the host's address of one family: its checks over it fail.
  if (p.placed) return p.gaps
  return p.detail === null ? [] : [p.detail]
}

/** A remark on a placed agent that is not where its inventory address is, because the host is reached through NAT. */
export function placementNote (host: HostAgentStatus): string | null {
  const a = host.agent
  if (host.placement === null || !host.placement.nat || a === null) return null
  const where = a.bind[0] ?? a.addresses.map((c) => c.split('/')[0]).find((x) => x !== undefined && !x.startsWith('127.') && x !== '::1' && !x.startsWith('fe80:'))
  return `reached through NAT at ${host.address}${where !== undefined ? `; its agent runs on ${where}` : ''}`
}
