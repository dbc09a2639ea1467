import net from 'node:net'
import { encodeProbe, parseAck, MAX_PROBE_BYTES, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { classifySocketError, errorCodeOf } from './classify.js'
import { FIXED_TIMING, watchDeadline, type ProbeTiming } from './timing.js'


/**
 * Connects to the target port, sends the nonce, and waits for the acknowledgement. The verdict
 * does not rest on what comes back here: it rests on the target agent reporting the nonce over
 * its control channel. This result tells the coordinator how the path behaved when that report
 * does not come (refused, dropped, or answered by something else).
 *
 * With adaptive timing, a connection that has not completed by the deadline gets a second
 * attempt (the first stays open and may still win), so one lost SYN is not reported as a drop.
 *
 * @param order the probe to run; `order.timeoutMs` bounds it in every case
 * @param localAddress address to connect from, or undefined for the system's choice
 * @param signal aborts the probe (the run ended); it then resolves with outcome `error`/`ECANCELED`
 * @param timing adaptive deadlines; default: `order.timeoutMs`
 */
export function tcpProbe (order: ProbeOrder, localAddress: string | undefined, signal: AbortSignal, timing: ProbeTiming = FIXED_TIMING): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const start = performance.now()
    const deadline = (): number => Math.min(order.timeoutMs, timing.deadlineMs(order.host))
    const sockets: net.Socket[] = []
    let winner: net.Socket | null = null
    let connectedAt: number | null = null
    let attemptStart = start
    let chunks: Buffer[] = []
    let size = 0
    let settled = false
    let stopWatch = (): void => {}

    const finish = (result: Omit<ProbeResult, 'id' | 'attempts'>): void => {
      if (settled) return
      settled = true
      stopWatch()
      signal.removeEventListener('abort', onAbort)
      for (const s of sockets) s.destroy()
      resolve({ id: order.id, attempts: sockets.length, ...result })
    }
    const latency = (): number | null => connectedAt === null ? null : round(connectedAt - attemptStart)
    const connectedResult = (echo: ProbeResult['echo']): Omit<ProbeResult, 'id' | 'attempts'> =>
      ({ outcome: 'connected', latencyMs: latency(), echo })
    const onAbort = (): void => finish({ outcome: 'error', error: 'ECANCELED', latencyMs: latency(), echo: 'none' })

    const attempt = (): void => {
      const began = performance.now()
      const socket = net.connect({ host: order.host, port: order.port, ...(localAddress !== undefined ? { localAddress } : {}) })
      sockets.push(socket)
      socket.setNoDelay(true)
      socket.once('connect', () => {
        if (winner !== null || settled) { socket.destroy(); return }
        winner = socket
        connectedAt = performance.now()
        attemptStart = began
        for (const s of sockets) if (s !== socket) s.destroy()
        socket.write(encodeProbe(order.nonce))
        // The acknowledgement is informative only: wait for it until the overall timeout.
        stopWatch()
        stopWatch = watchDeadline(start, () => order.timeoutMs, false, () => finish(connectedResult(size > 0 ? 'other' : 'none')))
      })
      socket.on('data', (data: Buffer) => {
        if (socket !== winner) return
        chunks.push(data)
        size += data.length
        const buf = Buffer.concat(chunks)
        chunks = [buf]
        const nl = buf.indexOf(0x0a)
        if (nl === -1 && size < MAX_PROBE_BYTES) return
        const nonce = parseAck(nl === -1 ? buf : buf.subarray(0, nl + 1))
        finish(connectedResult(nonce === order.nonce ? 'ours' : 'other'))
      })
      socket.once('end', () => {
        if (socket === winner) finish(connectedResult(size > 0 ? 'other' : 'none'))
      })
      socket.once('error', (err) => {
        if (socket === winner) {
          // The handshake completed, so the path answered; a reset afterwards is still "something answered".
          finish(connectedResult(size > 0 ? 'other' : 'none'))
          return
        }
        if (winner !== null) return
        const code = errorCodeOf(err)
        finish({ outcome: classifySocketError(code), ...(code !== undefined ? { error: code } : {}), latencyMs: null, echo: 'none' })
      })
    }

    const onDeadline = (): void => {
      if (winner !== null || settled) return
      if (timing.adaptive && sockets.length < 2 && performance.now() - start < order.timeoutMs) {
        attempt()
        const second = performance.now()
        stopWatch = watchDeadline(second, () => Math.min(order.timeoutMs - (second - start), timing.deadlineMs(order.host)), true, onDeadline)
        return
      }
      finish({ outcome: 'timeout', latencyMs: null, echo: 'none' })
    }

    signal.addEventListener('abort', onAbort, { once: true })
    attempt()
    stopWatch = watchDeadline(start, deadline, timing.adaptive, onDeadline)
    if (signal.aborted) onAbort()
  })
}

/** Rounds a duration to microseconds. */
export function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
