import { familyOf, type AcceptedConnection, type AddressFamily } from '@portcheck/protocol'

/** Most accepted-without-nonce connections remembered per run (a flood must not grow this without end). */
export const MAX_ACCEPTED_PER_RUN = 200_000

/**
 * The connections target listeners accepted without receiving a nonce, by listener and peer
 * port. A source's completed handshake that shows up here reached our listener (its data was
 * lost, or it waited behind a flood): that is not interception.
 */
export class AcceptedIndex {
  private readonly byListener = new Map<string, Map<number, string[]>>()
  /**
   * Per listener, how many connections each peer address had accepted without a nonce: the same
   * entries as `byListener`, counted as they come, because every silent TCP check asks for them
   * (see `fromOthers`) and a flooded listener holds tens of thousands.
   */
  private readonly perPeer = new Map<string, { total: number, byAddress: Map<string, number> }>()
  private size = 0

  add (agent: string, c: AcceptedConnection): void {
    if (this.size >= MAX_ACCEPTED_PER_RUN) return
    const key = `${agent}|${c.port}`
    let ports = this.byListener.get(key)
    if (ports === undefined) { ports = new Map(); this.byListener.set(key, ports) }
    const list = ports.get(c.remotePort)
    if (list === undefined) ports.set(c.remotePort, [c.address])
    else list.push(c.address)
    let peers = this.perPeer.get(key)
    if (peers === undefined) { peers = { total: 0, byAddress: new Map() }; this.perPeer.set(key, peers) }
    peers.total++
    peers.byAddress.set(c.address, (peers.byAddress.get(c.address) ?? 0) + 1)
    this.size++
  }

  /**
   * How many connections the target's TCP listener on `port` accepted without a nonce from
   * addresses other than the source's: a third party crowding the listener (a flood).
   */
  fromOthers (target: string, port: number, sourceAddresses: ReadonlySet<string>): number {
    const peers = this.perPeer.get(`${target}|${port}`)
    if (peers === undefined) return 0
    let own = 0
    for (const a of sourceAddresses) own += peers.byAddress.get(a) ?? 0
    return peers.total - own
  }

  /**
   * How many of a source's connections (its local ports) the target's TCP listener on `port`
   * accepted. A peer address other than the source's counts only if it is no inventory host's
   * (NAT on the way); another host's address with the same port is another host's connection.
   * With a family, only peers of that family count: the source's connections of the other
   * family have local ports of their own, which may be the same numbers.
   */
  reached (target: string, port: number, sourceAddresses: ReadonlySet<string>, localPorts: readonly number[], isInventoryAddress: (a: string) => boolean, family: AddressFamily | null = null): number {
    const ports = this.byListener.get(`${target}|${port}`)
    if (ports === undefined) return 0
    const ours = (a: string): boolean => (family === null || familyOf(a) === family) && (sourceAddresses.has(a) || !isInventoryAddress(a))
    let n = 0
    for (const p of localPorts) {
      const seen = ports.get(p)
      if (seen !== undefined && seen.some(ours)) n++
    }
    return n
  }
}
