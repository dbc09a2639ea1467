/**
 * When a probe gives up. Fixed: after the coordinator's timeout. Adaptive (`--timeout auto`):
 * after a deadline learnt from the round trips this agent measures during the run, per target
 * host, the way TCP computes its retransmission timeout (RFC 6298) and nmap its scan timing.
 */
export interface ProbeTiming {
  /** The current deadline of a probe to `host`, in ms after it started; it may move as RTTs are learnt. */
  deadlineMs: (host: string) => number
  /** Adaptive deadlines: TCP gets a second connection attempt before giving up. */
  adaptive: boolean
}

/** Fixed timing: probes give up after their order's `timeoutMs` only. */
export const FIXED_TIMING: ProbeTiming = { deadlineMs: () => Number.POSITIVE_INFINITY, adaptive: false }

/** Shortest adaptive deadline, in ms: below this, scheduling jitter rather than the network would decide. */
export const MIN_ADAPTIVE_MS = 150
/** Samples of one host needed before its own estimate is trusted over the agent-wide one. */
const MIN_SAMPLES = 1

class Estimator {
  srtt = 0
  rttvar = 0
  samples = 0

  add (r: number): void {
    if (this.samples === 0) {
      this.srtt = r
      this.rttvar = r / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r)
      this.srtt = 0.875 * this.srtt + 0.125 * r
    }
    this.samples++
  }

  /** RFC 6298 retransmission timeout: SRTT + 4 RTTVAR. */
  rto (): number {
    return this.srtt + 4 * this.rttvar
  }
}

/** Round-trip estimates per target host and for the whole agent, from successful probes. */
export class RttTable {
  private readonly hosts = new Map<string, Estimator>()
  private readonly all = new Estimator()
  private readonly hints = new Map<string, number>()

  /** An upper estimate of a host's round trip from the coordinator, in ms, used until we measure our own. */
  hint (host: string, ms: number): void {
    this.hints.set(host, ms)
  }

  /** Feeds a round trip measured to a host, in ms. */
  add (host: string, rttMs: number): void {
    let e = this.hosts.get(host)
    if (e === undefined) { e = new Estimator(); this.hosts.set(host, e) }
    e.add(rttMs)
    this.all.add(rttMs)
  }

  /**
   * The deadline for a probe to a host, in ms, between MIN_ADAPTIVE_MS and `maxMs`:
   * - twice its own RTO once it has answered a probe;
   * - otherwise the larger of twice the coordinator's upper estimate for it (RTT to the
   *   coordinator plus the target's) and six times the agent-wide RTO, whichever is known;
   * - `maxMs` while nothing at all is known.
   */
  deadline (host: string, maxMs: number): number {
    const e = this.hosts.get(host)
    let d: number
    if (e !== undefined && e.samples >= MIN_SAMPLES) d = 2 * e.rto()
    else {
      const hint = this.hints.get(host)
      if (hint === undefined && this.all.samples === 0) return maxMs
      d = Math.max(hint === undefined ? 0 : 2 * hint, this.all.samples > 0 ? 6 * this.all.rto() : 0)
    }
    return Math.min(maxMs, Math.max(MIN_ADAPTIVE_MS, d))
  }
}

/**
 * Calls `onExpire` once a probe's deadline has passed, re-reading the deadline as it moves. The
 * call is deferred past one I/O poll (setImmediate), so that an answer already waiting in the
 * kernel when the timer fires is processed first and not mistaken for a drop.
 */
export function watchDeadline (start: number, deadlineMs: () => number, adaptive: boolean, onExpire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  let cancelled = false
  const arm = (): void => {
    if (cancelled) return
    const remaining = deadlineMs() - (performance.now() - start)
    if (remaining > 0) {
      // Adaptive deadlines shrink as round trips are learnt: look again at least every 50 ms.
      timer = setTimeout(arm, adaptive ? Math.min(remaining, 50) : remaining)
      return
    }
    immediate = setImmediate(() => {
      if (cancelled) return
      if (deadlineMs() - (performance.now() - start) > 0) arm()
      else onExpire()
    })
  }
  arm()
  return () => {
    cancelled = true
    clearTimeout(timer)
    if (immediate !== undefined) clearImmediate(immediate)
  }
}
