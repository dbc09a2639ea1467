import type { Logger } from 'pino'
import type { Catalog } from '@portcheck/protocol'
import { portLabel } from '../report/check-text.js'
import type { CheckChange } from '../report/report-diff.js'
import type { RunHistory } from '../history/run-history.js'
import { hasChanges, type RunDifference } from '../history/run-difference.js'
import type { WebhookNotifier } from './webhook.js'

/** The JSON a webhook receives when a complete run differs from the one before it (docs/guide/continuous-checks.md). */
export interface DifferenceMessage extends RunDifference {
  type: 'portcheck.difference'
  catalog: string
  catalogTitle: string
  /** The later run's report on the coordinator, or null if it is not listening yet. */
  url: string | null
}

const ends = (c: CheckChange): string => `${c.from ?? `(${c.fromRole})`} → ${c.to ?? `(${c.toRole})`}`

/**
 * Says out loud what changed from one complete run to the next: a warning per check that passed
 * and is blocked now (its flow, hosts, protocol and port), a line for what failed and passes
 * now, and the whole difference POSTed to the webhook, if there is one. At most
 * MAX_LISTED_CHANGES lines of each kind per run; the counts are always whole.
 */
export function announceDifferences (history: RunHistory, opts: { catalog: Catalog, logger: Logger, notifier: WebhookNotifier | null, httpUrl: () => string | null }): void {
  const { logger } = opts
  history.on('recorded', ({ difference }) => {
    if (difference === null || !hasChanges(difference)) return
    const runs = { runId: difference.after.id, previousRunId: difference.before.id }
    for (const c of difference.newlyBlocked) {
      logger.warn({ ...runs, flow: c.flowIds, from: c.from, to: c.to, protocol: c.protocol, port: c.port, reason: c.after?.reason ?? null },
        `regression: ${ends(c)} ${portLabel(c)} (flow ${c.flowIds.join(', ')}, ${c.fromRole} → ${c.toRole}) passed in run ${difference.before.id} and is blocked now (${c.after?.reason ?? 'blocked'})`)
    }
    const more = (listed: number, count: number, what: string): void => {
      if (count > listed) logger.warn({ ...runs, count }, `… and ${count - listed} more ${what} (GET /api/history/${difference.after.id}/difference)`)
    }
    more(difference.newlyBlocked.length, difference.counts.newlyBlocked, 'regressions')
    if (difference.counts.newlyInconclusive > 0) {
      logger.warn({ ...runs, count: difference.counts.newlyInconclusive, first: difference.newlyInconclusive.slice(0, 5).map((c) => `${ends(c)} ${portLabel(c)} ${c.after?.reason ?? ''}`) },
        `${difference.counts.newlyInconclusive} check(s) that passed in run ${difference.before.id} can no longer be proven`)
    }
    if (difference.counts.fixed > 0) {
      logger.info({ ...runs, count: difference.counts.fixed, first: difference.fixed.slice(0, 5).map((c) => `${ends(c)} ${portLabel(c)}`) },
        `fixed: ${difference.counts.fixed} check(s) that failed in run ${difference.before.id} pass now`)
    }
    const base = opts.httpUrl()
    const message: DifferenceMessage = {
      type: 'portcheck.difference',
      catalog: opts.catalog.id,
      catalogTitle: opts.catalog.title,
      url: base !== null ? `${base}api/runs/${difference.after.id}` : null,
      ...difference
    }
    opts.notifier?.notify(message)
  })
}
