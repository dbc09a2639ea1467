import dgram from 'node:dgram'
import net from 'node:net'
import { encodeProbe, parseAck, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { classifySocketError, errorCodeOf } from './classify.js'
import { round } from './tcp-probe.js'

/** Datagrams sent per probe: the first, then this many retries spread over the timeout. */
export const UDP_RETRIES = 3

/**
 * Sends the nonce as a datagram from a connected UDP socket, retrying within the timeout, and
 * listens for the acknowledgement. A connected socket is what makes the kernel hand us ICMP
 * errors: port unreachable arrives as ECONNREFUSED, host/admin unreachable as EHOSTUNREACH.
 * Proof of arrival comes from the target agent, not from the echo: a one-way open path passes.
 */
export function udpProbe (order: ProbeOrder, localAddress: string | undefined, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const family = net.isIPv6(order.host) || (localAddress !== undefined && net.isIPv6(localAddress)) ? 'udp6' : 'udp4'
    const socket = dgram.createSocket(family)
    const payload = encodeProbe(order.nonce)
    const interval = Math.max(1, Math.floor(order.timeoutMs / (UDP_RETRIES + 1)))
    let attempts = 0
    let sendErrors = 0
    let lastSendError: string | undefined
    let lastSentAt = 0
    let sawOther = false
    let settled = false
    let retryTimer: NodeJS.Timeout | undefined

    const finish = (result: Omit<ProbeResult, 'id' | 'attempts'>): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      clearTimeout(retryTimer)
      signal.removeEventListener('abort', onAbort)
      try { socket.close() } catch { /* already closed */ }
      resolve({ id: order.id, attempts, ...result })
    }
    const deadline = setTimeout(() => {
      if (sawOther) finish({ outcome: 'replied', latencyMs: null, echo: 'other' })
      else if (attempts > 0 && sendErrors === attempts && lastSendError !== undefined) {
        const outcome = classifySocketError(lastSendError)
        finish({ outcome: outcome === 'timeout' ? 'error' : outcome, error: lastSendError, latencyMs: null, echo: 'none' })
      } else finish({ outcome: 'timeout', latencyMs: null, echo: 'none' })
    }, order.timeoutMs)
    const onAbort = (): void => finish({ outcome: 'error', error: 'ECANCELED', latencyMs: null, echo: 'none' })
    signal.addEventListener('abort', onAbort, { once: true })

    const send = (): void => {
      if (settled) return
      attempts++
      lastSentAt = performance.now()
      socket.send(payload, (err) => {
        if (err !== null && err !== undefined) {
          sendErrors++
          lastSendError = errorCodeOf(err)
        }
      })
      if (attempts <= UDP_RETRIES) retryTimer = setTimeout(send, interval)
    }

    socket.on('message', (msg) => {
      if (parseAck(msg) === order.nonce) finish({ outcome: 'replied', latencyMs: round(performance.now() - lastSentAt), echo: 'ours' })
      else sawOther = true
    })
    socket.on('error', (err) => {
      const code = errorCodeOf(err)
      const outcome = classifySocketError(code)
      // A connected UDP socket reports ICMP errors here; anything unexplained is a local error.
      finish({ outcome: outcome === 'timeout' ? 'error' : outcome, ...(code !== undefined ? { error: code } : {}), latencyMs: null, echo: 'none' })
    })
    const connect = (): void => {
      socket.connect(order.port, order.host, () => send())
    }
    if (localAddress !== undefined) socket.bind({ address: localAddress, port: 0 }, connect)
    else connect()
    if (signal.aborted) onAbort()
  })
}
