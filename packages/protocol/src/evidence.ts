/**
 * When silence is evidence of a drop. A probe that gets no answer proves nothing by itself: on a
 * path that loses packets, an open port stays silent now and then. A source therefore keeps
 * trying, measures the path's loss from the probes that were answered (the attempts that went
 * unanswered before a later attempt was), and a check may be called dropped only once the chance
 * that an open port stayed silent that many times, on that measured loss, is below
 * {@link DROP_EVIDENCE}. The agent uses this to stop probing early (`--timeout auto`); the
 * coordinator to decide verdicts and to ask for more attempts where the evidence falls short.
 */

/** What a path has shown so far: attempts of answered probes, and how many of them went unanswered. */
export interface LossSample {
  attempts: number
  failed: number
}

/**
 * What every path is assumed to have shown before any measurement: one unanswered attempt in
 * twenty (a Beta(1, 19) prior on the chance that an attempt goes unanswered). A path with few
 * answered attempts is thus never taken for a perfect one.
 */
export const LOSS_PRIOR: Readonly<LossSample> = { attempts: 20, failed: 1 }

/**
 * Largest chance, on an open port, of the silence a drop is reported on: one in a million.
 * At that bound a run of 10,000 silent checks reports a false drop about once in a hundred runs.
 */
export const DROP_EVIDENCE = 1e-6

/** Answered attempts a path needs before its own figures are used instead of wider ones. */
export const MIN_PATH_SAMPLE = 20

/**
 * The chance that `k` attempts in a row go unanswered on an open port of a path that showed
 * `sample`: the Beta-binomial predictive probability E[q^k] under the posterior of the
 * per-attempt loss q, with {@link LOSS_PRIOR} as the prior.
 */
export function silenceChance (k: number, sample: LossSample): number {
  const a = sample.failed + LOSS_PRIOR.failed
  const b = sample.attempts - sample.failed + LOSS_PRIOR.attempts - LOSS_PRIOR.failed
  let p = 1
  for (let i = 0; i < k && p > 0; i++) p *= (a + i) / (a + b + i)
  return p
}

/**
 * The fewest unanswered attempts that are evidence of a drop on a path that showed `sample`, or
 * `Infinity` if more than `max` would be needed.
 */
export function attemptsNeeded (sample: LossSample, max: number): number {
  for (let k = 1; k <= max; k++) if (silenceChance(k, sample) <= DROP_EVIDENCE) return k
  return Number.POSITIVE_INFINITY
}

/** True if `k` unanswered attempts are evidence of a drop on a path that showed `sample`. */
export function isEvidenceOfDrop (k: number, sample: LossSample): boolean {
  return k > 0 && silenceChance(k, sample) <= DROP_EVIDENCE
}

/** The measured share of unanswered attempts, 0 to 1, or null with no attempts. */
export function lossRate (sample: LossSample): number | null {
  return sample.attempts === 0 ? null : sample.failed / sample.attempts
}

/** Sums samples. */
export function addSamples (...samples: LossSample[]): LossSample {
  let attempts = 0
  let failed = 0
  for (const s of samples) { attempts += s.attempts; failed += s.failed }
  return { attempts, failed }
}
