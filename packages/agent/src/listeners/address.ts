/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:198.18.0.1` becomes `198.18.0.1`). */
export function normalizeAddress (address: string | undefined): string {
  if (address === undefined) return ''
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
