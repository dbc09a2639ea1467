import dgram from 'node:dgram'
import net from 'node:net'
import { encodeProbe, parseAck, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { AttemptClock, type ProbeContext } from './attempt-clock.js'
import { classifySocketError, errorCodeOf } from './classify.js'
import { round } from './tcp-probe.js'

/**
 * Sends the nonce as numbered datagrams from one connected UDP socket, paced by the path's
 * answer window (see {@link AttemptClock}), and listens for our listener's acknowledgement,
 * which echoes the number of the datagram it answers. A connected socket is what makes the
 * kernel hand us ICMP errors: port unreachable arrives as ECONNREFUSED, host/admin unreachable as
 * EHOSTUNREACH, an egress rule as EPERM on send. Proof of arrival comes from the target agent,
 * not from the echo: a one-way open path passes.
 *
 * Every failure resolves the promise with an outcome; nothing here throws.
 *
 * @param order the probe to run
 * @param address the target's address (resolved once per run when the order names a host)
 * @param localAddress address to send from, or undefined for the system's choice
 * @param signal aborts the probe (the run ended)
 */
export function udpProbe (order: ProbeOrder, address: string, localAddress: string | undefined, signal: AbortSignal, ctx: ProbeContext): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const family = net.isIPv6(address) || (localAddress !== undefined && net.isIPv6(localAddress)) ? 'udp6' : 'udp4'
    let socket: dgram.Socket | null = null
    let ready = false
    let settled = false

    const finish = (result: Omit<ProbeResult, 'id' | 'attempts' | 'unanswered'>, unanswered: number): void => {
      if (settled) return
      settled = true
      clock.stop()
      signal.removeEventListener('abort', onAbort)
      if (socket !== null) {
        try { socket.close() } catch { /* already closed */ }
        ctx.sockets.release()
      }
      resolve({ id: order.id, attempts: clock.attempts, unanswered, ...result })
    }
    const failed = (err: unknown): void => {
      const code = errorCodeOf(err)
      const outcome = classifySocketError(code)
      // Anything that says nothing about the path (no ICMP, no policy) is a local error.
      finish({ outcome: outcome === 'timeout' ? 'error' : outcome, error: code ?? 'EUNKNOWN', latencyMs: null, echo: 'none' }, clock.unanswered())
    }
    const onAbort = (): void => finish({ outcome: 'error', error: 'ECANCELED', latencyMs: null, echo: 'none' }, 0)

    const send = (seq: number): boolean => {
      if (settled) return true
      if (socket === null) {
        // The first attempt opens the socket; it is sent once the socket is connected.
        if (!ctx.sockets.acquire()) return false
        socket = dgram.createSocket(family)
        open(socket)
        return true
      }
      if (!ready) return false
      socket.send(encodeProbe(order.nonce, seq), (err) => { if (err !== null && err !== undefined) failed(err) })
      return true
    }

    const open = (s: dgram.Socket): void => {
      s.on('message', (msg) => {
        if (settled) return
        const ack = parseAck(msg)
        if (ack === null) {
          // Our listeners answer nothing but the acknowledgement: this came from something else.
          finish({ outcome: 'replied', latencyMs: null, echo: 'other' }, clock.unanswered())
          return
        }
        // An acknowledgement of another nonce is a late answer to an earlier probe from this port.
        if (ack.nonce !== order.nonce) return
        const seq = ack.seq !== null && ack.seq <= clock.attempts ? ack.seq : 1
        const rtt = round(performance.now() - clock.startedAt(seq))
        ctx.paths.answered(order.host, 'udp', seq, rtt)
        finish({ outcome: 'replied', latencyMs: rtt, echo: 'ours', answered: seq }, seq - 1)
      })
      // A connected UDP socket reports ICMP errors here.
      s.on('error', (err) => failed(err))
      const connect = (): void => {
        s.connect(order.port, address, (err?: Error) => {
          if (settled) return
          // An address with no route fails here (ENETUNREACH): never send on an unconnected socket.
          if (err !== undefined && err !== null) { failed(err); return }
          ready = true
          s.send(encodeProbe(order.nonce, 1), (e) => { if (e !== null && e !== undefined) failed(e) })
        })
      }
      try {
        if (localAddress !== undefined) s.bind({ address: localAddress, port: 0 }, connect)
        else connect()
      } catch (err) {
        failed(err)
      }
    }

    const clock = new AttemptClock(order, ctx, send, (unanswered) => finish({ outcome: 'timeout', latencyMs: null, echo: 'none' }, unanswered))
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) { onAbort(); return }
    clock.start()
  })
}
