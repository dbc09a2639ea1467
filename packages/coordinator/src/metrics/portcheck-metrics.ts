import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type GaugeConfiguration } from 'prom-client'
import type { InventoryHost } from '@portcheck/protocol'
import { STATUSES } from '@portcheck/protocol'
import type { AgentHub } from '../hub/agent-hub.js'
import type { RunHistory } from '../history/run-history.js'
import type { FlowPort } from '../history/flow-ports.js'
import type { RunVerdict } from '../report/report.js'
import type { RunManager } from '../scheduler/run-manager.js'
import type { DeliveryOutcome, WebhookNotifier } from '../notify/webhook.js'

/** What `portcheck_runs_total` counts runs by: their verdict, or `aborted`. */
export const RUN_OUTCOMES: ReadonlyArray<RunVerdict | 'aborted'> = ['pass', 'blocked', 'inconclusive', 'aborted']

/**
 * Buckets of `portcheck_run_duration_seconds`, in seconds: from a LAN's second (`--timeout
 * auto`) to the hour a run may last at most (agents keep listeners open that long).
 */
export const RUN_DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

const FLOW_LABELS = ['flow', 'from_role', 'to_role', 'protocol', 'port'] as const

const flowLabels = (r: FlowPort): Record<(typeof FLOW_LABELS)[number], string> =>
  ({ flow: r.flow, from_role: r.fromRole, to_role: r.toRole, protocol: r.protocol, port: r.port })

/** What the metrics are read from. */
export interface MetricsSources {
  runs: RunManager
  history: RunHistory
  hub: AgentHub
  hosts: readonly InventoryHost[]
  notifier: WebhookNotifier | null
}

/**
 * The coordinator's metrics, in their own prom-client registry (never the global one, so that
 * two coordinators in one process, as in the tests, never mix): runs and their duration as they
 * end, the last complete run's checks and blocked host pairs per catalog row, regressions, and
 * the agents, read at each scrape. Label values come from the catalog and the inventory only, so
 * the series are bounded by them, never by the number of checks or of host pairs.
 */
export class PortcheckMetrics {
  readonly registry = new Registry()

  constructor (src: MetricsSources) {
    const registers = [this.registry]
    // process_* and nodejs_*: the coordinator's own memory, CPU and event loop. prom-client names
    // three of its gauges *_total, which promtool refuses (a suffix for counters only); their
    // breakdowns by type (nodejs_active_handles, …) stay.
    collectDefaultMetrics({ register: this.registry })
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name)
    const runs = new Counter({ name: 'portcheck_runs_total', help: 'Runs ended, by verdict (aborted: stopped before the end).', labelNames: ['verdict'], registers })
    for (const verdict of RUN_OUTCOMES) runs.inc({ verdict }, 0)
    const duration = new Histogram({ name: 'portcheck_run_duration_seconds', help: 'How long runs took, from start to listeners closed.', buckets: RUN_DURATION_BUCKETS, registers })
    const checks = new Gauge({ name: 'portcheck_checks', help: 'Checks of the last complete run, by status.', labelNames: ['status'], registers })
    const blocked = new Gauge({ name: 'portcheck_flow_blocked_pairs', help: 'Host pairs of a catalog flow and port (or range) blocked in the last complete run; 0 for those that were tested and not blocked.', labelNames: FLOW_LABELS, registers })
    const regressions = new Counter({ name: 'portcheck_flow_regressions_total', help: 'Host pairs of a catalog flow and port that passed in a complete run and were blocked in the next.', labelNames: FLOW_LABELS, registers })
    const lastRun = new Gauge({ name: 'portcheck_last_complete_run_timestamp_seconds', help: 'When the last complete run ended (Unix time): a schedule that stopped shows here.', registers })
    // Read at each scrape: what is true now, whatever the runs.
    const now: Array<GaugeConfiguration<string>> = [
      { name: 'portcheck_run_in_progress', help: '1 while a run is in progress.', collect () { this.set(src.runs.current !== null ? 1 : 0) } },
      { name: 'portcheck_kept_checks', help: 'Checks of the runs kept in memory, as counted against --keep-checks.', collect () { this.set(src.runs.kept().checks) } },
      { name: 'portcheck_agents_connected', help: 'Agents connected now.', collect () { this.set(src.hub.connectedNames().length) } },
      {
        name: 'portcheck_agent_up',
        help: '1 if the inventory host\'s agent is connected now, else 0.',
        labelNames: ['host'],
        collect () { for (const h of src.hosts) this.set({ host: h.name }, src.hub.get(h.name) !== undefined ? 1 : 0) }
      }
    ]
    for (const config of now) this.registry.registerMetric(new Gauge({ ...config, registers: [] }))
    if (src.notifier !== null) {
      const notifications = new Counter({ name: 'portcheck_notifications_total', help: 'Webhook messages, by how their delivery ended.', labelNames: ['outcome'], registers })
      const outcomes: DeliveryOutcome[] = ['delivered', 'failed', 'dropped']
      for (const outcome of outcomes) notifications.inc({ outcome }, 0)
      src.notifier.on('outcome', (outcome) => notifications.inc({ outcome }))
    }

    src.runs.on('finished', (run) => {
      const s = run.summary()
      runs.inc({ verdict: run.state === 'aborted' ? 'aborted' : s.verdict ?? 'inconclusive' })
      duration.observe(s.durationMs / 1000)
    })
    src.history.on('recorded', ({ run, digest, difference }) => {
      const s = run.summary()
      for (const status of STATUSES) checks.set({ status }, s.summary[status])
      blocked.reset()
      for (const row of digest.rows) {
        blocked.set(flowLabels(row), row.blocked)
        // Every row tested gets its series at 0, so that increase() sees the first regression.
        regressions.inc(flowLabels(row), 0)
      }
      for (const row of difference?.flows ?? []) if (row.newlyBlocked > 0) regressions.inc(flowLabels(row), row.newlyBlocked)
      lastRun.set((run.finishedAt ?? new Date()).getTime() / 1000)
    })
  }

  /** The Content-Type of {@link text}: Prometheus text format 0.0.4. */
  get contentType (): string {
    return this.registry.contentType
  }

  /** Every metric, in the Prometheus text format. */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
