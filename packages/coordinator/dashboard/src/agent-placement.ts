// Whether an agent runs where the inventory says its host is. Peers probe a host at its
// inventory address: an agent that listens on another one proves nothing about that address,
// and its flows fail for a reason no firewall rule fixes.
import type { HostAgentStatus } from '../../src/server/api-types.js'

/** Bind addresses meaning "every local address": an agent bound there listens on the inventory address too. */
const WILDCARD_BINDS: ReadonlySet<string> = new Set(['0.0.0.0', '::'])

/**
 * What is wrong with where a host's agent runs, one sentence per finding: none when it runs
 * where the inventory says, or when no agent joined. Every flag the agents view shows comes
 * from here, so a new finding (the addresses an agent reports, the coordinator's own placement
 * verdict) is added in this one function.
 */
export function placementFindings (host: HostAgentStatus): string[] {
  const a = host.agent
  if (a === null) return []
  const findings: string[] = []
  if (a.bind !== null && !WILDCARD_BINDS.has(a.bind) && a.bind !== host.address) {
    findings.push(`bound to ${a.bind}, not to its inventory address ${host.address}, where peers probe it`)
  }
  return findings
}
