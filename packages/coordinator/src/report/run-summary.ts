import { ExitCodes, type Status } from '@portcheck/protocol'
import type { LocalizationSummary } from '../localize/localization.js'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import { isDualStack } from '../plan/families.js'
import type { Participants } from '../scheduler/participants.js'
import { emptyCounts, verdictOf, type CheckReport, type RunState, type RunSummary } from './report.js'

/** What a summary is made from: a run's identity, settings, state and agents. */
export interface SummarySource {
  readonly id: string
  readonly plan: Plan
  readonly state: RunState
  readonly startedAt: Date
  readonly finishedAt: Date | null
  readonly opts: { timeoutMs: number, adaptive: boolean }
  readonly participants: Participants
  readonly rerunOf: string | null
  readonly localization: LocalizationSummary | null
}

/**
 * A run's report without its checks: counts over every check and over required ones, the
 * verdict and exit code once finished, and where the agents stand. An interrupted run's exit
 * code is 130, the one the CLI exits with.
 */
export function summarize (run: SummarySource, statusOf: (index: number) => Status | null, done: number): RunSummary {
  const all = emptyCounts()
  const required = emptyCounts()
  const checks = run.plan.checks
  const n = checks.length
  for (let i = 0; i < n; i++) {
    const status = statusOf(i)
    const req = (checks[i] as PlannedCheck).required
    all.checks++
    if (req) required.checks++
    if (status !== null) {
      all[status]++
      if (req) required[status]++
    }
  }
  const finished = run.state === 'done' || run.state === 'aborted'
  const { verdict, exitCode } = verdictOf(required)
  const parts = run.participants
  const joined = new Set(parts.all().map((p) => p.name))
  const missing = run.plan.hosts.map((h) => h.name).filter((name) => !joined.has(name))
  const launchErrors = parts.missingReasons()
  const now = run.finishedAt ?? new Date()
  return {
    id: run.id,
    catalog: run.plan.catalog.id,
    catalogTitle: run.plan.catalog.title,
    state: run.state,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    durationMs: now.getTime() - run.startedAt.getTime(),
    timeoutMs: run.opts.timeoutMs,
    adaptive: run.opts.adaptive,
    includeOptional: run.plan.includeOptional,
    settings: { ...run.plan.settings },
    dualStack: isDualStack(run.plan.hosts),
    summary: all,
    required,
    progress: { done, total: n },
    verdict: finished ? verdict : null,
    exitCode: finished ? (run.state === 'aborted' ? ExitCodes.interrupted : exitCode) : null,
    agents: {
      expected: run.plan.hosts.length,
      joined: joined.size,
      missing,
      lost: parts.named('lost'),
      misplaced: parts.named('misplaced'),
      ...(Object.keys(launchErrors).length > 0 ? { launchErrors } : {})
    },
    rerunOf: run.rerunOf,
    localization: run.localization
  }
}

/**
 * Writes a report as JSON, a slice of checks at a time, so a million-check report never sits in
 * memory whole. `write` may return a promise (backpressure); it is awaited.
 */
export async function streamJson (summary: RunSummary, count: number, checkAt: (index: number) => CheckReport, write: (chunk: string) => unknown): Promise<void> {
  const head = JSON.stringify(summary, null, 2)
  await write(head.slice(0, -2) + ',\n  "checks": [')
  for (let i = 0; i < count; i += 1000) {
    const parts: string[] = []
    for (let j = i; j < Math.min(count, i + 1000); j++) parts.push((j === 0 ? '\n    ' : ',\n    ') + JSON.stringify(checkAt(j)))
    await write(parts.join(''))
  }
  await write(count === 0 ? ']\n}\n' : '\n  ]\n}\n')
}
