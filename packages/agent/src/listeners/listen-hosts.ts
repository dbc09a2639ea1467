import dgram from 'node:dgram'
import net from 'node:net'

/**
 * One socket's address for a listener. A run's listener on a port is one socket per entry: `::`
 * dual-stack (both families) where the system allows it, or a v6-only `::` and `0.0.0.0` side by
 * side where it does not (`net.ipv6.bindv6only=1`, some BSDs), or the `--bind` addresses.
 */
export interface ListenHost {
  address: string
  /** Refuse IPv4 on an IPv6 socket: set where another socket takes IPv4. */
  ipv6Only: boolean
}

async function tcpBind (host: string, port: number, ipv6Only: boolean): Promise<net.Server | null> {
  const server = net.createServer()
  return await new Promise((resolve) => {
    server.once('error', () => resolve(null))
    server.listen({ host, port, ipv6Only, exclusive: true }, () => resolve(server))
  })
}

async function udpBind (host: string, port: number, ipv6Only: boolean): Promise<dgram.Socket | null> {
  const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', ipv6Only })
  return await new Promise((resolve) => {
    socket.once('error', () => { try { socket.close() } catch { /* never bound */ } resolve(null) })
    socket.bind({ address: host, port, exclusive: true }, () => resolve(socket))
  })
}

/**
 * Whether a `::` socket of this protocol takes IPv4 too, found out by binding `::` (dual-stack
 * asked for) and then `0.0.0.0` on the same port: the second bind fails exactly when the first
 * covers IPv4. Null if `::` cannot be bound at all (no IPv6 here). No packet is sent.
 */
async function dualStack (protocol: 'tcp' | 'udp'): Promise<boolean | null> {
  if (protocol === 'tcp') {
    const six = await tcpBind('::', 0, false)
    if (six === null) return null
    const four = await tcpBind('0.0.0.0', (six.address() as net.AddressInfo).port, false)
    four?.close()
    six.close()
    return four === null
  }
  const six = await udpBind('::', 0, false)
  if (six === null) return null
  const four = await udpBind('0.0.0.0', six.address().port, false)
  four?.close()
  six.close()
  return four === null
}

/**
 * Where a run's listeners bind when `--bind` is not given: one dual-stack `::` socket per port
 * if both protocols allow it, else a v6-only `::` and a `0.0.0.0` socket per port, or `0.0.0.0`
 * alone on a host without IPv6. Worked out once, at start.
 */
export async function defaultListenHosts (): Promise<ListenHost[]> {
  const [tcp, udp] = await Promise.all([dualStack('tcp'), dualStack('udp')])
  if (tcp === null || udp === null) return [{ address: '0.0.0.0', ipv6Only: false }]
  if (tcp && udp) return [{ address: '::', ipv6Only: false }]
  return [{ address: '::', ipv6Only: true }, { address: '0.0.0.0', ipv6Only: false }]
}

/** The listen hosts of `--bind` addresses: one socket each, an IPv6 one for IPv6 only. */
export function bindListenHosts (binds: readonly string[]): ListenHost[] {
  return binds.map((address) => ({ address, ipv6Only: net.isIPv6(address) }))
}

/** The `--bind` address of an address's family, to send to it from; undefined for the system's choice. */
export function localAddressFor (binds: readonly string[], target: string): string | undefined {
  const v6 = net.isIPv6(target)
  return binds.find((b) => net.isIPv6(b) === v6)
}
