import {
  MIN_PATH_SAMPLE, addSamples, isEvidenceOfDrop,
  type LossSample, type PathFigures, type Proto
} from '@portcheck/protocol'

/**
 * Shortest answer window, in ms: below this, the scheduling of two busy processes rather than
 * the network would decide whether an attempt was answered.
 */
export const MIN_WINDOW_MS = 40
/** Shortest gap between two attempts of one probe, in ms. */
export const MIN_SPACING_MS = 15
/**
 * Answer window of a path nothing has been measured on yet, in ms, at least: no attempt counts
 * as unanswered sooner. Longer when the agent has seen slower paths, or the coordinator's
 * relayed round trip is longer.
 */
export const UNMEASURED_WINDOW_MS = 250

/** Unanswered attempts a probe makes beyond the evidence its own figures ask for (see {@link PathTable.enough}). */
export const EVIDENCE_MARGIN = 2

/** RFC 6298 smoothed round trip and its variation. */
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

  /** Retransmission timeout: SRTT + 4 RTTVAR. */
  rto (): number {
    return this.srtt + 4 * this.rttvar
  }
}

class PathState {
  readonly rtt = new Estimator()
  readonly loss: LossSample = { attempts: 0, failed: 0 }
}

/** How long an attempt on a path is given before it counts as unanswered. */
export interface AnswerWindow {
  /** In ms. */
  ms: number
  /** True once a round trip on this very path (host and protocol, or the host's other protocol) was measured. */
  measured: boolean
}

/**
 * What this agent has measured on its paths during one run, per target host and protocol: the
 * round trip to our acknowledgement, and the loss (attempts that went unanswered before a later
 * attempt of the same probe was answered). Only measurements of the path itself count: the
 * coordinator's relayed round trips ({@link hint}) may lengthen the wait on a path not measured
 * yet, never shorten any.
 */
export class PathTable {
  private readonly paths = new Map<string, PathState>()
  private readonly hints = new Map<string, number>()
  private slowestRto = 0

  private key (host: string, proto: Proto): string {
    return `${proto}|${host}`
  }

  private state (host: string, proto: Proto): PathState {
    const k = this.key(host, proto)
    let s = this.paths.get(k)
    if (s === undefined) { s = new PathState(); this.paths.set(k, s) }
    return s
  }

  /** The coordinator's relayed round trip to a host, in ms (not a bound of the direct path). */
  hint (host: string, ms: number): void {
    this.hints.set(host, ms)
  }

  /**
   * Records an answered probe: its attempt `seq` (1-based) was answered first (UDP: our
   * acknowledgement; TCP: the handshake), `rttMs` after that attempt started, so the `seq - 1`
   * attempts before it went unanswered.
   */
  answered (host: string, proto: Proto, seq: number, rttMs: number): void {
    const s = this.state(host, proto)
    s.rtt.add(rttMs)
    s.loss.attempts += seq
    s.loss.failed += seq - 1
    this.slowestRto = Math.max(this.slowestRto, s.rtt.rto())
  }

  /**
   * Records one reference datagram: answered `rttMs` after it was sent, or lost (unanswered for
   * a whole answer window). Each is one attempt of the path's loss sample.
   */
  record (host: string, answeredAfterMs: number | null): void {
    const s = this.state(host, 'udp')
    s.loss.attempts++
    if (answeredAfterMs === null) s.loss.failed++
    else {
      s.rtt.add(answeredAfterMs)
      this.slowestRto = Math.max(this.slowestRto, s.rtt.rto())
    }
  }

  private estimator (host: string, proto: Proto): { rto: number } | null {
    const own = this.paths.get(this.key(host, proto))
    if (own !== undefined && own.rtt.samples > 0) return { rto: own.rtt.rto() }
    // The other protocol's round trip is the same path's: a TCP handshake and a UDP exchange
    // are both one round trip.
    const other = this.paths.get(this.key(host, proto === 'tcp' ? 'udp' : 'tcp'))
    if (other !== undefined && other.rtt.samples > 0) return { rto: other.rtt.rto() }
    return null
  }

  /** The answer window of a path: its RTO once measured, otherwise a conservative guess. */
  window (host: string, proto: Proto): AnswerWindow {
    const e = this.estimator(host, proto)
    if (e !== null) return { ms: Math.max(MIN_WINDOW_MS, e.rto), measured: true }
    const hint = this.hints.get(host) ?? 0
    return { ms: Math.max(UNMEASURED_WINDOW_MS, 4 * this.slowestRto, 2 * hint), measured: false }
  }

  /**
   * The loss sample a silent probe to a host is judged against: what both protocols measured on
   * the path (a TCP handshake and a UDP exchange are both one round trip, two packets), once
   * that is {@link MIN_PATH_SAMPLE} answered attempts; null before.
   */
  sample (host: string, _proto: Proto): LossSample | null {
    const tcp = this.paths.get(this.key(host, 'tcp'))?.loss ?? { attempts: 0, failed: 0 }
    const udp = this.paths.get(this.key(host, 'udp'))?.loss ?? { attempts: 0, failed: 0 }
    const both = addSamples(tcp, udp)
    return both.attempts >= MIN_PATH_SAMPLE ? both : null
  }

  /** Answered attempts measured on a path so far. */
  measuredAttempts (host: string, proto: Proto): number {
    return this.paths.get(this.key(host, proto))?.loss.attempts ?? 0
  }

  /**
   * True if `unanswered` attempts on this path are evidence enough of a drop, on its own measured
   * loss, with {@link EVIDENCE_MARGIN} attempts to spare: the coordinator judges on the figures of
   * the end-of-probing barrier, which may show a little more loss than these, and a probe stopped
   * short of its evidence costs a whole round of re-probing.
   */
  enough (host: string, proto: Proto, unanswered: number): boolean {
    const sample = this.sample(host, proto)
    return sample !== null && isEvidenceOfDrop(unanswered - EVIDENCE_MARGIN, sample)
  }

  /** Every path's figures, for the coordinator. */
  figures (): PathFigures[] {
    const out: PathFigures[] = []
    for (const [k, s] of this.paths) {
      const i = k.indexOf('|')
      out.push({ host: k.slice(i + 1), protocol: k.slice(0, i) as Proto, attempts: s.loss.attempts, failed: s.loss.failed, rttMs: s.rtt.samples > 0 ? Math.round(s.rtt.srtt * 1000) / 1000 : null })
    }
    return out
  }
}
