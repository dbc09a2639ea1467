import {
  LOSS_PRIOR, MIN_PATH_SAMPLE, addSamples, attemptsNeeded,
  type LossSample, type PathFigures, type Proto
} from '@portcheck/protocol'

/** Which measurements a check's evidence was judged against. */
export type SampleScope = 'path' | 'source' | 'target' | 'none'

/** A loss sample and where it comes from. */
export interface JudgedSample {
  sample: LossSample
  scope: SampleScope
  /** Smoothed round trip of the path, in ms, when measured. */
  rttMs: number | null
}

const EMPTY: LossSample = { attempts: 0, failed: 0 }

/**
 * The path figures every source reported at the end-of-probing barriers (round trip and loss per
 * target host and protocol, cumulative over the run), and the sample each silent check is judged
 * against: its own path's, once that path has {@link MIN_PATH_SAMPLE} answered attempts; before
 * that, whichever of its own, its source's (to every target) or its target's (from every source)
 * asks for the most evidence, so a path lossier than its neighbours is never judged on theirs.
 */
export class PathStats {
  private readonly bySource = new Map<string, Map<string, PathFigures>>()
  // Each source's and each target's sums, made once between updates: every check of a run is
  // judged, and summing afresh for each (over every source, for a target) made a 1,000-agent run
  // cost N³ (minutes for a million checks).
  private readonly sourceSums = new Map<string, LossSample>()
  private readonly targetSums = new Map<string, LossSample>()

  /** Records a source's figures (each replaces the previous report of the same path). */
  update (source: string, figures: readonly PathFigures[]): void {
    let m = this.bySource.get(source)
    if (m === undefined) { m = new Map(); this.bySource.set(source, m) }
    for (const f of figures) m.set(`${f.protocol}|${f.host}`, f)
    this.sourceSums.clear()
    this.targetSums.clear()
  }

  /** One path's figures, both protocols together (a TCP handshake and a UDP exchange are both one round trip). */
  private own (source: string, host: string): { sample: LossSample, rttMs: number | null } {
    const m = this.bySource.get(source)
    const tcp = m?.get(`tcp|${host}`)
    const udp = m?.get(`udp|${host}`)
    return { sample: addSamples(tcp ?? EMPTY, udp ?? EMPTY), rttMs: tcp?.rttMs ?? udp?.rttMs ?? null }
  }

  private sourceWide (source: string): LossSample {
    let sum = this.sourceSums.get(source)
    if (sum === undefined) {
      const m = this.bySource.get(source)
      sum = m === undefined ? EMPTY : addSamples(...m.values())
      this.sourceSums.set(source, sum)
    }
    return sum
  }

  private targetWide (host: string): LossSample {
    let sum = this.targetSums.get(host)
    if (sum === undefined) {
      const all: LossSample[] = []
      for (const m of this.bySource.values()) {
        for (const proto of ['tcp', 'udp'] as const) {
          const f = m.get(`${proto}|${host}`)
          if (f !== undefined) all.push(f)
        }
      }
      sum = addSamples(...all)
      this.targetSums.set(host, sum)
    }
    return sum
  }

  /** The sample a silent check from `source` to `host` is judged against. */
  judge (source: string, host: string, _proto: Proto): JudgedSample {
    const own = this.own(source, host)
    if (own.sample.attempts >= MIN_PATH_SAMPLE) return { sample: own.sample, scope: 'path', rttMs: own.rttMs }
    const candidates: JudgedSample[] = ([
      { sample: own.sample, scope: own.sample.attempts > 0 ? 'path' : 'none', rttMs: own.rttMs },
      { sample: this.sourceWide(source), scope: 'source', rttMs: own.rttMs },
      { sample: this.targetWide(host), scope: 'target', rttMs: own.rttMs }
    ] satisfies JudgedSample[]).filter((c) => c.scope === 'none' || c.scope === 'path' || c.sample.attempts >= MIN_PATH_SAMPLE)
    let worst = candidates[0] as JudgedSample
    for (const c of candidates) if (demand(c.sample) > demand(worst.sample)) worst = c
    return worst
  }
}

/** How much evidence a sample asks for: its posterior mean loss, prior included. */
function demand (s: LossSample): number {
  return (s.failed + LOSS_PRIOR.failed) / (s.attempts + LOSS_PRIOR.attempts)
}

/** Attempts still needed on top of `have` for a drop to be evidenced on `sample`; Infinity if more than `budget`. */
export function moreAttemptsNeeded (sample: LossSample, have: number, budget: number): number {
  const total = attemptsNeeded(sample, have + budget)
  return total === Number.POSITIVE_INFINITY ? total : Math.max(0, total - have)
}
