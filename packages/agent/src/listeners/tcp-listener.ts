import net from 'node:net'
import { encodeAck, parseProbe, MAX_PROBE_BYTES, PROBE_READ_TIMEOUT_MS, type AcceptedConnection, type Receipt } from '@portcheck/protocol'
import { normalizeAddress } from './address.js'
import type { ListenHost } from './listen-hosts.js'
import type { PendingConnections } from './pending-connections.js'

/** Where a TCP listener reports what it saw; a reference listener reports nothing. */
export interface TcpListenerSink {
  /** A well-formed probe arrived: its nonce. */
  receipt: (r: Receipt) => void
  /** A connection closed, or was still open at a flush, without having sent a nonce. */
  accepted: (c: AcceptedConnection) => void
}

interface Conn {
  socket: net.Socket
  address: string
  remotePort: number
  /** Sent its nonce. */
  nonced: boolean
  /** Reported as accepted without a nonce (at a flush, or when it closed). */
  reported: boolean
}

/**
 * A TCP listener that speaks only the probe protocol: it reads one line, and if it is a
 * well-formed probe it reports the nonce, acknowledges it (echoing the attempt number) and
 * closes. Anything else is closed without a byte in answer. Connections that close without a
 * nonce are reported too, so the coordinator can tell a probe that reached this listener but
 * lost its data on the way from one that something else answered.
 */
export class TcpListener {
  private readonly server: net.Server
  private readonly conns = new Set<Conn>()

  /**
   * @param port the port to listen on
   * @param pending the run's registry of connections still waiting for a nonce (flood bound)
   * @param sink where to report, or null to only acknowledge
   */
  constructor (readonly port: number, private readonly pending: PendingConnections, private readonly sink: TcpListenerSink | null) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
  }

  /**
   * Binds; rejects with the system error (EADDRINUSE, EACCES, ...). Resolves with the bound port.
   * @param port the port, or undefined for the constructor's
   */
  listen (host: ListenHost, port = this.port): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      // exclusive: never share the port with a cluster primary; a held port must show as EADDRINUSE.
      this.server.listen({ host: host.address, port, exclusive: true, ipv6Only: host.ipv6Only }, () => {
        this.server.off('error', onError)
        this.server.on('error', () => { /* after bind, errors are per connection */ })
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  /** Reports every connection still open without a nonce (the end-of-probing barrier). */
  reportPending (): void {
    for (const c of this.conns) this.reportAccepted(c)
  }

  close (): Promise<void> {
    for (const c of this.conns) {
      c.reported = true
      c.socket.destroy()
    }
    return new Promise((resolve) => {
      if (!this.server.listening) { resolve(); return }
      this.server.close(() => resolve())
    })
  }

  private reportAccepted (c: Conn): void {
    if (c.nonced || c.reported) return
    c.reported = true
    this.sink?.accepted({ port: this.port, address: c.address, remotePort: c.remotePort })
  }

  private accept (socket: net.Socket): void {
    const c: Conn = { socket, address: normalizeAddress(socket.remoteAddress), remotePort: socket.remotePort ?? 0, nonced: false, reported: false }
    this.conns.add(c)
    this.pending.add(socket, c.address)
    socket.on('close', () => {
      this.conns.delete(c)
      this.pending.remove(socket, c.address)
      this.reportAccepted(c)
    })
    socket.on('error', () => socket.destroy())
    socket.setTimeout(PROBE_READ_TIMEOUT_MS, () => socket.destroy())
    let buf: Buffer = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      if (c.nonced) return
      buf = buf.length === 0 ? data : Buffer.concat([buf, data])
      const nl = buf.indexOf(0x0a)
      if (nl === -1 && buf.length < MAX_PROBE_BYTES) return
      const line = nl === -1 ? null : parseProbe(buf.subarray(0, nl + 1))
      if (line === null) {
        socket.destroy()
        return
      }
      this.pending.remove(socket, c.address)
      c.nonced = true
      this.sink?.receipt({ protocol: 'tcp', port: this.port, nonce: line.nonce, address: c.address, remotePort: c.remotePort })
      socket.end(encodeAck(line.nonce, line.seq))
    })
  }
}
