import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { Catalog, Status } from '@portcheck/protocol'
import type { Counts, RunVerdict } from '../report/report.js'
import type { Run } from '../scheduler/run.js'
import type { RunManager } from '../scheduler/run-manager.js'
import { digestRun, type RunDigest, type RunSnapshot } from './run-digest.js'
import { differenceOf, type RunDifference } from './run-difference.js'

/** Complete runs the history keeps, at most (the timeline's columns): about 40 hours at `--every 5m`. */
export const MAX_HISTORY = 500

/** One complete run in the history: what the timeline shows of it. */
export interface HistoryEntry {
  id: string
  /** Started by the schedule (`serve --every`), not by a request. */
  scheduled: boolean
  startedAt: string
  finishedAt: string | null
  durationMs: number
  verdict: RunVerdict | null
  summary: Counts
  required: Counts
  agents: { expected: number, joined: number }
  /** The worst status of each catalog flow in this run, in the catalog's order; null: the run had no check of it. */
  flows: Array<Status | null>
  /** How many checks moved since the complete run before it (see {@link RunDifference}); null for the first. */
  changes: RunDifference['counts'] | null
}

/** What the history hears of each complete run, for whoever reports on it (log, metrics, webhook). */
export interface Recorded {
  run: Run
  digest: RunDigest
  /** Null for the first complete run: nothing to compare with. */
  difference: RunDifference | null
}

interface HistoryEvents {
  recorded: [Recorded]
}

/**
 * The complete runs (ended without abort, the whole plan rather than a re-run of failed checks)
 * one after the other: each is compared with the one before it, and kept as a small entry
 * (counts, each flow's worst status, its difference) after the run itself is dropped from memory.
 */
export class RunHistory extends EventEmitter<HistoryEvents> {
  /** Oldest first. */
  private readonly entries: Array<{ entry: HistoryEntry, difference: RunDifference | null }> = []
  private baseline: RunSnapshot | null = null

  constructor (private readonly runs: RunManager, private readonly catalog: Catalog, private readonly logger: Logger) {
    super()
    runs.on('finished', (run) => this.record(run))
  }

  /** The catalog flows the entries' `flows` follow. */
  flowIds (): string[] {
    return this.catalog.flows.map((f) => f.id)
  }

  /** Entries newest first, from `offset`, at most `limit`; and how many there are. */
  page (offset: number, limit: number): { total: number, entries: HistoryEntry[] } {
    const total = this.entries.length
    const out: HistoryEntry[] = []
    for (let i = total - 1 - offset; i >= 0 && out.length < limit; i--) out.push((this.entries[i] as (typeof this.entries)[number]).entry)
    return { total, entries: out }
  }

  /** A kept run's difference to the one before it: null for the first; undefined if not in the history. */
  difference (id: string): RunDifference | null | undefined {
    return this.entries.find((e) => e.entry.id === id)?.difference
  }

  private record (run: Run): void {
    if (run.state !== 'done' || run.rerunOf !== null) return
    try {
      const digest = digestRun(run)
      const prev = this.baseline
      const difference = prev === null ? null : differenceOf(prev, run, this.runs.get(prev.runId))
      this.baseline = digest.snapshot
      const s = run.summary()
      const entry: HistoryEntry = {
        id: run.id,
        scheduled: run.scheduled,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        durationMs: s.durationMs,
        verdict: s.verdict,
        summary: s.summary,
        required: s.required,
        agents: { expected: s.agents.expected, joined: s.agents.joined },
        flows: this.catalog.flows.map((f) => digest.flowWorst.get(f.id) ?? null),
        changes: difference?.counts ?? null
      }
      this.entries.push({ entry, difference })
      if (this.entries.length > MAX_HISTORY) this.entries.shift()
      this.emit('recorded', { run, digest, difference })
    } catch (err) {
      // Reporting on a run must never take the coordinator down with it.
      this.logger.error({ err, runId: run.id }, 'could not record the run in the history')
    }
  }
}
