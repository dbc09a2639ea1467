/**
 * Address families. A host may have an address of each (an inventory's `addresses:`), and every
 * flow between two hosts is checked once per family both have: a flow can be open over IPv4 and
 * blocked over IPv6. The names are the ones reports, the HTTP API and probe orders carry.
 */

/** The IP version a check goes over. */
export type AddressFamily = 'ipv4' | 'ipv6'

/** Every family, in the order plans and reports list them. */
export const ADDRESS_FAMILIES: readonly AddressFamily[] = ['ipv4', 'ipv6']

/** How people read a family: `IPv4`, `IPv6`. */
export const FAMILY_LABELS: Readonly<Record<AddressFamily, string>> = { ipv4: 'IPv4', ipv6: 'IPv6' }

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
/** Hex groups and colons, an optional trailing dotted quad, an optional zone: validated loosely, as a shape. */
const IPV6_SHAPE = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?$/

/**
 * The family of an IP address literal, or null for anything else (a DNS name). A v4-mapped IPv6
 * address (`::ffff:198.18.0.1`) is IPv6 here: callers normalize it first where it stands for an
 * IPv4 peer. Free of `node:net`, so the dashboard can use it; the coordinator validates
 * addresses properly before they get this far.
 */
export function familyOf (address: string): AddressFamily | null {
  if (IPV4.test(address)) return 'ipv4'
  if (address.includes(':') && IPV6_SHAPE.test(address)) return 'ipv6'
  return null
}

/**
 * The family a check went over: the plan's, or, for a name target probed in whichever family the
 * source's resolver answered first, the family of the address it went to (null while unknown).
 */
export function checkedFamily (planned: AddressFamily | null, probed: string | null | undefined): AddressFamily | null {
  return planned ?? (probed !== null && probed !== undefined ? familyOf(probed) : null)
}
