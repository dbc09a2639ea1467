import net from 'node:net'
import type { InventoryHost } from '@portcheck/protocol'

/** What the coordinator knows of where an agent runs. */
export interface AgentWhereabouts {
  /** The `--bind` address, or null. */
  bind: string | null
  /** Its interface addresses, with prefix lengths (`198.18.1.5/15`). */
  addresses: readonly string[]
}

/** Whether an agent runs where the inventory says its host is, and if not, where it runs. */
export type Placement = { placed: true } | { placed: false, detail: string }

/** Lower-case, without an IPv4-mapped prefix or a zone: the form addresses are compared in. */
export function canonicalAddress (address: string): string {
  let a = address.toLowerCase()
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7)
  const zone = a.indexOf('%')
  return zone === -1 ? a : a.slice(0, zone)
}

const isLoopback = (a: string): boolean => a === '::1' || (net.isIPv4(a) && a.startsWith('127.'))

/**
 * Checks an agent against its inventory host. A host reached through NAT (`nat: true`) is never
 * checked. An agent with `--bind` is placed if it binds one of the host's addresses; otherwise,
 * if one of its interfaces has one (Linux routes all of 127.0.0.0/8 to loopback, so any loopback
 * address counts on an agent with a loopback interface). Without any address to compare (a name
 * that did not resolve, an agent that reported none), nothing can be said: placed.
 *
 * @param hostAddresses the host's addresses: its inventory address, or what its name resolved to
 * @param ownerOf the inventory host an address belongs to, to say whose address the agent has
 */
export function placementOf (host: InventoryHost, hostAddresses: readonly string[], agent: AgentWhereabouts, ownerOf: (address: string) => string | undefined): Placement {
  if (host.nat === true || hostAddresses.length === 0) return { placed: true }
  const wanted = new Set(hostAddresses.map(canonicalAddress))
  const whose = (a: string): string => {
    const owner = ownerOf(a)
    return owner !== undefined && owner !== host.name ? ` (${owner}'s address in the inventory)` : ''
  }
  if (agent.bind !== null) {
    const bind = canonicalAddress(agent.bind)
    if (wanted.has(bind)) return { placed: true }
    return { placed: false, detail: `${host.name}'s agent listens and probes on ${agent.bind}${whose(bind)} (--bind), not on ${host.name}'s inventory address ${host.address}` }
  }
  const own = agent.addresses.map((c) => canonicalAddress(c.split('/')[0] ?? ''))
  if (own.length === 0) return { placed: true }
  if (own.some((a) => wanted.has(a))) return { placed: true }
  if ([...wanted].some(isLoopback) && own.some(isLoopback)) return { placed: true }
  const shown = own.filter((a) => !isLoopback(a) && !a.startsWith('fe80:'))
  const list = shown.slice(0, 4).map((a) => `${a}${whose(a)}`).join(', ')
  return { placed: false, detail: `${host.name}'s agent runs on a host whose addresses are ${list.length > 0 ? list : 'loopback only'}${shown.length > 4 ? ', …' : ''}, not on ${host.name}'s inventory address ${host.address}: the join command for ${host.name} was run on another node (or set nat: true on ${host.name} if it is reached through NAT)` }
}
