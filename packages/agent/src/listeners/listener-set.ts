import net from 'node:net'
import { openFileLimit } from '@portcheck/protocol/node'
import { type AcceptedConnection, type ListenOrder, type ListenerState, type Receipt } from '@portcheck/protocol'
import { errorCodeOf } from '../probes/classify.js'
import { PendingConnections } from './pending-connections.js'
import { TcpListener } from './tcp-listener.js'
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

/** Works out once whether this host can take a dual-stack `::` bind; if not, listeners use 0.0.0.0. */
export async function defaultListenHost (): Promise<string> {
  const server = net.createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: '::', port: 0, ipv6Only: false }, resolve)
    })
    return '::'
  } catch {
    return '0.0.0.0'
  } finally {
    server.close()
  }
}

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

/**
 * The listeners of one run on one agent: the ordered ones, and a reference listener (UDP, on a
 * port of the system's choosing) that acknowledges any probe datagram, where the run's sources
 * measure the round trip and loss of their path to this host.
 */
export class ListenerSet {
  private readonly open = new Map<string, Listener>()
  private readonly pending = new PendingConnections()
  private reference: UdpListener | null = null
  private closed = false

  constructor (private readonly host: string, private readonly sink: ListenerSink) {}

  /** Opens every ordered listener, then the reference listener, and reports how each bind went. Never rejects. */
  async openAll (orders: ListenOrder[]): Promise<{ states: ListenerState[], refPort: number | null }> {
    const states: ListenerState[] = new Array(orders.length)
    const limit = maxListeners()
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < orders.length) {
        const i = next++
        const order = orders[i] as ListenOrder
        states[i] = i < limit ? await this.openOne(order) : { protocol: order.protocol, port: order.port, state: 'failed', error: 'ELIMIT' }
      }
    }
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, orders.length) }, worker))
    // After the ordered ports, so an ephemeral pick can never take one of them.
    return { states, refPort: await this.openReference() }
  }

  /** Number of listeners currently bound, the reference listener included. */
  get size (): number {
    return this.open.size + (this.reference !== null ? 1 : 0)
  }

  /** Reports every TCP connection still waiting for its nonce (the end-of-probing barrier). */
  reportPending (): void {
    for (const l of this.open.values()) if (l instanceof TcpListener) l.reportPending()
  }

  /** Closes every listener; later receipts are not reported. */
  async closeAll (): Promise<void> {
    this.closed = true
    const all: Listener[] = [...this.open.values()]
    if (this.reference !== null) all.push(this.reference)
    this.open.clear()
    this.reference = null
    await Promise.all(all.map((l) => l.close()))
  }

  private async openReference (): Promise<number | null> {
    if (this.closed) return null
    const ref = new UdpListener(0, null)
    try {
      const port = await ref.listen(this.host)
      if (this.closed) { await ref.close(); return null }
      this.reference = ref
      return port
    } catch {
      return null
    }
  }

  private async openOne (order: ListenOrder): Promise<ListenerState> {
    const key = `${order.protocol}/${order.port}`
    const base = { protocol: order.protocol, port: order.port }
    if (this.open.has(key)) return { ...base, state: 'open' }
    const sink: ListenerSink = {
      receipt: (r) => { if (!this.closed) this.sink.receipt(r) },
      accepted: (c) => { if (!this.closed) this.sink.accepted(c) }
    }
    const listener = order.protocol === 'tcp' ? new TcpListener(order.port, this.pending, sink) : new UdpListener(order.port, sink.receipt)
    try {
      await listener.listen(this.host)
    } catch (err) {
      return { ...base, ...stateOf(err) }
    }
    if (this.closed) {
      // The run ended while this bind was in flight: do not leave it open.
      await listener.close()
      return { ...base, state: 'failed', error: 'ECANCELED' }
    }
    this.open.set(key, listener)
    return { ...base, state: 'open' }
  }
}
