import { MAX_PROBES_PER_FRAME, familyOf, type ProbeMessage, type ProbeOrder, type ReferenceEndpoint } from '@portcheck/protocol'
import type { PlannedCheck } from '../plan/expand.js'

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

/**
 * The order of one check: probe its target address (or name) on its port with its nonce.
 * @param need attempts the check still needs (re-probes), if any
 * @param held another process holds the TCP port on the target
 */
export function probeOrder (c: PlannedCheck, nonce: string, timeoutMs: number, need: number | undefined, held: boolean): ProbeOrder {
  return {
    id: c.index,
    protocol: c.protocol,
    host: c.toAddress as string,
    port: c.port,
    nonce,
    timeoutMs,
    ...(need !== undefined ? { need } : {}),
    ...(held ? { held: true } : {}),
    // A name probed over a family the plan fixed (the source has no other): resolve it in that family.
    ...(c.family !== null && familyOf(c.toAddress as string) === null ? { family: c.family } : {})
  }
}

/** One target address of a source's round, and what is known of the agent there. */
export interface TargetEnd {
  /** The address (or name) the source's orders name: one path per address, so per family. */
  address: string
  /** The target agent's reference listener. */
  refPort: number | null
  /** The target agent's control-channel round trip, in ms. */
  rttMs: number | null
}

/** A source's path hints: the reference listener at each of its target addresses, and the round trips relayed through the coordinator. */
export function pathHints (sourceRttMs: number | null, targets: readonly TargetEnd[]): Pick<FrameOptions, 'refs' | 'rttHints'> {
  return {
    refs: targets.filter((t) => t.refPort !== null).map((t) => ({ host: t.address, port: t.refPort as number })),
    rttHints: sourceRttMs === null ? [] : targets.filter((t) => t.rttMs !== null).map((t) => ({ host: t.address, ms: Math.round((sourceRttMs + (t.rttMs as number)) * 1000) / 1000 }))
  }
}
