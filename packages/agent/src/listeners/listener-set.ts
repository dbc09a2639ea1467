import net from 'node:net'
import type { ListenOrder, ListenerState, Receipt } from '@portcheck/protocol'
import { errorCodeOf } from '../probes/classify.js'
import { TcpListener } from './tcp-listener.js'
import { UdpListener } from './udp-listener.js'

/** Binds opened at once; keeps a run with thousands of ports from exhausting descriptors in a burst. */
const OPEN_CONCURRENCY = 64

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

/** The listeners of one run on one agent. */
export class ListenerSet {
  private readonly open = new Map<string, Listener>()
  private closed = false

  constructor (private readonly host: string, private readonly onReceipt: (r: Receipt) => void) {}

  /** Opens every ordered listener and reports how each bind went. Never rejects. */
  async openAll (orders: ListenOrder[]): Promise<ListenerState[]> {
    const states: ListenerState[] = new Array(orders.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < orders.length) {
        const i = next++
        const order = orders[i] as ListenOrder
        states[i] = await this.openOne(order)
      }
    }
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, orders.length) }, worker))
    return states
  }

  /** Number of listeners currently bound. */
  get size (): number {
    return this.open.size
  }

  /** Closes every listener; later receipts are not reported. */
  async closeAll (): Promise<void> {
    this.closed = true
    const all = [...this.open.values()]
    this.open.clear()
    await Promise.all(all.map((l) => l.close()))
  }

  private async openOne (order: ListenOrder): Promise<ListenerState> {
    const key = `${order.protocol}/${order.port}`
    const base = { protocol: order.protocol, port: order.port }
    if (this.open.has(key)) return { ...base, state: 'open' }
    const report = (r: Receipt): void => { if (!this.closed) this.onReceipt(r) }
    const listener = order.protocol === 'tcp' ? new TcpListener(order.port, report) : new UdpListener(order.port, report)
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
