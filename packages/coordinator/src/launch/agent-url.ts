import net from 'node:net'
import os from 'node:os'
import { isLoopback } from '@portcheck/protocol/node'

/** What decides the URL launched agents connect to. */
export interface AgentUrlSource {
  /** The coordinator's agent URL (`--advertise`, the `--listen` host, or the guessed address). */
  agentUrl: string
  /** Whether the operator chose the address (`--advertise`, or a `--listen` host that is not a wildcard). */
  chosen: boolean
  /** This machine's own addresses; default: its interfaces'. */
  ownAddresses?: ReadonlySet<string>
}

/** Every address of this machine's interfaces, lower case. */
export function interfaceAddresses (): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address.toLowerCase())
  return out
}

/**
 * The URL each launched agent connects to. An address the operator chose is used as is.
 * Otherwise, for each host, the address its SSH connection came from as the host saw it
 * (`$SSH_CONNECTION`), when that is one of this machine's own addresses: then nothing (a jump
 * host, a NAT) stood in between, and the host reached this machine at that address, which the
 * guessed address (the first non-internal IPv4) need not be on a machine with several networks.
 * A host reached through a jump host or a NAT gets the coordinator's agent URL.
 */
export function agentUrlFor (source: AgentUrlSource): (from: string | null) => string {
  if (source.chosen) return () => source.agentUrl
  const own = source.ownAddresses ?? interfaceAddresses()
  return (from) => {
    const address = from?.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '') ?? ''
    if (net.isIP(address) === 0 || !own.has(address) || address.startsWith('fe80:') || isLoopback(address)) return source.agentUrl
    const url = new URL(source.agentUrl)
    url.hostname = net.isIPv6(address) ? `[${address}]` : address
    return url.origin
  }
}
