/**
 * The only addresses lab traffic may go to: 198.18.0.0/15 (RFC 2544 benchmarking),
 * 2001:2::/48 (RFC 5180 benchmarking) and loopback. Nothing configured by the lab may send a
 * packet anywhere else, even by mistake in a test.
 */
import { BlockList, isIP, isIPv4 } from 'node:net'

const allowed = new BlockList()
allowed.addSubnet('198.18.0.0', 15, 'ipv4')
allowed.addSubnet('127.0.0.0', 8, 'ipv4')
allowed.addSubnet('2001:2::', 48, 'ipv6')
allowed.addAddress('::1', 'ipv6')

/** True if `address` is an IP address in the lab's ranges or loopback. */
export function isLabAddress (address: string): boolean {
  const family = isIP(address)
  return family !== 0 && allowed.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** Throws unless `address` is an IP address in the lab's ranges or loopback. */
export function assertLabAddress (address: string, what: string): void {
  if (!isLabAddress(address)) throw new Error(`${what} must be an address in 198.18.0.0/15, 2001:2::/48 or loopback, got ${address}`)
}

/**
 * Checks an IPv4 address or CIDR inside 198.18.0.0/15; returns it as a CIDR (an address is a /32).
 * IPv6 destinations are not supported yet: lab hosts have IPv4 addresses only.
 */
export function labCidr (cidr: string): string {
  const [address = '', prefixText = '32', extra] = cidr.split('/')
  const prefix = Number(prefixText)
  if (extra !== undefined || !isIPv4(address) || !/^\d+$/.test(prefixText) || prefix < 15 || prefix > 32 || !allowed.check(address, 'ipv4') || address.startsWith('127.')) {
    throw new Error(`expected an IPv4 address or CIDR inside 198.18.0.0/15, got ${cidr}`)
  }
  return `${address}/${prefix}`
}
