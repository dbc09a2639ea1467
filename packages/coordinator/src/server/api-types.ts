/**
 * The JSON the HTTP API sends (docs/reference/http-api.md), declared once: the routes return
 * these shapes and the dashboard reads them. Types only, and nothing here may import a module
 * that needs Node: the dashboard's browser code imports this file with `import type`.
 */
import type { Catalog, CatalogSource, Flow, SettingDef, SettingValue } from '@portcheck/protocol'
import type { FixFormat } from '../fix/fix-formats.js'
import type { AgentRecord, RefusedAgent } from '../hub/agent-record.js'
import type { HistoryEntry } from '../history/run-history.js'
import type { RunDifference } from '../history/run-difference.js'
import type { CatalogRow, PlannedCheck } from '../plan/expand.js'
import type { RunState, RunSummary, RunVerdict } from '../report/report.js'
import type { ReportDiff } from '../report/report-diff.js'
import type { CheckDetail, StatusCounts } from '../report/views.js'

import type { LaunchInfo } from '../hub/launch-info.js'

export type { AgentRecord } from '../hub/agent-record.js'
export type { LaunchInfo, LaunchState } from '../hub/launch-info.js'
export type { HistoryEntry } from '../history/run-history.js'
export type { RunDifference, FlowPortChange } from '../history/run-difference.js'

/** What a token may do: everything, or only read. */
export type Access = 'full' | 'read'

/** Agent states the API reports for inventory hosts. */
export type HostAgentState = 'connected' | 'missing' | 'lost'

/** The body of every error response. */
export interface ApiErrorBody {
  error: {
    /** A `PC_ERR_…` code (docs/reference/errors.md). */
    code: string
    message: string
    /** One line per problem, when the request was refused for several. */
    details?: string[]
  }
}

/** Defaults of every run: what a run request does not say. */
export interface RunDefaults {
  /** Probe timeout, in ms. */
  timeoutMs: number
  adaptive: boolean
  includeOptional: boolean
  concurrency: number
}

/** `GET /api/session`: what the presented token may do, and the defaults of the next run. */
export interface SessionResponse {
  access: Access
  requireAuth: boolean
  /**
   * Without a required token (a coordinator on loopback), the proof of same origin the dashboard
   * sends in the `x-portcheck-csrf` header of every write; absent otherwise.
   */
  csrf?: string
  defaults: RunDefaults
}

/** An inventory host and its agent, in `GET /api/agents`. */
export interface HostAgentStatus {
  name: string
  /** The inventory address: where peers probe this host (its first, when it has one per family). */
  address: string
  /** Every inventory address of the host, one per family at most (or its DNS name). */
  addresses: string[]
  roles: string[]
  state: HostAgentState
  /** Null while no agent of this name ever joined. */
  agent: AgentRecord | null
  /**
   * The command that joins this host from a node with Node.js and curl (the agent fetched from
   * the coordinator, pinned); viewers get it with a placeholder instead of the credential.
   */
  joinCommand: string
  /** The same from a node without Node.js: the standalone agent (see `executableTarget`); null if this coordinator makes none. */
  executableJoinCommand: string | null
  /**
   * Whether its agent runs on its inventory address (null while no agent is connected): not
   * placed, the detail says where it runs, and its checks will be `agent-misplaced`. Placed, `gaps`
   * names each family of the host its agent cannot serve (its address of that family is not the
   * agent's), whose checks will be inconclusive. `nat` marks a host declared as reached through
   * NAT, whose agent is not expected to have that address.
   */
  placement: { placed: boolean, detail: string | null, gaps: string[], nat: boolean } | null
  /** How the coordinator's launch of this host's agent goes (`--launch ssh`); null when it launches none. */
  launch: LaunchInfo | null
}

/** `GET /api/agents`. */
export interface AgentsResponse {
  /** The ws:// URL agents connect to; null before the coordinator listens. */
  agentUrl: string | null
  /** The platform of the standalone agent this coordinator serves (`linux-x64`, its own), or null if it serves none. */
  executableTarget: string | null
  hosts: HostAgentStatus[]
  /** The latest agents refused because their name is not in the inventory (at most 20). */
  refused: RefusedAgent[]
}

/** A catalog setting with the value runs use now. */
export type CatalogSetting = { name: string } & SettingDef & {
  /** Absent for a port setting without default that nothing sets. */
  value?: SettingValue
}

/** `GET /api/catalog`. */
export interface CatalogResponse {
  id: string
  title: string
  source: CatalogSource | null
  notes: string[]
  roles: Catalog['roles']
  settings: CatalogSetting[]
  flows: Flow[]
  rows: CatalogRow[]
}

/** The body of `POST /api/runs`: what a run request may change for that run only. */
export interface RunRequest {
  includeOptional?: boolean
  /** Setting overrides for this run. */
  settings?: Record<string, SettingValue>
  timeoutMs?: number
  /** Adaptive deadlines (`--timeout auto`). */
  adaptive?: boolean
  concurrency?: number
  /** Most blocked checks whose drop is localized after the run (0: off; at most 256). Default: the coordinator's `--localize`. */
  localize?: number
  /** Re-run only the checks of this earlier run that did not pass (skipped ones excluded). */
  rerunOf?: string
}

/** `POST /api/runs` (202). */
export interface RunStarted {
  id: string
  url: string
  /** How many checks the run holds. */
  checks: number
}

/** One entry of `GET /api/runs`, newest first. */
export type RunListEntry = RunSummary & {
  /** The run whose failed checks this one repeats. */
  rerunOf: string | null
  /** Started by the schedule (`serve --every`), not by a request. */
  scheduled: boolean
}

/** `GET /api/plan`: one page of the checks a run with these options would make. */
export interface PlanPage {
  catalog: string
  includeOptional: boolean
  /** Checks in the whole plan. */
  total: number
  offset: number
  checks: PlannedCheck[]
}

/** `GET /api/history`: one page of the complete runs, newest first, with each catalog flow's state in each. */
export interface HistoryPage {
  /** The catalog's flows, in the order of every entry's `flows`. */
  flows: Array<{ id: string, fromRole: string, toRole: string, purpose: string, optional: boolean }>
  /** The schedule's period in ms (`serve --every`), or null without a schedule. */
  everyMs: number | null
  /** Complete runs kept in the history, over all pages. */
  total: number
  offset: number
  runs: HistoryEntry[]
}

/** `GET /api/history/:id/difference`: what changed from the complete run before it; `difference` null for the first. */
export interface DifferenceResponse {
  id: string
  difference: RunDifference | null
}

/**
 * `GET /api/runs/:id/difference`: a re-run (`id`) compared with the run it repeats (`rerunOf`),
 * over the checks the re-run covered, as `portcheck diff` compares their reports.
 */
export interface RerunDifferenceResponse {
  id: string
  rerunOf: string
  difference: ReportDiff
}

/** `GET /api/runs/:id/checks`: one page of checks, with the counts of every match. */
export interface ChecksPage {
  /** Checks matching the filter, over all pages. */
  total: number
  offset: number
  counts: StatusCounts
  checks: CheckDetail[]
}

/** `POST /api/runs/:id/abort` (202). */
export interface RunAborting {
  id: string
  state: RunState
}

/** An event of the `/api/events` WebSocket. Checks themselves are fetched through the API, aggregated. */
export type DashboardEvent =
  | { type: 'run', id: string, state: RunState, done: number, total: number, elapsedMs: number }
  | { type: 'run-finished', id: string, verdict: RunVerdict | null, exitCode: number | null }
  | { type: 'agents' }

/** One text of `GET /api/runs/:id/fix`: what `portcheck fix` writes, and (formats without comments) what it says aside. */
export interface FixText {
  text: string
  /** What to investigate and what other formats fix, for JSON and CSV (the other formats hold it as comments). */
  aside: string[]
}

/** `GET /api/runs/:id/fix?format=F`: the rules that open the run's blocked flows, for every host and for each. */
export interface FixResponse {
  format: FixFormat
  /** `host`: the hosts' own firewalls (nftables, iptables, firewalld, ufw); `network`: what filters between them (aws, azure, gcp, csv). */
  scope: 'host' | 'network'
  /** Every host's rules in one text: `portcheck fix REPORT --format F`. */
  all: FixText
  /** Each host with rules (at most 200), in order of first appearance: `portcheck fix REPORT --format F --host H`. */
  hosts: Array<FixText & { host: string, address: string | null, rules: number }>
}
