import { WebSocket } from 'ws'
import type { CoordinatorMessage } from '@portcheck/protocol'
import { NUDGE_PAYLOAD, tailNudger } from '@portcheck/protocol/node'
import type { AgentRecord } from './agent-record.js'

/** One registered agent's live control connection. */
export class AgentConnection {
  alive = true
  /** Heartbeats in a row that got no answer (a pong or any frame). */
  missed = 0
  /** Smoothed round trip of the control channel's heartbeat, in ms; null until measured. */
  rttMs: number | null = null
  private pingSentAt = 0
  /** Follows each burst of messages with a nudge, so that a lost last segment is repaired in ms. */
  private readonly nudge = tailNudger(() => {
    if (this.open) this.ws.pong(NUDGE_PAYLOAD)
  })

  constructor (readonly record: AgentRecord, private readonly ws: WebSocket, readonly instance: string) {}

  get name (): string {
    return this.record.name
  }

  get open (): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /** Sends a message; false if the connection is no longer open. */
  send (msg: CoordinatorMessage): boolean {
    if (!this.open) return false
    this.ws.send(JSON.stringify(msg))
    this.nudge()
    return true
  }

  /**
   * Answers a message from the agent with a nudge, whose TCP segment carries our acknowledgement
   * once more: a lost ACK otherwise leaves the agent's side waiting for its retransmission timer,
   * which doubles with each loss (see tailNudger).
   */
  acknowledge (): void {
    this.nudge()
  }

  /** Bytes queued on the socket but not yet written (backpressure). */
  get buffered (): number {
    return this.ws.bufferedAmount
  }

  /** Sends a heartbeat ping; the pong marks the agent alive and measures the round trip. */
  ping (): void {
    this.pingSentAt = performance.now()
    try { this.ws.ping() } catch { /* already closing */ }
  }

  /** Called on a pong: feeds the round-trip estimate. */
  ponged (): void {
    if (this.pingSentAt === 0) return
    const sample = performance.now() - this.pingSentAt
    this.pingSentAt = 0
    this.rttMs = this.rttMs === null ? sample : 0.75 * this.rttMs + 0.25 * sample
  }

  close (code = 1000, reason = ''): void {
    this.ws.close(code, reason)
  }

  terminate (): void {
    this.ws.terminate()
  }
}
