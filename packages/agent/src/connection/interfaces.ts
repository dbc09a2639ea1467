import os from 'node:os'
import { MAX_AGENT_ADDRESSES } from '@portcheck/protocol'

/**
 * Every address on this host's network interfaces, with its prefix length (`198.18.1.5/15`),
 * loopback included: the coordinator checks that the host's inventory address is among them,
 * so an agent started on the wrong node is caught before it proves anything.
 */
export function interfaceAddresses (): string[] {
  const out: string[] = []
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.cidr !== null) out.push(a.cidr)
    }
  }
  return out.slice(0, MAX_AGENT_ADDRESSES)
}
