import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { endianness } from 'node:os'

/**
 * The kernel's per-socket drop counts of UDP sockets, from `/proc/net/udp` and `/proc/net/udp6`
 * (the network namespace of this process): datagrams that reached a socket whose receive
 * buffer was full. Keyed by {@link dropKey}. Null where neither file can be read (not Linux).
 */
export async function readUdpDrops (): Promise<Map<string, number> | null> {
  const files = await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map(async (f) => await readFile(f, 'utf8').catch(() => null)))
  if (files.every((f) => f === null)) return null
  const out = new Map<string, number>()
  for (const text of files) if (text !== null) parseUdpTable(text, out)
  return out
}

/** The key of a socket's local address and port in {@link readUdpDrops}' map. */
export function dropKey (address: string, port: number): string {
  return `${address}|${port}`
}

/**
 * Adds each socket of a `/proc/net/udp{,6}` table to `out`: local address and port → drops
 * (the last column). Lines it cannot read are skipped.
 */
export function parseUdpTable (text: string, out: Map<string, number>, littleEndian = endianness() === 'LE'): void {
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    const local = fields[1]
    const drops = Number(fields[fields.length - 1])
    if (local === undefined || fields.length < 13 || !Number.isSafeInteger(drops)) continue
    const [hex, portHex] = local.split(':')
    const address = hex === undefined ? null : decodeAddress(hex, littleEndian)
    if (address === null || portHex === undefined) continue
    const key = dropKey(address, parseInt(portHex, 16))
    out.set(key, (out.get(key) ?? 0) + drops)
  }
}

/**
 * A `/proc/net` address: 8 hex digits (IPv4) or 32 (IPv6), each 32-bit word printed as the
 * kernel holds it in memory, so its bytes are reversed on a little-endian machine.
 */
function decodeAddress (hex: string, littleEndian: boolean): string | null {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return null
  const bytes: number[] = []
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16))
    bytes.push(...(littleEndian ? word.reverse() : word))
  }
  if (bytes.length === 4) return bytes.join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16))
  // Node's own text of an address (`::`, `2001:2::1`, `::ffff:198.18.0.1`): what a bound socket reports.
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address
}
