import type net from 'node:net'

/**
 * Most accepted connections that have not sent a nonce yet, across all of a run's TCP listeners.
 * Under the common 1,024-descriptor limit, with room left for listeners and probes.
 */
export const MAX_PENDING_CONNECTIONS = 384

interface Pending {
  socket: net.Socket
  address: string
}

/**
 * The accepted connections of a run's listeners that have not sent a nonce yet. A third party
 * that floods a listener with idle connections must not crowd out honest probes, which send
 * their nonce within a round trip of connecting: past {@link MAX_PENDING_CONNECTIONS}, the oldest
 * pending connection of the address holding the most is closed to make room.
 */
export class PendingConnections {
  private readonly byAddress = new Map<string, Pending[]>()
  private size = 0

  constructor (private readonly max = MAX_PENDING_CONNECTIONS) {}

  /** Registers a newly accepted connection, evicting another one if the run is at its bound. */
  add (socket: net.Socket, address: string): void {
    let list = this.byAddress.get(address)
    if (list === undefined) { list = []; this.byAddress.set(address, list) }
    list.push({ socket, address })
    this.size++
    if (this.size > this.max) this.evict()
  }

  /** Forgets a connection (it sent its nonce, or closed). */
  remove (socket: net.Socket, address: string): void {
    const list = this.byAddress.get(address)
    if (list === undefined) return
    const i = list.findIndex((p) => p.socket === socket)
    if (i === -1) return
    list.splice(i, 1)
    this.size--
    if (list.length === 0) this.byAddress.delete(address)
  }

  private evict (): void {
    let worst: Pending[] | undefined
    for (const list of this.byAddress.values()) if (worst === undefined || list.length > worst.length) worst = list
    const victim = worst?.[0]
    if (victim === undefined) return
    this.remove(victim.socket, victim.address)
    victim.socket.destroy()
  }
}
