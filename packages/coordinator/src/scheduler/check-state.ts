import { randomFillSync, timingSafeEqual } from 'node:crypto'
import { ECHO_KINDS, MAX_CONNECTED_PORTS, PROBE_OUTCOMES, STATUSES, type ProbeResult, type Proto, type Reason, type Status } from '@portcheck/protocol'
import type { SeenReceipt } from './verdict.js'

const NONE = 255
/** Receipts kept per check. */
export const MAX_RECEIPTS_PER_CHECK = 8
/** Tag bytes per check: 64 random bits make a nonce unguessable without having seen it. */
const TAG_BYTES = 8
/** A nonce is the check index (4 bytes) and its tag, base64url: 16 characters. */
const NONCE_BYTES = 4 + TAG_BYTES

/**
 * What a run observed about each of its checks, in flat typed arrays instead of an object per
 * check: a million checks cost tens of megabytes here, not a gigabyte. Verdicts are not stored
 * beyond their status and reason codes; the rest is recomputed from these observations.
 *
 * Nonces carry their own check index, so a receipt finds its check without a lookup table; the
 * 64-bit random tag beside the index is what makes a nonce impossible to forge or guess.
 */
export class CheckState {
  readonly size: number
  private readonly tags: Buffer
  private readonly probed: Uint8Array
  /** The round whose result a check awaits (0: none). */
  private readonly awaiting: Uint8Array
  private readonly rounds: Uint8Array
  private readonly unanswered: Uint16Array
  private readonly connected = new Map<number, number[]>()
  private readonly resolved = new Map<number, string>()
  private readonly outcome: Uint8Array
  private readonly latency: Float32Array
  private readonly attempts: Uint16Array
  private readonly echo: Uint8Array
  private readonly errors = new Map<number, string>()
  private readonly receiptAgent: Int32Array
  private readonly receiptProto: Uint8Array
  private readonly receiptPort: Uint16Array
  private readonly receiptAddress: Int32Array
  private readonly moreReceipts = new Map<number, SeenReceipt[]>()
  private readonly statusCode: Uint8Array
  private readonly reasonCode: Uint8Array
  private readonly agents: string[] = []
  private readonly agentIds = new Map<string, number>()
  private readonly addresses: string[] = []
  private readonly addressIds = new Map<string, number>()
  private readonly reasons: string[] = []
  private readonly reasonIds = new Map<string, number>()

  constructor (size: number) {
    this.size = size
    this.tags = Buffer.allocUnsafe(size * TAG_BYTES)
    randomFillSync(this.tags)
    this.probed = new Uint8Array(size)
    this.awaiting = new Uint8Array(size)
    this.rounds = new Uint8Array(size)
    this.unanswered = new Uint16Array(size)
    this.outcome = new Uint8Array(size).fill(NONE)
    this.latency = new Float32Array(size).fill(Number.NaN)
    this.attempts = new Uint16Array(size)
    this.echo = new Uint8Array(size).fill(NONE)
    this.receiptAgent = new Int32Array(size).fill(-1)
    this.receiptProto = new Uint8Array(size)
    this.receiptPort = new Uint16Array(size)
    this.receiptAddress = new Int32Array(size)
    this.statusCode = new Uint8Array(size).fill(NONE)
    this.reasonCode = new Uint8Array(size).fill(NONE)
  }

  /** Marks a check as one to probe: from then on, receipts of its nonce count. */
  markProbed (index: number): void {
    this.probed[index] = 1
  }

  /** The nonce of a check (index and random tag), as sent to its source. */
  nonceFor (index: number): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES)
    buf.writeUInt32BE(index, 0)
    this.tags.copy(buf, 4, index * TAG_BYTES, (index + 1) * TAG_BYTES)
    return buf.toString('base64url')
  }

  isProbed (index: number): boolean {
    return this.probed[index] === 1
  }

  /** The check a nonce belongs to, or -1 if it is not one of this run's (checked in constant time). */
  indexOfNonce (nonce: string): number {
    if (nonce.length !== 16) return -1
    const buf = Buffer.from(nonce, 'base64url')
    if (buf.length !== NONCE_BYTES) return -1
    const index = buf.readUInt32BE(0)
    if (index >= this.size || this.probed[index] !== 1) return -1
    return timingSafeEqual(buf.subarray(4), this.tags.subarray(index * TAG_BYTES, (index + 1) * TAG_BYTES)) ? index : -1
  }

  /** Marks a check as sent to its source in `round`: that round's result is awaited. */
  await (index: number, round: number): void {
    this.awaiting[index] = round
  }

  /** True if the check awaits a result of `round`. */
  awaits (index: number, round: number): boolean {
    return this.awaiting[index] === round
  }

  /**
   * Records the result of the round the check awaits; false if it awaits none (a duplicate or a
   * stale result is ignored). A re-probe's result replaces the outcome and adds to the attempts,
   * the unanswered attempts and the connected ports of the rounds before.
   */
  setResult (r: ProbeResult): boolean {
    const i = r.id
    if (this.awaiting[i] === 0 || this.awaiting[i] === undefined) return false
    this.rounds[i] = this.awaiting[i] as number
    this.awaiting[i] = 0
    const first = this.outcome[i] === NONE
    this.outcome[i] = PROBE_OUTCOMES.indexOf(r.outcome)
    if (r.latencyMs !== null || first) this.latency[i] = r.latencyMs ?? Number.NaN
    this.attempts[i] = Math.min(65535, (first ? 0 : this.attempts[i] as number) + r.attempts)
    this.unanswered[i] = Math.min(65535, (first ? 0 : this.unanswered[i] as number) + r.unanswered)
    // Something else answered once: that stays known, whatever later attempts saw.
    if (first || r.echo !== 'none') this.echo[i] = ECHO_KINDS.indexOf(r.echo)
    if (r.error !== undefined) this.errors.set(i, r.error)
    else this.errors.delete(i)
    if (r.connected !== undefined && r.connected.length > 0) {
      const ports = this.connected.get(i) ?? []
      for (const p of r.connected) if (ports.length < MAX_CONNECTED_PORTS * 4) ports.push(p)
      this.connected.set(i, ports)
    }
    if (r.address !== undefined) this.resolved.set(i, r.address)
    return true
  }

  /** The probe result, merged over rounds; null if none came. */
  result (index: number): ProbeResult | null {
    const o = this.outcome[index] as number
    if (o === NONE) return null
    const latency = this.latency[index] as number
    const error = this.errors.get(index)
    const connected = this.connected.get(index)
    const address = this.resolved.get(index)
    return {
      id: index,
      outcome: PROBE_OUTCOMES[o] as ProbeResult['outcome'],
      ...(error !== undefined ? { error } : {}),
      latencyMs: Number.isNaN(latency) ? null : Math.round(latency * 1000) / 1000,
      attempts: this.attempts[index] as number,
      unanswered: this.unanswered[index] as number,
      echo: ECHO_KINDS[this.echo[index] as number] as ProbeResult['echo'],
      ...(connected !== undefined ? { connected } : {}),
      ...(address !== undefined ? { address } : {})
    }
  }

  /** Rounds of probing a check went through (0 if it was never answered). */
  roundsOf (index: number): number {
    return this.rounds[index] as number
  }

  /**
   * Records that an agent's listener saw this check's nonce; false if the check already holds
   * {@link MAX_RECEIPTS_PER_CHECK} receipts (one proves it; a few more show a DNAT or a
   * retransmission; thousands are an agent repeating itself).
   */
  addReceipt (index: number, r: SeenReceipt): boolean {
    if (this.receiptAgent[index] === -1) {
      this.receiptAgent[index] = intern(this.agents, this.agentIds, r.agent)
      this.receiptProto[index] = r.protocol === 'tcp' ? 0 : 1
      this.receiptPort[index] = r.port
      this.receiptAddress[index] = intern(this.addresses, this.addressIds, r.address)
      return true
    }
    const more = this.moreReceipts.get(index) ?? []
    if (more.length >= MAX_RECEIPTS_PER_CHECK - 1) return false
    more.push(r)
    this.moreReceipts.set(index, more)
    return true
  }

  /** Every receipt of a check's nonce. */
  receipts (index: number): SeenReceipt[] {
    const a = this.receiptAgent[index] as number
    if (a === -1) return []
    const first: SeenReceipt = {
      agent: this.agents[a] as string,
      protocol: (this.receiptProto[index] === 0 ? 'tcp' : 'udp') as Proto,
      port: this.receiptPort[index] as number,
      address: this.addresses[this.receiptAddress[index] as number] as string
    }
    const more = this.moreReceipts.get(index)
    return more === undefined ? [first] : [first, ...more]
  }

  /** Stores a check's status and reason; `null` status means not decided yet. */
  setStatus (index: number, status: Status | null, reason: Reason | null): void {
    this.statusCode[index] = status === null ? NONE : STATUSES.indexOf(status)
    this.reasonCode[index] = reason === null ? NONE : intern(this.reasons, this.reasonIds, reason)
  }

  status (index: number): Status | null {
    const s = this.statusCode[index] as number
    return s === NONE ? null : STATUSES[s] as Status
  }

  reason (index: number): Reason | null {
    const r = this.reasonCode[index] as number
    return r === NONE ? null : this.reasons[r] as Reason
  }
}

function intern (list: string[], ids: Map<string, number>, value: string): number {
  let id = ids.get(value)
  if (id === undefined) {
    id = list.length
    list.push(value)
    ids.set(value, id)
  }
  return id
}
