import dgram from 'node:dgram'
import net from 'node:net'
import { encodeAck, parseProbe, type Receipt } from '@portcheck/protocol'
import { normalizeAddress } from './address.js'
import type { ListenHost } from './listen-hosts.js'

/** Most distinct nonces remembered per listener, to report each once despite retries. */
const MAX_REMEMBERED = 100_000

/**
 * A UDP listener that speaks only the probe protocol: a well-formed probe datagram is
 * reported (once per nonce) and acknowledged to its sender, echoing the attempt number;
 * anything else gets no answer.
 */
export class UdpListener {
  private socket: dgram.Socket | null = null
  private readonly seen = new Set<string>()
  /** Datagrams read that were not probes: others' traffic, a flood. */
  strangers = 0

  /**
   * @param port the port to listen on (0 for any: the reference listener)
   * @param onReceipt where nonces are reported, or null for the reference listener, which only acknowledges
   */
  constructor (readonly port: number, private readonly onReceipt: ((r: Receipt) => void) | null) {}

  /**
   * Binds; rejects with the system error (EADDRINUSE, EACCES, ...). Resolves with the bound port.
   * @param port the port, or undefined for the constructor's (0: the system's choice)
   */
  listen (host: ListenHost, port = this.port): Promise<number> {
    return new Promise((resolve, reject) => {
      const type = net.isIPv6(host.address) ? 'udp6' : 'udp4'
      const socket = dgram.createSocket({ type, ipv6Only: host.ipv6Only, reuseAddr: false })
      this.socket = socket
      const onError = (err: Error): void => {
        this.socket = null
        try { socket.close() } catch { /* never bound */ }
        reject(err)
      }
      socket.once('error', onError)
      socket.on('message', (msg, rinfo) => this.receive(msg, rinfo))
      socket.bind({ address: host.address, port, exclusive: true }, () => {
        socket.off('error', onError)
        // After the bind, errors come from ICMP for our acks (the sender went away): nothing to do.
        socket.on('error', () => {})
        resolve(socket.address().port)
      })
    })
  }

  /** The socket's local address and port, as Node reports it; null once closed. */
  local (): { address: string, port: number } | null {
    try { return this.socket?.address() ?? null } catch { return null }
  }

  close (): Promise<void> {
    const socket = this.socket
    this.socket = null
    this.seen.clear()
    return new Promise((resolve) => {
      if (socket === null) { resolve(); return }
      try { socket.close(() => resolve()) } catch { resolve() }
    })
  }

  private receive (msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const line = parseProbe(msg)
    if (line === null) this.strangers++
    if (line === null || this.socket === null) return
    if (this.onReceipt !== null && !this.seen.has(line.nonce)) {
      if (this.seen.size >= MAX_REMEMBERED) this.seen.clear()
      this.seen.add(line.nonce)
      this.onReceipt({ protocol: 'udp', port: this.port, nonce: line.nonce, address: normalizeAddress(rinfo.address), remotePort: rinfo.port })
    }
    this.socket.send(encodeAck(line.nonce, line.seq), rinfo.port, rinfo.address)
  }
}
