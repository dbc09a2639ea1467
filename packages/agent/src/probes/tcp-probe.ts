import net from 'node:net'
import { MAX_CONNECTED_PORTS, MAX_PROBE_BYTES, encodeProbe, parseAck, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { AttemptClock, type ProbeContext } from './attempt-clock.js'
import { classifySocketError, errorCodeOf } from './classify.js'

/** Connections of one probe kept open at once; older unanswered ones are closed (they were counted). */
const MAX_OPEN_PER_PROBE = 4

interface Attempt {
  seq: number
  socket: net.Socket
  connected: boolean
  localPort: number | null
  closed: boolean
  buf: Buffer
}

/**
 * Connects to the target port, sends the nonce, and waits for our listener's acknowledgement,
 * making new attempts (new connections) while none is answered, paced by the path's answer
 * window (see {@link AttemptClock}). The verdict does not rest on what comes back here: it
 * rests on the target agent reporting the nonce over its control channel. This result says how
 * the path behaved when that report does not come: refused, unreachable, answered by something
 * else (`echo: other`), or silent, with how many attempts stayed unanswered, and the local ports
 * of those whose handshake completed (the target's listener says whether it accepted them).
 *
 * @param order the probe to run
 * @param address the target's address (resolved once per run when the order names a host)
 * @param localAddress address to connect from, or undefined for the system's choice
 * @param signal aborts the probe (the run ended); it then resolves with outcome `error`/`ECANCELED`
 */
export function tcpProbe (order: ProbeOrder, address: string, localAddress: string | undefined, signal: AbortSignal, ctx: ProbeContext): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const attempts: Attempt[] = []
    let settled = false
    let otherBytes = false
    /** The first attempt whose handshake completed: how the path's loss and round trip are measured. */
    let firstHandshake = 0

    const closeAttempt = (a: Attempt): void => {
      if (a.closed) return
      a.closed = true
      a.socket.destroy()
      ctx.sockets.release()
    }
    const connectedPorts = (): number[] => attempts.filter((a) => a.connected && a.localPort !== null).slice(0, MAX_CONNECTED_PORTS).map((a) => a.localPort as number)
    const finish = (result: Omit<ProbeResult, 'id' | 'attempts' | 'unanswered'>, unanswered: number): void => {
      if (settled) return
      settled = true
      clock.stop()
      signal.removeEventListener('abort', onAbort)
      for (const a of attempts) closeAttempt(a)
      resolve({ id: order.id, attempts: attempts.length, unanswered, ...result })
    }
    const silent = (unanswered: number): void => {
      const ports = connectedPorts()
      if (ports.length > 0) finish({ outcome: 'connected', latencyMs: null, echo: otherBytes ? 'other' : 'none', connected: ports }, unanswered)
      else finish({ outcome: 'timeout', latencyMs: null, echo: 'none' }, unanswered)
    }
    const onAbort = (): void => finish({ outcome: 'error', error: 'ECANCELED', latencyMs: null, echo: 'none' }, 0)

    const start = (seq: number): boolean => {
      if (!ctx.sockets.acquire()) return false
      // Keep a few connections open (a late acknowledgement still counts); close the oldest beyond that.
      const open = attempts.filter((x) => !x.closed)
      if (open.length >= MAX_OPEN_PER_PROBE) closeAttempt(open[0] as Attempt)
      const socket = net.connect({ host: address, port: order.port, ...(localAddress !== undefined ? { localAddress } : {}) })
      const a: Attempt = { seq, socket, connected: false, localPort: null, closed: false, buf: Buffer.alloc(0) }
      attempts.push(a)
      socket.setNoDelay(true)
      socket.once('connect', () => {
        if (settled) return
        a.connected = true
        a.localPort = socket.localPort ?? null
        // The handshake is one round trip, like a UDP exchange: it measures the path. The attempts
        // before it that never completed theirs are its loss.
        if (firstHandshake === 0) {
          firstHandshake = seq
          ctx.paths.answered(order.host, 'tcp', seq, round(performance.now() - clock.startedAt(seq)))
        }
        clock.progress(seq)
        // A port another process holds: the completed handshake is all there is to see.
        if (order.held === true) {
          finish({ outcome: 'connected', latencyMs: round(performance.now() - clock.startedAt(seq)), echo: 'none', connected: connectedPorts() }, 0)
          return
        }
        socket.write(encodeProbe(order.nonce, seq))
      })
      socket.on('data', (data: Buffer) => {
        if (settled) return
        a.buf = a.buf.length === 0 ? data : Buffer.concat([a.buf, data])
        const nl = a.buf.indexOf(0x0a)
        if (nl === -1 && a.buf.length < MAX_PROBE_BYTES) return
        const ack = parseAck(nl === -1 ? a.buf : a.buf.subarray(0, nl + 1))
        if (ack !== null && ack.nonce === order.nonce) {
          finish({ outcome: 'connected', latencyMs: round(performance.now() - clock.startedAt(seq)), echo: 'ours', answered: seq }, seq - 1)
          return
        }
        // Our listeners answer nothing but the acknowledgement: these bytes came from something else.
        otherBytes = true
        finish({ outcome: 'connected', latencyMs: null, echo: 'other', connected: connectedPorts() }, clock.unanswered())
      })
      socket.once('close', () => {
        if (!settled && !a.closed) { a.closed = true; ctx.sockets.release() }
        if (!settled) clock.endAttempt(seq)
      })
      socket.once('error', (err) => {
        if (settled || a.connected) return // a reset after the handshake: this attempt ends unanswered
        const code = errorCodeOf(err)
        const outcome = classifySocketError(code)
        // The kernel gave up on this connection: one more unanswered attempt, nothing more.
        if (outcome === 'timeout') return
        finish({ outcome, ...(code !== undefined ? { error: code } : {}), latencyMs: null, echo: 'none' }, clock.unanswered())
      })
      return true
    }

    const clock = new AttemptClock(order, ctx, start, silent)
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) { onAbort(); return }
    clock.start()
  })
}

/** Rounds a duration to microseconds. */
export function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
