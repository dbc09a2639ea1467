import path from 'node:path'
import type { Logger } from 'pino'
import pino from 'pino'
import { PortcheckError, problemsError } from '@portcheck/protocol'
import { loadCatalog, type LoadedCatalog } from './catalog/load-catalog.js'
import { SourceFile } from './catalog/source-file.js'
import { loadInventory, type LoadedInventory } from './inventory/load-inventory.js'
import { launchAgents, type AgentLaunch, type CoordinatorLaunchOptions } from './launch/launcher.js'
import type { Plan } from './plan/expand.js'
import { rerunPlan } from './report/rerun-plan.js'
import type { RunReport, RunSummary } from './report/report.js'
import type { TlsMaterial } from './security/certificate.js'
import type { Run, RunOptions } from './scheduler/run.js'
import { buildCoordinator, type Coordinator } from './server/coordinator.js'

/** A catalog and an inventory, validated against each other. */
export interface Inputs {
  catalog: LoadedCatalog
  inventory: LoadedInventory
}

/** Options of {@link loadInputs}. */
export interface InputOptions {
  /** Built-in catalog id or path; default: the inventory's `catalog` field. */
  catalog?: string
  /** Inventory file (YAML or JSON). */
  inventory: string
  /** `--set name=value` overrides, as text. */
  set?: Record<string, string>
  /** Check that the SSH key files the inventory names exist (`--launch ssh`). Default false. */
  sshFiles?: boolean
}

/**
 * Loads and validates a catalog and an inventory. Throws a PortcheckError naming the file,
 * the field and what is wrong (PC_ERR_CATALOG_*, PC_ERR_INVENTORY_INVALID, PC_ERR_SETTING_INVALID).
 */
export async function loadInputs (opts: InputOptions): Promise<Inputs> {
  let catalogRef = opts.catalog
  if (catalogRef === undefined) {
    const read = await SourceFile.read(opts.inventory)
    if (read.source === null) throw problemsError('PC_ERR_INVENTORY_INVALID', `inventory ${opts.inventory} is invalid:`, read.problems)
    const named = (read.source.data as { catalog?: unknown } | null)?.catalog
    if (typeof named !== 'string') throw new PortcheckError('PC_ERR_USAGE', `no catalog given: pass --catalog ID|FILE or set "catalog:" in ${opts.inventory}`)
    // A path in the inventory is relative to the inventory file, like an include.
    catalogRef = /[/\\]|\.ya?ml$|\.json$/.test(named) ? path.resolve(path.dirname(opts.inventory), named) : named
  }
  const catalog = await loadCatalog(catalogRef)
  const inventory = await loadInventory(opts.inventory, catalog.catalog, opts.set ?? {}, opts.sshFiles === true ? { ssh: { checkFiles: true } } : {})
  return { catalog, inventory }
}

/** Options of {@link runCheck}. */
export interface RunCheckOptions extends RunOptions {
  inputs: Inputs
  /** Where to listen. Default 0.0.0.0:7070. */
  listen?: { host: string, port: number }
  /** Address agents use to reach the coordinator, in the printed commands. Default: guessed. */
  advertise?: string
  /** Join token. Default: generated. */
  token?: string
  /** TLS certificate, key and pin to serve with. Default: none (plain HTTP and ws://). */
  tls?: TlsMaterial | null
  /** More names or addresses the API answers to (see CoordinatorOptions.allowedHosts). */
  allowedHosts?: string[]
  /** The state directory, where the standalone agent is cached (see CoordinatorOptions.stateDir). */
  stateDir?: string
  viewerToken?: string
  /** Longest wait for every agent to join, in ms. Default 300000 (5 min). */
  waitMs?: number
  includeOptional?: boolean
  logger?: Logger
  /** Stops waiting, or aborts the run (its listeners are closed before this resolves). */
  signal?: AbortSignal
  /** Keep the coordinator up after the run (the dashboard); the caller closes it. Default false. */
  keepOpen?: boolean
  /** Called once listening: print the join commands here. */
  onListening?: (coordinator: Coordinator) => void
  /**
   * Start the agents over SSH once listening (`--launch ssh`), with the inventory's `ssh:`
   * settings; the run waits for each to join or fail, and they are stopped, their files removed,
   * when the coordinator closes (at the end of the run, or after the dashboard with `keepOpen`).
   */
  launchSsh?: CoordinatorLaunchOptions
  /** Called when the launch over SSH has begun. */
  onLaunch?: (launch: AgentLaunch, coordinator: Coordinator) => void
  /** Called whenever the set of joined agents changes while waiting. */
  onAgents?: (joined: string[], missing: string[]) => void
  /** Called when the run starts (for progress display). */
  onRun?: (run: Run) => void
  /**
   * Re-check only what failed (blocked or inconclusive) in this saved report, matched to the plan
   * by ends, protocol and port; its optional checks too if it included them. The report must be
   * of the same catalog (PC_ERR_REPORT_MISMATCH).
   */
  rerunFailed?: { report: RunReport, file: string }
}

/** What {@link runCheck} returns. */
export interface RunCheckResult {
  /** The finished run (its `report()`, `writeJson()`, `checkAt()`), or null if stopped before it began. */
  run: Run | null
  /** The run's summary and verdict, or null if stopped before it began. */
  summary: RunSummary | null
  coordinator: Coordinator
}

/**
 * The pre-install check end to end: starts a coordinator, waits for the inventory's agents
 * (or `waitMs`), runs every check, and returns the report. Missing agents make their checks
 * inconclusive rather than holding the run forever.
 */
export async function runCheck (opts: RunCheckOptions): Promise<RunCheckResult> {
  const logger = opts.logger ?? pino({ name: 'portcheck' })
  const { catalog, inventory } = opts.inputs
  const coordinator = await buildCoordinator({
    catalog,
    hosts: inventory.inventory.hosts,
    settings: inventory.settings,
    logger,
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.viewerToken !== undefined ? { viewerToken: opts.viewerToken } : {}),
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    ...(opts.allowedHosts !== undefined ? { allowedHosts: opts.allowedHosts } : {}),
    ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
    runDefaults: {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.adaptive !== undefined ? { adaptive: opts.adaptive } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.listenTimeoutMs !== undefined ? { listenTimeoutMs: opts.listenTimeoutMs } : {}),
      ...(opts.localize !== undefined ? { localize: opts.localize } : {}),
      ...(opts.includeOptional !== undefined ? { includeOptional: opts.includeOptional } : {})
    }
  })
  let run: Run | null = null
  let summary: RunSummary | null = null
  let given: { plan: Plan, rerunOf: string } | undefined
  // A function, not a property read: the signal can fire across the awaits below.
  const aborted = (): boolean => opts.signal?.aborted === true
  try {
    if (opts.rerunFailed !== undefined) {
      const { report, file } = opts.rerunFailed
      // Decided before listening: a report of another catalog is refused before any agent waits.
      const rerun = rerunPlan(coordinator.plan(report.includeOptional ? { includeOptional: true } : {}), report, file)
      if (rerun.unmatched.length > 0) logger.warn({ unmatched: rerun.unmatched.length }, `${rerun.unmatched.length} failed check(s) of ${file} are not in the current plan and are not re-checked`)
      given = { plan: rerun.plan, rerunOf: report.id }
    }
    const listen = opts.listen ?? { host: '0.0.0.0', port: 7070 }
    await coordinator.listen({ ...listen, ...(opts.advertise !== undefined ? { advertise: opts.advertise } : {}) })
    opts.onListening?.(coordinator)
    if (opts.launchSsh !== undefined && !aborted()) {
      const launch = launchAgents(coordinator, inventory.ssh, opts.launchSsh)
      opts.onLaunch?.(launch, coordinator)
    }
    if (!aborted()) {
      const missing = await coordinator.waitForAgents(opts.waitMs ?? 300_000, opts.onAgents, opts.signal)
      if (!aborted() && missing.length > 0) logger.warn({ missing }, 'starting without every agent: their checks will be inconclusive (agent-missing)')
    }
    if (!aborted()) {
      const started = coordinator.startRun({}, given)
      run = started
      opts.onRun?.(started)
      const onAbort = (): void => started.abort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      summary = await coordinator.runs.finished(started)
      opts.signal?.removeEventListener('abort', onAbort)
    }
  } finally {
    if (opts.keepOpen !== true || summary === null) await coordinator.close()
  }
  return { run, summary, coordinator }
}
