import { ExitCodes, familyOf, type Catalog, type EchoKind, type Reason, type SettingValue, type Status, type StatusTally, emptyTally } from '@portcheck/protocol'
import type { PlannedCheck } from '../plan/expand.js'
import type { Verdict } from '../scheduler/verdict.js'
import type { CheckLocation, LocalizationSummary } from '../localize/localization.js'
import type { DropRule, DropSite } from './drop-site.js'
import { flowText } from './flow-text.js'
import { remedy } from './remedy.js'

/** One check in a report (`--format json`, `GET /api/runs/:id`): its plan entry, and what was found. */
export interface CheckReport extends Omit<PlannedCheck, 'skip'> {
  /** Null while the check is still running. */
  status: Status | null
  reason: Reason | null
  detail: string | null
  /** TCP: handshake time; UDP: echo round trip. In ms. */
  latencyMs: number | null
  attempts: number | null
  /**
   * The IP address the probe went to: `toAddress`, or what the source resolved a name to; null
   * when no address is known (an external end, a name not resolved).
   */
  targetAddress: string | null
  /** The source address the target listener saw. */
  observedSource: string | null
  /** What came back to the source: our listener's acknowledgement, something else, or nothing. */
  echo: EchoKind | null
  /** Remarks, such as NAT in the path. */
  notes: string[]
  /** What to change so the check passes, in one line (see {@link remedy}), or null. */
  remedy: string | null
  /** What the check's flows are for (their catalog purposes, `; `-joined when they differ), or null. */
  purpose: string | null
  /** Where the vendor documents them (the flows' `ref`s), or null. */
  ref: string | null
  /** `agent-missing`, `agent-lost`, `agent-misplaced`: the host(s) whose agent is the cause. */
  agentHosts?: string[]
  /** Where a blocked check's traffic was dropped, once localized; absent: not localized. */
  droppedAt?: DropSite
  /** The firewall rule that dropped it, once localized. */
  rule?: DropRule
}

/** A report's counts: every status, and the number of checks. */
export interface Counts extends StatusTally {
  checks: number
}

/** The overall verdict a finished run gives, and its exit code. */
export type RunVerdict = 'pass' | 'blocked' | 'inconclusive'

export type RunState = 'waiting' | 'preparing' | 'probing' | 'settling' | 'localizing' | 'closing' | 'done' | 'aborted'

/** The fields of a check the matrices and filters need: its plan entry, status and reason. */
export type CheckRow = Pick<CheckReport, 'index' | 'from' | 'to' | 'fromRole' | 'toRole' | 'family' | 'protocol' | 'port' | 'portEnd' | 'required' | 'status' | 'reason'>

/** A run's report without its checks. */
export type RunSummary = Omit<RunReport, 'checks'>

/** A run's report: the whole result, as JSON. */
export interface RunReport {
  id: string
  catalog: string
  catalogTitle: string
  state: RunState
  startedAt: string
  finishedAt: string | null
  durationMs: number
  /** The probe timeout, in ms; with `adaptive`, the longest any probe could take. */
  timeoutMs: number
  /** `--timeout auto`: deadlines learnt from the run's round trips. */
  adaptive: boolean
  includeOptional: boolean
  settings: Record<string, SettingValue>
  /**
   * A host has addresses of both families, so flows are checked over each: the terminal, Markdown,
   * JUnit, diff, fix and dashboard texts name each check's family (`tcp/15432 IPv6`). False: the
   * report reads as one of a single family.
   */
  dualStack: boolean
  /** Counts over every check. */
  summary: Counts
  /** Counts over required checks only: these decide the verdict. */
  required: Counts
  progress: { done: number, total: number }
  /** Null until the run is finished. */
  verdict: RunVerdict | null
  exitCode: number | null
  /**
   * Where the agents stand: `joined` counts the hosts whose agent was connected when the run
   * began; `missing` never joined; `lost` left or stopped answering during the run; `misplaced`
   * do not run on their host's inventory address (their checks are `agent-misplaced`).
   * `launchErrors` (only when some launch failed, with `--launch ssh`): for each missing host whose
   * launch failed, why (the SSH error, or what the host lacks).
   */
  agents: { expected: number, joined: number, missing: string[], lost: string[], misplaced: string[], launchErrors?: Record<string, string> }
  /** The run (kept in memory, or saved as a report) whose failed checks this one re-checks, or null. */
  rerunOf: string | null
  /**
   * Drop localization: how many blocked checks were localized (`droppedAt`), and where it could
   * not be done and why, with a one-line `text`. Null until the run's verdicts are decided.
   */
  localization: LocalizationSummary | null
  checks: CheckReport[]
}

export function emptyCounts (): Counts {
  return { checks: 0, ...emptyTally() }
}

/** The verdict of a set of required-check counts: blocked beats inconclusive beats pass. */
export function verdictOf (required: Counts): { verdict: RunVerdict, exitCode: number } {
  if (required.blocked > 0) return { verdict: 'blocked', exitCode: ExitCodes.blocked }
  if (required.inconclusive > 0) return { verdict: 'inconclusive', exitCode: ExitCodes.inconclusive }
  return { verdict: 'pass', exitCode: ExitCodes.ok }
}

/**
 * Builds the report entry of a check from its plan entry, verdict and probe figures; with the
 * plan's catalog, it carries its flows' purpose and document reference; with a location, where
 * its traffic was dropped (a blocked check only).
 *
 * @param resolved the address the source resolved a target name to, if it did
 */
export function checkReport (check: PlannedCheck, verdict: Verdict | null, latencyMs: number | null, attempts: number | null, catalog?: Catalog, resolved?: string, located?: CheckLocation): CheckReport {
  const notes: string[] = []
  const at = verdict?.status === 'blocked' ? located : undefined
  if (at?.note !== undefined) notes.push(at.note)
  const seen = verdict?.observedSource ?? null
  // Only an address of the same family says something about NAT: a dual-stack source's other one is just another family.
  const fromFamily = check.fromAddress !== null ? familyOf(check.fromAddress) : null
  if (seen !== null && check.fromAddress !== null && seen !== check.fromAddress && fromFamily !== null && familyOf(seen) === fromFamily) {
    notes.push(`the target saw the probe come from ${seen}, not ${check.fromAddress}: NAT or another interface in the path`)
  }
  if (verdict?.status === 'pass' && check.protocol === 'udp' && verdict.echo === 'none') {
    notes.push('the acknowledgement did not come back: replies from the target to the source may be blocked')
  }
  const text = catalog !== undefined ? flowText(catalog, check.flowIds) : { purpose: null, ref: null }
  const entry: CheckReport = {
    index: check.index,
    flowIds: check.flowIds,
    from: check.from,
    to: check.to,
    fromRole: check.fromRole,
    toRole: check.toRole,
    fromAddress: check.fromAddress,
    toAddress: check.toAddress,
    family: check.family,
    targetAddress: check.toAddress !== null && familyOf(check.toAddress) !== null ? check.toAddress : resolved ?? null,
    protocol: check.protocol,
    port: check.port,
    ...(check.portEnd !== undefined ? { portEnd: check.portEnd } : {}),
    required: check.required,
    status: verdict?.status ?? null,
    reason: verdict?.reason ?? null,
    detail: at?.detail !== undefined ? `${verdict?.detail ?? ''}; ${at.detail}` : verdict?.detail ?? null,
    ...(at?.droppedAt !== undefined ? { droppedAt: at.droppedAt } : {}),
    ...(at?.rule !== undefined ? { rule: at.rule } : {}),
    ...(verdict?.agentHosts !== undefined ? { agentHosts: verdict.agentHosts } : {}),
    latencyMs,
    attempts,
    observedSource: seen,
    echo: verdict?.echo ?? null,
    notes,
    remedy: null,
    purpose: text.purpose,
    ref: text.ref
  }
  entry.remedy = remedy(entry)
  return entry
}
