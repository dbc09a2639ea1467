import dgram from 'node:dgram'
import net from 'node:net'
import { encodeProbe, parseAck, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { classifySocketError, errorCodeOf } from './classify.js'
import { round } from './tcp-probe.js'
import { FIXED_TIMING, watchDeadline, type ProbeTiming } from './timing.js'

/** Datagrams sent per probe: the first, then this many retries spread over the deadline. */
export const UDP_RETRIES = 3


/**
 * Sends the nonce as a datagram from a connected UDP socket, retrying within the deadline, and
 * listens for the acknowledgement. A connected socket is what makes the kernel hand us ICMP
 * errors: port unreachable arrives as ECONNREFUSED, host/admin unreachable as EHOSTUNREACH.
 * Proof of arrival comes from the target agent, not from the echo: a one-way open path passes.
 *
 * @param order the probe to run; `order.timeoutMs` bounds it in every case
 * @param localAddress address to send from, or undefined for the system's choice
 * @param signal aborts the probe (the run ended)
 * @param timing adaptive deadlines; default: `order.timeoutMs`
 */
export function udpProbe (order: ProbeOrder, localAddress: string | undefined, signal: AbortSignal, timing: ProbeTiming = FIXED_TIMING): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const family = net.isIPv6(order.host) || (localAddress !== undefined && net.isIPv6(localAddress)) ? 'udp6' : 'udp4'
    const socket = dgram.createSocket(family)
    const payload = encodeProbe(order.nonce)
    const start = performance.now()
    const deadline = (): number => Math.min(order.timeoutMs, timing.deadlineMs(order.host))
    let attempts = 0
    let sendErrors = 0
    let lastSendError: string | undefined
    let lastSentAt = 0
    let sawOther = false
    let settled = false
    let retryTimer: NodeJS.Timeout | undefined
    let stopWatch = (): void => {}

    const finish = (result: Omit<ProbeResult, 'id' | 'attempts'>): void => {
      if (settled) return
      settled = true
      stopWatch()
      clearTimeout(retryTimer)
      signal.removeEventListener('abort', onAbort)
      try { socket.close() } catch { /* already closed */ }
      resolve({ id: order.id, attempts, ...result })
    }
    const onDeadline = (): void => {
      if (sawOther) finish({ outcome: 'replied', latencyMs: null, echo: 'other' })
      else if (attempts > 0 && sendErrors === attempts && lastSendError !== undefined) {
        const outcome = classifySocketError(lastSendError)
        finish({ outcome: outcome === 'timeout' ? 'error' : outcome, error: lastSendError, latencyMs: null, echo: 'none' })
      } else finish({ outcome: 'timeout', latencyMs: null, echo: 'none' })
    }
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
      // Retries spread over the deadline as it stands now (it may shrink as RTTs are learnt).
      if (attempts <= UDP_RETRIES) retryTimer = setTimeout(send, Math.max(10, Math.floor(deadline() / (UDP_RETRIES + 1))))
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
    stopWatch = watchDeadline(start, deadline, timing.adaptive, onDeadline)
    if (localAddress !== undefined) socket.bind({ address: localAddress, port: 0 }, connect)
    else connect()
    if (signal.aborted) onAbort()
  })
}
