import { ADDRESS_FAMILIES, FAMILY_LABELS, addressesOf, checkedFamily, familyOf, type AddressFamily, type InventoryHost } from '@portcheck/protocol'

type HostLike = Pick<InventoryHost, 'address' | 'addresses'>

/** Each host's families, worked out once: a plan asks for them once per pair of hosts. */
const familyCache = new WeakMap<HostLike, AddressFamily[] | null>()

/** The families of a host's inventory addresses; null for a host given by a DNS name (its family is what a source resolves it to). */
export function hostFamilies (host: HostLike): AddressFamily[] | null {
  const cached = familyCache.get(host)
  if (cached !== undefined) return cached
  const families = addressesOf(host).map((a) => familyOf(a))
  const out = families.includes(null) ? null : ADDRESS_FAMILIES.filter((f) => families.includes(f))
  familyCache.set(host, out)
  return out
}

/** A host's address of a family; its first address if it has none of it (a name). */
export function addressIn (host: HostLike, family: AddressFamily): string {
  const list = addressesOf(host)
  // One address: the plan only asks for a family it has.
  if (list.length === 1) return list[0] as string
  return list.find((a) => familyOf(a) === family) ?? host.address
}

/** One family a flow between two hosts is checked over, and the two addresses that check uses. */
export interface FamilyPath {
  /**
   * Null when there is none to check over (no common family), or when the target is a name the
   * source resolves to whichever family its resolver answers first.
   */
  family: AddressFamily | null
  fromAddress: string
  toAddress: string
}

/**
 * The checks a flow makes between two hosts, one per family:
 * - both given by IP addresses: one per family both have; none in common: one check with no
 *   family, which the run reports `inconclusive no-common-family`;
 * - a target given by name: one check. From a source of one family, in that family (the source
 *   resolves the name to an address of it); from a dual-stack source or one given by name, in
 *   whichever family the source's resolver answers first (family null in the plan);
 * - a source given by name, to a target's addresses: one per family of the target.
 */
export function familyPaths (src: HostLike, dst: HostLike): FamilyPath[] {
  const from = hostFamilies(src)
  const to = hostFamilies(dst)
  // The common case, first and without a list made per pair: two hosts of one family each.
  if (from !== null && to !== null && from.length === 1 && to.length === 1) {
    return [{ family: from[0] === to[0] ? from[0] as AddressFamily : null, fromAddress: src.address, toAddress: dst.address }]
  }
  if (to === null) {
    const family = from !== null && from.length === 1 ? from[0] as AddressFamily : null
    return [{ family, fromAddress: family !== null ? addressIn(src, family) : src.address, toAddress: dst.address }]
  }
  const common = from === null ? to : to.filter((f) => from.includes(f))
  if (common.length === 0) return [{ family: null, fromAddress: src.address, toAddress: dst.address }]
  return common.map((family) => ({ family, fromAddress: from === null ? src.address : addressIn(src, family), toAddress: addressIn(dst, family) }))
}

/** How a host's addresses count for the size of a plan: what {@link familyPaths} depends on. */
export type FamilyClass = 'one' | 'dual' | 'name'

export function familyClass (host: HostLike): FamilyClass {
  const families = hostFamilies(host)
  return families === null ? 'name' : families.length > 1 ? 'dual' : 'one'
}

/** Whether an inventory is dual-stack: a host has addresses of both families (see `RunReport.dualStack`). */
export function isDualStack (hosts: ReadonlyArray<HostLike>): boolean {
  return hosts.some((h) => familyClass(h) === 'dual')
}

/** How many checks {@link familyPaths} makes between hosts of two classes, at most (two single-family hosts: one, in common or not). */
export function familyPathCount (from: FamilyClass, to: FamilyClass): number {
  return to === 'dual' && from !== 'one' ? 2 : 1
}

/**
 * Two addresses of different families and no family for the check: the plan's mark of a pair of
 * hosts with no family in common (see {@link familyPaths}).
 */
export function noCommonFamily (check: { family: AddressFamily | null, fromAddress: string | null, toAddress: string | null }): boolean {
  if (check.family !== null || check.fromAddress === null || check.toAddress === null) return false
  const a = familyOf(check.fromAddress)
  const b = familyOf(check.toAddress)
  return a !== null && b !== null && a !== b
}

/** Why two hosts share no family, in words, for a check {@link noCommonFamily} marks. */
export function noCommonFamilyText (from: string, fromAddress: string, to: string, toAddress: string): string {
  const a = FAMILY_LABELS[familyOf(fromAddress) ?? 'ipv4']
  const b = FAMILY_LABELS[familyOf(toAddress) ?? 'ipv4']
  return `${from} has only an ${a} address in the inventory (${fromAddress}) and ${to} only an ${b} one (${toAddress}): no packet can go from one to the other; give both hosts an address of a common family (addresses: [IPv4, IPv6])`
}

/**
 * The family a check went over: the plan's, or for a name target probed in whichever family the
 * source's resolver answered, the family of the address it resolved to (null before that).
 */
export function checkFamily (check: { family: AddressFamily | null, toAddress: string | null }, result: { address?: string } | null): AddressFamily | null {
  return checkedFamily(check.family, result?.address ?? check.toAddress)
}
