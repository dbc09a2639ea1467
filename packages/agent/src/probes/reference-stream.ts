import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'
import { MIN_PATH_SAMPLE, encodeProbe, parseAck } from '@portcheck/protocol'
import type { PathTable } from './path-table.js'

/** Answered attempts a path needs (both protocols together); the stream stops there. */
export const REFERENCE_SAMPLE = MIN_PATH_SAMPLE + 20
/** Datagrams sent without any answer before the reference port is taken for unreachable. */
const GIVE_UP_AFTER = 8
/** Shortest gap between two reference datagrams, in ms. */
const STREAM_SPACING_MS = 5
/** Highest sequence number before it wraps (the wire format allows 4 digits). */
const MAX_SEQ = 9999

/**
 * Measures the path to one host on its reference listener: numbered datagrams, one every
 * eighth of an answer window (5 ms at least), each answered (a round trip sample) or lost (no answer within the
 * window). A datagram and its acknowledgement are two packets, like a TCP handshake, so the share
 * lost is the path's loss per attempt. Cheap: one socket, no connection per sample. A reference
 * port that never answers (a firewall drops it too) yields no figure at all, never a loss.
 */
export class ReferenceStream {
  private socket: dgram.Socket | null = null
  private readonly nonce = randomBytes(12).toString('base64url')
  private readonly sent = new Map<number, number>()
  private seq = 0
  private answers = 0
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  /**
   * @param host the target as probe orders name it (the path's key)
   * @param address the target's address
   * @param wanted whether the path still needs measuring (probes to it pending)
   */
  constructor (
    private readonly host: string,
    private readonly address: string,
    private readonly port: number,
    private readonly localAddress: string | undefined,
    private readonly paths: PathTable,
    private readonly wanted: () => boolean
  ) {}

  get running (): boolean {
    return !this.stopped
  }

  /** The reference port never answered: another stream to it would be no use. */
  get dead (): boolean {
    return this.stopped && this.answers === 0 && this.seq >= GIVE_UP_AFTER
  }

  start (): void {
    const family = net.isIPv6(this.address) ? 'udp6' : 'udp4'
    const s = dgram.createSocket(family)
    this.socket = s
    s.on('error', () => this.stop())
    s.on('message', (msg) => this.answer(msg))
    const go = (): void => {
      s.connect(this.port, this.address, (err?: Error) => {
        if (err !== undefined && err !== null) { this.stop(); return }
        this.tick()
      })
    }
    try {
      if (this.localAddress !== undefined) s.bind({ address: this.localAddress, port: 0 }, go)
      else go()
    } catch {
      this.stop()
    }
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    try { this.socket?.close() } catch { /* closed */ }
    this.socket = null
  }

  private answer (msg: Buffer): void {
    const ack = parseAck(msg)
    if (ack === null || ack.nonce !== this.nonce || ack.seq === null) return
    const at = this.sent.get(ack.seq)
    if (at === undefined) return
    this.sent.delete(ack.seq)
    this.answers++
    this.paths.record(this.host, performance.now() - at)
  }

  private tick (): void {
    if (this.stopped || this.socket === null) return
    const now = performance.now()
    const window = this.paths.window(this.host, 'udp').ms
    // Datagrams whose window passed unanswered: lost, once the port is known to answer at all.
    for (const [seq, at] of this.sent) {
      if (now - at < window) continue
      this.sent.delete(seq)
      if (this.answers > 0) this.paths.record(this.host, null)
    }
    const measured = (this.paths.sample(this.host, 'udp')?.attempts ?? 0) >= REFERENCE_SAMPLE
    if (measured || !this.wanted() || (this.answers === 0 && this.seq >= GIVE_UP_AFTER && this.sent.size === 0)) {
      this.stop()
      return
    }
    this.seq = this.seq % MAX_SEQ + 1
    this.sent.set(this.seq, now)
    this.socket.send(encodeProbe(this.nonce, this.seq), (err) => { if (err !== null && err !== undefined) this.stop() })
    // Faster than probe attempts: the sample is what every silent probe to this host waits for.
    this.timer = setTimeout(() => this.tick(), Math.max(STREAM_SPACING_MS, window / 8))
  }
}
