import { FAMILY_LABELS, familyOf, type AddressFamily, type InventoryHost, type ReasonOf } from '@portcheck/protocol'
import { canonicalAddress, isLoopback } from '../inventory/host-addresses.js'

/** What the coordinator knows of where an agent runs. */
export interface AgentWhereabouts {
  /** The `--bind` addresses (one per family at most), or none. */
  bind: readonly string[]
  /** Its interface addresses, with prefix lengths (`198.18.1.5/15`). */
  addresses: readonly string[]
}

/** Why an agent that runs on its host cannot serve one of the host's families, and in words. */
export interface FamilyGap {
  /** `agent-misplaced`: the host's inventory address of the family is not the agent's; `no-common-family`: the agent has no address of the family at all (a host given by name). */
  reason: Extract<ReasonOf<'inconclusive'>, 'agent-misplaced' | 'no-common-family'>
  detail: string
}

/** The families of its host an agent cannot serve, with why. */
export type FamilyGaps = Partial<Record<AddressFamily, FamilyGap>>

/**
 * Whether an agent runs where the inventory says its host is (at one of its addresses at least),
 * and if not, where it runs. A placed agent may still lack the host's address of one family:
 * `gaps` says which, and the checks over that family are inconclusive.
 */
export type Placement = { placed: true, gaps: FamilyGaps } | { placed: false, detail: string }

/** Addresses that say where a host is: not loopback, not link-local. */
const isGlobal = (a: string): boolean => !isLoopback(a) && !a.startsWith('fe80:')

/**
 * Checks an agent against its inventory host. A host reached through NAT (`nat: true`) is never
 * checked. The agent's addresses are its `--bind` addresses if it has any, else those of its
 * interfaces (Linux routes all of 127.0.0.0/8 to loopback, so any loopback address counts on an
 * agent with a loopback interface). It is placed if it has one of the host's addresses; each
 * other address of the host it lacks is a gap in that address's family. Without any address to
 * compare (a name that did not resolve, an agent that reported none), nothing can be said:
 * placed. For a host given by name, a family the agent has no address of at all is a gap too.
 *
 * @param hostAddresses the host's addresses: its inventory addresses, or what its name resolved to
 * @param ownerOf the inventory host an address belongs to, to say whose address the agent has
 */
export function placementOf (host: InventoryHost, hostAddresses: readonly string[], agent: AgentWhereabouts, ownerOf: (address: string) => string | undefined): Placement {
  const byName = familyOf(host.address) === null
  const bound = agent.bind.length > 0
  const own = (bound ? [...agent.bind] : agent.addresses.map((c) => c.split('/')[0] ?? '')).map(canonicalAddress)
  if (host.nat === true || own.length === 0) return { placed: true, gaps: {} }
  const gaps: FamilyGaps = byName ? familiesLacking(host, own, bound) : {}
  if (hostAddresses.length === 0) return { placed: true, gaps }
  const wanted = hostAddresses.map(canonicalAddress)
  const has = (a: string): boolean => own.includes(a) || (!bound && isLoopback(a) && own.some(isLoopback))
  const whose = (a: string): string => {
    const owner = ownerOf(a)
    return owner !== undefined && owner !== host.name ? ` (${owner}'s address in the inventory)` : ''
  }
  const inventoryWords = `${host.name}'s inventory address${wanted.length > 1 ? 'es' : ''} ${wanted.join(', ')}`
  if (!wanted.some(has)) {
    if (bound) return { placed: false, detail: `${host.name}'s agent listens and probes on ${own.map((a) => `${a}${whose(a)}`).join(', ')} (--bind), not on ${inventoryWords}` }
    const shown = own.filter(isGlobal)
    const list = shown.slice(0, 4).map((a) => `${a}${whose(a)}`).join(', ')
    return { placed: false, detail: `${host.name}'s agent runs on a host whose addresses are ${list.length > 0 ? list : 'loopback only'}${shown.length > 4 ? ', …' : ''}, not on ${inventoryWords}: the join command for ${host.name} was run on another node (or set nat: true on ${host.name} if it is reached through NAT)` }
  }
  if (byName) return { placed: true, gaps }
  for (const a of wanted.filter((x) => !has(x))) {
    const family = familyOf(a) ?? 'ipv4'
    const where = bound ? `it listens and probes on ${own.join(', ')} only (--bind)` : `its host's addresses are ${own.filter(isGlobal).slice(0, 4).join(', ')}`
    gaps[family] = { reason: 'agent-misplaced', detail: `${host.name}'s agent does not have ${host.name}'s inventory ${FAMILY_LABELS[family]} address ${a} (${where}): its ${FAMILY_LABELS[family]} checks would prove nothing about ${a}; fix the address in the inventory, or configure it on ${host.name}` }
  }
  return { placed: true, gaps }
}

/** For a host given by name: the families its agent has no address of, where it could send or receive nothing. */
function familiesLacking (host: InventoryHost, own: readonly string[], bound: boolean): FamilyGaps {
  const gaps: FamilyGaps = {}
  const have = new Set(own.filter(isGlobal).map((a) => familyOf(a)))
  // Loopback only (a demo, a test): every check stays on this machine, whatever its family.
  if (have.size === 0) return gaps
  for (const family of ['ipv4', 'ipv6'] as const) {
    if (have.has(family)) continue
    gaps[family] = { reason: 'no-common-family', detail: `${host.name}'s agent ${bound ? 'listens and probes on' : 'runs on a host with'} no ${FAMILY_LABELS[family]} address${bound ? ' (--bind)' : ''}: it can send and receive nothing over ${FAMILY_LABELS[family]}` }
  }
  return gaps
}
