import net from 'node:net'
import { encodeProbe, parseAck, MAX_PROBE_BYTES, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { classifySocketError, errorCodeOf } from './classify.js'

/**
 * Connects to the target port, sends the nonce, and waits for the acknowledgement until the
 * probe's timeout. The verdict does not rest on what comes back here: it rests on the target
 * agent reporting the nonce over its control channel. This result tells the coordinator how
 * the path behaved when that report does not come (refused, dropped, or answered by something else).
 *
 * @param order the probe to run
 * @param localAddress address to connect from, or undefined for the system's choice
 * @param signal aborts the probe (the run ended); the promise then resolves with outcome `error`/`ECANCELED`
 */
export function tcpProbe (order: ProbeOrder, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const start = performance.now()
    let connectedAt: number | null = null
    let chunks: Buffer[] = []
    let size = 0
    let settled = false

    const socket = net.connect({ host: order.host, port: order.port, ...(localAddress !== undefined ? { localAddress } : {}) })
    socket.setNoDelay(true)

    const finish = (result: Omit<ProbeResult, 'id' | 'attempts'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve({ id: order.id, attempts: 1, ...result })
    }
    const latency = (): number | null => connectedAt === null ? null : round(connectedAt - start)
    const connectedResult = (echo: ProbeResult['echo']): Omit<ProbeResult, 'id' | 'attempts'> =>
      ({ outcome: 'connected', latencyMs: latency(), echo })

    const timer = setTimeout(() => {
      finish(connectedAt === null ? { outcome: 'timeout', latencyMs: null, echo: 'none' } : connectedResult(size > 0 ? 'other' : 'none'))
    }, order.timeoutMs)
    const onAbort = (): void => finish({ outcome: 'error', error: 'ECANCELED', latencyMs: latency(), echo: 'none' })
    signal.addEventListener('abort', onAbort, { once: true })

    socket.once('connect', () => {
      connectedAt = performance.now()
      socket.write(encodeProbe(order.nonce))
    })
    socket.on('data', (data: Buffer) => {
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
      if (connectedAt !== null) finish(connectedResult(size > 0 ? 'other' : 'none'))
    })
    socket.once('error', (err) => {
      const code = errorCodeOf(err)
      if (connectedAt !== null) {
        // The handshake completed, so the path answered; a reset afterwards is still "something answered".
        finish(connectedResult(size > 0 ? 'other' : 'none'))
        return
      }
      const outcome = classifySocketError(code)
      finish({ outcome, ...(code !== undefined ? { error: code } : {}), latencyMs: null, echo: 'none' })
    })
    if (signal.aborted) onAbort()
  })
}

/** Rounds a duration to microseconds. */
export function round (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
