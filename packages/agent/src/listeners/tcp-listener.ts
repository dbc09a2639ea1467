import net from 'node:net'
import { encodeAck, parseProbe, MAX_PROBE_BYTES, PROBE_READ_TIMEOUT_MS, type Receipt } from '@portcheck/protocol'
import { normalizeAddress } from './address.js'

/** Most simultaneous connections one listener holds; more are refused by the kernel backlog or dropped here. */
const MAX_CONNECTIONS = 1024

/**
 * A TCP listener that speaks only the probe protocol: it reads one line, and if it is a
 * well-formed probe it reports the nonce, acknowledges it and closes. Anything else is
 * closed without a byte in answer.
 */
export class TcpListener {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  constructor (readonly port: number, private readonly onReceipt: (r: Receipt) => void) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    this.server.maxConnections = MAX_CONNECTIONS
  }

  /** Binds; rejects with the system error (EADDRINUSE, EACCES, ...). */
  listen (host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      // exclusive: never share the port with a cluster primary; a held port must show as EADDRINUSE.
      this.server.listen({ host, port: this.port, exclusive: true, ipv6Only: false }, () => {
        this.server.off('error', onError)
        this.server.on('error', () => { /* after bind, errors are per connection */ })
        resolve()
      })
    })
  }

  close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    return new Promise((resolve) => {
      if (!this.server.listening) { resolve(); return }
      this.server.close(() => resolve())
    })
  }

  private accept (socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.setTimeout(PROBE_READ_TIMEOUT_MS, () => socket.destroy())
    let buf = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      buf = Buffer.concat([buf, data])
      const nl = buf.indexOf(0x0a)
      if (nl === -1 && buf.length < MAX_PROBE_BYTES) return
      const nonce = nl === -1 ? null : parseProbe(buf.subarray(0, nl + 1))
      if (nonce === null) {
        socket.destroy()
        return
      }
      this.onReceipt({
        protocol: 'tcp',
        port: this.port,
        nonce,
        address: normalizeAddress(socket.remoteAddress),
        remotePort: socket.remotePort ?? 0
      })
      socket.end(encodeAck(nonce))
    })
  }
}
