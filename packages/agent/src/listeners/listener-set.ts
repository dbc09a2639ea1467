import { openFileLimit } from '@portcheck/protocol/node'
import { type AcceptedConnection, type ListenOrder, type ListenerState, type Receipt, type UdpCrowding } from '@portcheck/protocol'
import { errorCodeOf } from '../probes/classify.js'
import type { ListenHost } from './listen-hosts.js'
import { PendingConnections } from './pending-connections.js'
import { TcpListener } from './tcp-listener.js'
import { dropKey, readUdpDrops } from './udp-drops.js'
import { UdpListener } from './udp-listener.js'

/** Binds opened at once; keeps a run with thousands of ports from exhausting descriptors in a burst. */
const OPEN_CONCURRENCY = 64
/** Descriptors kept free of listeners: the control connection, probes, pending connections, files. */
const RESERVED_DESCRIPTORS = 1024

/**
 * Most listeners one run may open on this agent: what the open-file limit leaves after
 * {@link RESERVED_DESCRIPTORS} (at least 64). Beyond it a listener fails with `ELIMIT` instead of
 * the process meeting EMFILE.
 */
export function maxListeners (): number {
  return Math.max(64, openFileLimit() - RESERVED_DESCRIPTORS)
}

type Listener = TcpListener | UdpListener

function stateOf (err: unknown): Pick<ListenerState, 'state' | 'error'> {
  const code = errorCodeOf(err) ?? 'EUNKNOWN'
  if (code === 'EADDRINUSE') return { state: 'in-use', error: code }
  if (code === 'EACCES' || code === 'EPERM') return { state: 'denied', error: code }
  return { state: 'failed', error: code }
}

/** Where a run's listeners report what they saw. */
export interface ListenerSink {
  receipt: (r: Receipt) => void
  accepted: (c: AcceptedConnection) => void
}

/** Closes listeners, whatever state their binds are in. */
async function closeEach (list: readonly Listener[]): Promise<void> {
  await Promise.all(list.map((l) => l.close()))
}

/**
 * The listeners of one run on one agent: the ordered ones, and a reference listener (UDP, on a
 * port of the system's choosing) that acknowledges any probe datagram, where the run's sources
 * measure the round trip and loss of their path to this host. Each is one socket per listen host
 * (see {@link ListenHost}): one dual-stack socket, or one per family, all on the same port.
 */
export class ListenerSet {
  private readonly open = new Map<string, Listener[]>()
  private readonly pending = new PendingConnections()
  private reference: Listener[] = []
  private closed = false

  /** @param hosts where each listener binds: one socket per entry (at least one) */
  constructor (private readonly hosts: readonly ListenHost[], private readonly sink: ListenerSink) {}

  /** Opens every ordered listener, then the reference listener, and reports how each bind went. Never rejects. */
  async openAll (orders: ListenOrder[]): Promise<{ states: ListenerState[], refPort: number | null }> {
    const states: ListenerState[] = new Array(orders.length)
    const limit = maxListeners()
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < orders.length) {
        const i = next++
        const order = orders[i] as ListenOrder
        // A listener is a socket per listen host: the descriptor budget counts sockets.
        states[i] = i < Math.floor(limit / this.hosts.length) ? await this.openOne(order) : { protocol: order.protocol, port: order.port, state: 'failed', error: 'ELIMIT' }
      }
    }
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, orders.length) }, worker))
    // After the ordered ports, so an ephemeral pick can never take one of them.
    return { states, refPort: await this.openReference() }
  }

  /** Number of listeners currently bound, the reference listener included (a listener of several sockets counts once). */
  get size (): number {
    return this.open.size + (this.reference.length > 0 ? 1 : 0)
  }

  /** Reports every TCP connection still waiting for its nonce (the end-of-probing barrier). */
  reportPending (): void {
    for (const list of this.open.values()) for (const l of list) if (l instanceof TcpListener) l.reportPending()
  }

  /**
   * The UDP listeners that others' datagrams reached, or whose sockets dropped some for want of
   * buffer space (a flood, which may have taken a probe with it): see {@link UdpCrowding}.
   */
  async crowding (): Promise<UdpCrowding[]> {
    const udp = [...this.open.values()].filter((list) => list[0] instanceof UdpListener)
    if (udp.length === 0) return []
    const drops = await readUdpDrops()
    const out: UdpCrowding[] = []
    for (const list of udp) {
      let strangers = 0
      let dropped: number | null = drops === null ? null : 0
      let port = 0
      for (const l of list as UdpListener[]) {
        port = l.port
        strangers += l.strangers
        const local = l.local()
        if (dropped !== null && local !== null) dropped += drops?.get(dropKey(local.address, local.port)) ?? 0
      }
      if (strangers > 0 || (dropped ?? 0) > 0) out.push({ port, strangers, dropped })
    }
    return out
  }

  /** Closes every listener; later receipts are not reported. */
  async closeAll (): Promise<void> {
    this.closed = true
    const all: Listener[] = [...this.open.values()].flat()
    all.push(...this.reference)
    this.open.clear()
    this.reference = []
    await closeEach(all)
  }

  /**
   * Binds one listener's sockets, one per listen host, all on one port: the first on `port`,
   * the others on the port it got (the reference listener asks for any). Rejects with the first
   * bind error, having closed what it bound.
   */
  private async bindAll (make: () => Listener, port: number): Promise<{ sockets: Listener[], port: number }> {
    const sockets: Listener[] = []
    let bound = port
    try {
      for (const host of this.hosts) {
        const l = make()
        sockets.push(l)
        bound = await l.listen(host, bound)
      }
    } catch (err) {
      await closeEach(sockets)
      throw err
    }
    return { sockets, port: bound }
  }

  private async openReference (): Promise<number | null> {
    // With a socket per family, the port the system gave the first may be taken in the other
    // family: a few tries, each on a fresh port.
    for (let attempt = 0; attempt < 3 && !this.closed; attempt++) {
      try {
        const { sockets, port } = await this.bindAll(() => new UdpListener(0, null), 0)
        if (this.closed) { await closeEach(sockets); return null }
        this.reference = sockets
        return port
      } catch { /* another try */ }
    }
    return null
  }

  private async openOne (order: ListenOrder): Promise<ListenerState> {
    const key = `${order.protocol}/${order.port}`
    const base = { protocol: order.protocol, port: order.port }
    if (this.open.has(key)) return { ...base, state: 'open' }
    const sink: ListenerSink = {
      receipt: (r) => { if (!this.closed) this.sink.receipt(r) },
      accepted: (c) => { if (!this.closed) this.sink.accepted(c) }
    }
    const make = (): Listener => order.protocol === 'tcp' ? new TcpListener(order.port, this.pending, sink) : new UdpListener(order.port, sink.receipt)
    let sockets: Listener[]
    try {
      // A port bound in one family and not the other proves nothing in the other: all or none.
      sockets = (await this.bindAll(make, order.port)).sockets
    } catch (err) {
      return { ...base, ...stateOf(err) }
    }
    if (this.closed) {
      // The run ended while this bind was in flight: do not leave it open.
      await closeEach(sockets)
      return { ...base, state: 'failed', error: 'ECANCELED' }
    }
    this.open.set(key, sockets)
    return { ...base, state: 'open' }
  }
}
