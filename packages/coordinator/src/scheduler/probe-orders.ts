import { MAX_PROBES_PER_FRAME, type ProbeMessage, type ProbeOrder, type ReferenceEndpoint } from '@portcheck/protocol'

/** Options of {@link probeFrames}. */
export interface FrameOptions {
  concurrency: number
  adaptive: boolean
  /** The reference listeners of the source's targets. */
  refs: readonly ReferenceEndpoint[]
  /** Relayed round trips to the targets (adaptive timing only). */
  rttHints: ReadonlyArray<{ host: string, ms: number }>
}

/**
 * A source's probes of one round, as `probe` frames: targets alternate (no target takes every
 * source's first wave at once), and orders are built one frame at a time from check indexes, so
 * a million-check round never holds a million order objects. The first frame carries the path
 * hints: the targets' reference listeners, and with adaptive timing the relayed round trips.
 *
 * @param byTarget the source's check indexes, one list per target host
 * @param build the order of one check
 */
export function * probeFrames (runId: string, round: number, byTarget: ReadonlyArray<readonly number[]>, build: (index: number) => ProbeOrder, options: FrameOptions): Generator<ProbeMessage> {
  const total = byTarget.reduce((n, l) => n + l.length, 0)
  const order = new Int32Array(total)
  let k = 0
  for (let i = 0, more = true; more; i++) {
    more = false
    for (const l of byTarget) {
      const idx = l[i]
      if (idx !== undefined) { order[k++] = idx; more = true }
    }
  }
  for (let i = 0; i < total; i += MAX_PROBES_PER_FRAME) {
    const probes: ProbeOrder[] = []
    for (let j = i; j < Math.min(total, i + MAX_PROBES_PER_FRAME); j++) probes.push(build(order[j] as number))
    const first = i === 0
    yield {
      type: 'probe',
      runId,
      round,
      concurrency: options.concurrency,
      ...(options.adaptive ? { adaptive: true } : {}),
      ...(first && options.adaptive && options.rttHints.length > 0 ? { rttHints: [...options.rttHints] } : {}),
      ...(first && options.refs.length > 0 ? { refs: [...options.refs] } : {}),
      probes
    }
  }
}
