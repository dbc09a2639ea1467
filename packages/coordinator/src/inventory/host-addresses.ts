import net from 'node:net'
import { FAMILY_LABELS, familyOf, type InventoryHost } from '@portcheck/protocol'
import { cut, quote } from '../quote.js'

/** Where a problem is (a path under `hosts[i]`) and what it is. */
export type HostProblem = (path: Array<string | number>, message: string) => void

/** A run of digits and dots that is no IPv4 address (`198.18.1.300`): not a DNS name either. */
const DOTTED_DIGITS = /^[\d.]+$/

export { isLoopback } from '@portcheck/protocol/node'

/**
 * An IP address in the form the coordinator compares and reports: IPv6 compressed and in lower
 * case (RFC 5952, as the system prints it: `2001:0002::0005` is `2001:2::5`), a zone kept as
 * written; IPv4 as is. Anything else (a name) is returned unchanged.
 */
export function canonicalIp (address: string): string {
  const zone = address.indexOf('%')
  const ip = zone === -1 ? address : address.slice(0, zone)
  if (!net.isIPv6(ip)) return address
  return new net.SocketAddress({ address: ip, family: 'ipv6' }).address + (zone === -1 ? '' : address.slice(zone))
}

/** Lower-case and compressed (RFC 5952), without an IPv4-mapped prefix or a zone: the form addresses are compared in. */
export function canonicalAddress (address: string): string {
  let a = address.toLowerCase()
  const zone = a.indexOf('%')
  if (zone !== -1) a = a.slice(0, zone)
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) return a.slice(7)
  return canonicalIp(a)
}

/** Why a single `address` is not usable, or null: an IPv6 literal must be valid, digits and dots an IPv4 address. */
function addressProblem (address: string): string | null {
  const ip = address.split('%')[0] ?? ''
  if (address.includes(':') && !net.isIPv6(ip)) return `${quote(address)} is not a valid IPv6 address`
  if (DOTTED_DIGITS.test(address) && !net.isIPv4(address)) return `${quote(address)} is not a valid IPv4 address`
  return null
}

/**
 * Checks a host's address fields: `address` (one IP address or DNS name) or `addresses` (IP
 * addresses, at most one per family), not both, not neither. Reports each problem at the field
 * that has it (`problem` adds the file, line and column), and returns the host's addresses in
 * canonical form ({@link canonicalIp}), or null if they are unusable.
 */
export function checkHostAddresses (host: Partial<Pick<InventoryHost, 'address' | 'addresses'>>, problem: HostProblem): string[] | null {
  if (host.address !== undefined && host.addresses !== undefined) {
    problem(['addresses'], `give either address (${cut(host.address)}) or addresses, not both: list every address of the host under addresses`)
    return null
  }
  if (host.address !== undefined) {
    const why = addressProblem(host.address)
    if (why !== null) { problem(['address'], why); return null }
    return [canonicalIp(host.address)]
  }
  if (host.addresses === undefined) {
    problem([], 'needs an address: address (an IP address or a DNS name) or addresses (a list of IP addresses, one per family)')
    return null
  }
  const out: string[] = []
  const byFamily = new Map<string, number>()
  let ok = true
  host.addresses.forEach((a, j) => {
    if (net.isIP(a.split('%')[0] ?? '') === 0) {
      ok = false
      problem(['addresses', j], addressProblem(a) ?? `${quote(a)} is not an IP address: addresses lists IP addresses only (a host known by a DNS name gives it alone, as address)`)
      return
    }
    const family = familyOf(a.split('%')[0] ?? '') ?? 'ipv4'
    const first = byFamily.get(family)
    if (first !== undefined) {
      ok = false
      problem(['addresses', j], `${quote(a)} is a second ${FAMILY_LABELS[family]} address (addresses[${first}] is ${host.addresses?.[first] ?? ''}): a host has at most one address per family, the one its peers reach it at`)
      return
    }
    byFamily.set(family, j)
    out.push(canonicalIp(a))
  })
  return ok ? out : null
}
