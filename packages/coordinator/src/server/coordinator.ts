import os from 'node:os'
import net from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { AGENT_WS_PATH, PortcheckError, type InventoryHost } from '@portcheck/protocol'
import type { LoadedCatalog } from '../catalog/load-catalog.js'
import type { SettingValues } from '../catalog/conditions.js'
import { applyOverrides } from '../catalog/settings.js'
import { AgentHub } from '../hub/agent-hub.js'
import { generateToken } from '../security/token.js'
import { announceDifferences } from '../notify/announce.js'
import { WebhookNotifier } from '../notify/webhook.js'
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js'
import { PortcheckMetrics } from '../metrics/portcheck-metrics.js'
import { RunHistory } from '../history/run-history.js'
import { buildPlan, type Plan } from '../plan/expand.js'
import { PlanCache } from '../plan/plan-cache.js'
import { RunSchedule } from '../schedule/run-schedule.js'
import { VERSION } from '../version.js'
import { rerunOfRun } from '../report/rerun-plan.js'
import type { TlsMaterial } from '../security/certificate.js'
import { RefusalLog } from '../security/refusal-log.js'
import { hardenServer } from '../security/server-limits.js'
import type { Run, RunOptions } from '../scheduler/run.js'
import { RunManager } from '../scheduler/run-manager.js'
import { apiRoutes } from './api-routes.js'
import type { RunDefaults, RunRequest } from './api-types.js'
import { dashboardRoutes } from './dashboard-routes.js'
import { DashboardEvents, EVENTS_PATH } from './events.js'
import { isLoopback } from '../inventory/host-addresses.js'
import { installAccess, newCsrfToken, ownHosts, type AccessPolicy, type RouteAccess } from './access.js'
import { executableJoinCommand, joinCommand, type JoinTarget } from './join-command.js'
import { agentArtifacts, type AgentArtifacts } from '../agent-dist/artifacts.js'
import { agentRoutes } from '../agent-dist/agent-routes.js'
import { unservedTargetReason } from '../agent-dist/target.js'
import { defaultStateDir } from '../security/state-dir.js'
import { waitForAgents } from './wait-for-agents.js'

export type { RunRequest } from './api-types.js'

/** Options of {@link buildCoordinator}. */
export interface CoordinatorOptions {
  catalog: LoadedCatalog
  /** Inventory hosts (validated against the catalog). */
  hosts: InventoryHost[]
  /** Resolved settings (catalog defaults, inventory, --set). */
  settings: SettingValues
  /** Agents' join token; also grants full API access. Default: generated. */
  token?: string
  /** A read-only token for the dashboard and GET API calls. Default: none. */
  viewerToken?: string
  /**
   * Require a token on the API. Default: decided at listen(): required unless the
   * coordinator listens on a loopback address only.
   */
  requireAuth?: boolean
  logger?: Logger
  /** Agent heartbeat interval, in ms. Default 10000. */
  heartbeatMs?: number
  /** Time an agent has to say hello after connecting, in ms. Default 10000. */
  helloTimeoutMs?: number
  /**
   * Agent connections at once from one address. Default 32: real agents each come from their
   * own node; a benchmark running 50 agent processes on one machine needs more.
   */
  maxAgentsPerAddress?: number
  /**
   * The TLS certificate and key to serve HTTPS and WSS with, and their pin. Default none: plain
   * HTTP and WebSocket (the CLI makes one in its state directory unless told `--insecure`).
   */
  tls?: TlsMaterial | null
  /** More names or addresses the coordinator answers to (a load balancer's, a DNS alias). */
  allowedHosts?: string[]
  /** Defaults of every run. */
  runDefaults?: RunOptions & { includeOptional?: boolean }
  /**
   * The state directory, where the standalone agent is cached once made (`agent-bin/`). Default:
   * $PORTCHECK_STATE_DIR, else ~/.portcheck (nothing is written there unless the executable is asked for).
   */
  stateDir?: string
  /** Checks kept in memory over every kept run (`--keep-checks`). Default 2,000,000; the newest run is always kept. */
  keepChecks?: number
  /** Where to POST the difference between complete runs (`--notify-url`, `--notify-header`). Default: nowhere. */
  notify?: { url: URL, headers?: Record<string, string> }
  /** A second, plain-HTTP address serving only `GET /metrics`, without a token (`--metrics-listen`). Default none. */
  metricsListen?: { host: string, port: number }
}

/** A coordinator: HTTP API and agent hub on one server, not yet listening. */
export interface Coordinator {
  readonly app: FastifyInstance
  readonly hub: AgentHub
  readonly runs: RunManager
  /** Complete runs one after the other, each compared with the one before it. */
  readonly history: RunHistory
  /** The Prometheus metrics (`GET /metrics`). */
  readonly metrics: PortcheckMetrics
  /** The webhook of `--notify-url`, or null. */
  readonly notifier: WebhookNotifier | null
  /** The schedule's period in ms once {@link Coordinator.startSchedule} was called, else null. */
  everyMs: number | null
  /** The `--metrics-listen` address once listening, else null. */
  metricsAddress: { host: string, port: number } | null
  readonly catalog: LoadedCatalog
  readonly hosts: InventoryHost[]
  readonly settings: SettingValues
  readonly token: string
  readonly viewerToken: string | null
  /** Whether the API requires a token (set at listen unless given). */
  requireAuth: boolean
  /** Defaults of every run (what a run request does not say). */
  readonly runDefaults: RunDefaults
  /** The wss:// (or, without TLS, ws://) URL agents should use; set by listen(). */
  agentUrl: string | null
  /** The https:// (or http://) URL of the API and dashboard; set by listen(). */
  httpUrl: string | null
  /** The pin of the TLS key agents check (`sha256:…`), or null without TLS. */
  readonly pin: string | null
  /** What requests may do: hosts and origins it answers to, tokens, the CSRF token. */
  readonly access: AccessPolicy
  /** The same-origin proof the dashboard sends on writes when no token is required. */
  readonly csrfToken: string
  /** Every route registered, with the access it declared (undefined: none declared, so `full`). */
  readonly routes: ReadonlyArray<{ method: string, url: string, access: RouteAccess | undefined }>
  listen: (opts: { host: string, port: number, advertise?: string }) => Promise<{ host: string, port: number }>
  /** Whether the agent URL is the operator's choice (`advertise`, or a `listen` host that is not a wildcard); set by listen(). */
  advertised: boolean
  close: () => Promise<void>
  /**
   * Adds work to close(): it runs after the current run is aborted (its listeners closed) and
   * before agents are disconnected. For agents the coordinator launched: they are stopped then.
   */
  onClose: (fn: () => Promise<void>) => void
  /** Expands the plan for a run request (without starting it). */
  plan: (req?: RunRequest) => Plan
  /**
   * Starts a run now, with whichever agents are connected. `given` replaces the plan of the
   * request: a re-run of the failed checks of a saved report (see `rerunPlan`).
   */
  startRun: (req?: RunRequest, given?: { plan: Plan, rerunOf: string }, how?: { scheduled?: boolean }) => Run
  /**
   * Re-checks the whole matrix every `everyMs` (`serve --every`): see {@link RunSchedule}. The
   * schedule stops with `close()`, which also aborts its run in progress.
   */
  startSchedule: (opts: { everyMs: number, firstWaitMs?: number }) => RunSchedule
  /** Resolves when every inventory host has an agent, after `timeoutMs`, or on abort; returns the missing ones. */
  waitForAgents: (timeoutMs: number, onChange?: (joined: string[], missing: string[]) => void, signal?: AbortSignal) => Promise<string[]>
  /**
   * The command to run on a host to join this coordinator. With `withToken` false, the token is
   * left as a placeholder: for viewers, who must never learn it (it grants full access).
   */
  joinCommand: (name: string, withToken?: boolean) => string
  /** The same for a node without Node.js: the standalone agent of this coordinator's platform; null if it makes none. */
  executableJoinCommand: (name: string, withToken?: boolean) => string | null
  /** The agent this coordinator serves at `/agent/…` (bundle, npm package, standalone executable), for launchers too. */
  readonly agentArtifacts: AgentArtifacts
  /** The platform of the standalone agent it serves (its own, `linux-x64`), or null if it makes none (not Linux, or the agent is not built). */
  readonly executableTarget: string | null
}

/**
 * The address other hosts most likely reach this one at: the first non-internal IPv4, else (an
 * IPv6-only machine) the first global IPv6 one, else loopback.
 */
export function guessAdvertiseAddress (): string {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal)
  return all.find((a) => a.family === 'IPv4')?.address ?? all.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80:'))?.address ?? '127.0.0.1'
}

/**
 * Builds a coordinator: a fastify app carrying the API, with the agent hub on its `upgrade`
 * event. Nothing listens until `listen()`; tests can use `app.inject()`.
 */
export async function buildCoordinator (options: CoordinatorOptions): Promise<Coordinator> {
  const logger = options.logger ?? pino({ name: 'portcheck', level: 'info' })
  const token = options.token ?? generateToken()
  const tls = options.tls ?? null
  const app = Fastify({
    // pino's Logger and fastify's logger type differ only in generics; the instance is the same.
    loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    // Requests are not logged one by one: the agent hub and runs log what matters.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Refuse unknown fields instead of silently dropping them: a typo in a run request must not go unnoticed.
    ajv: { customOptions: { removeAdditional: false } },
    forceCloseConnections: true,
    // A connection that sends nothing for 30 s, or a request not received whole within 30 s, is closed.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    ...(tls !== null ? { https: { key: tls.key, cert: tls.cert, handshakeTimeout: 10_000 } } : {})
  }) as unknown as FastifyInstance
  const hub = new AgentHub({ token, names: options.hosts.map((h) => h.name), logger: logger.child({ component: 'hub' }), ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}), ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}), ...(options.maxAgentsPerAddress !== undefined ? { maxPerAddress: options.maxAgentsPerAddress } : {}) })
  const runs = new RunManager(hub, logger, options.keepChecks)
  const history = new RunHistory(runs, options.catalog.catalog, logger.child({ component: 'history' }))
  const notifier = options.notify !== undefined
    ? new WebhookNotifier({ url: options.notify.url, headers: options.notify.headers ?? {}, logger: logger.child({ component: 'notify' }), userAgent: `portcheck/${VERSION}` })
    : null
  const metrics = new PortcheckMetrics({ runs, history, hub, hosts: options.hosts, notifier })
  let schedule: RunSchedule | null = null
  let metricsServer: MetricsServer | null = null
  const refusals = new RefusalLog(logger.child({ component: 'http' }))
  const csrfToken = newCsrfToken()
  const routes: Array<{ method: string, url: string, access: RouteAccess | undefined }> = []
  const access: AccessPolicy = {
    token,
    viewerToken: options.viewerToken ?? null,
    requireAuth: options.requireAuth ?? true,
    csrfToken,
    hosts: ownHosts('localhost', null, options.allowedHosts),
    port: 0
  }
  const defaults = options.runDefaults ?? {}
  const closeHooks: Array<() => Promise<void>> = []
  const artifacts = agentArtifacts({ stateDir: options.stateDir ?? defaultStateDir(), logger: logger.child({ component: 'agent-dist' }) })
  if (artifacts.version === null) logger.warn({ reason: artifacts.bundle.path === null ? artifacts.bundle.reason : '' }, 'nodes cannot download the agent from this coordinator')
  const executableTarget = artifacts.version !== null && unservedTargetReason(artifacts.target) === null ? artifacts.target : null
  const joinTarget = (): JoinTarget => ({ agentUrl: coordinator.agentUrl, httpUrl: coordinator.httpUrl, pin: coordinator.pin, token, executableTarget })

  // Runs of the same inputs share one plan: the catalog and inventory are the coordinator's own.
  const plans = new PlanCache((k) => buildPlan({ catalog: options.catalog.catalog, hosts: options.hosts, ...k }))
  const basePlan = (req: RunRequest): Plan => {
    const settings = req.settings !== undefined && Object.keys(req.settings).length > 0
      ? applyOverrides(options.catalog.catalog, options.hosts, options.settings, req.settings)
      : options.settings
    return plans.get({ settings, includeOptional: req.includeOptional ?? defaults.includeOptional ?? false })
  }

  const coordinator: Coordinator = {
    app,
    hub,
    runs,
    history,
    metrics,
    notifier,
    everyMs: null,
    metricsAddress: null,
    catalog: options.catalog,
    hosts: options.hosts,
    settings: options.settings,
    token,
    viewerToken: options.viewerToken ?? null,
    get requireAuth () { return access.requireAuth },
    set requireAuth (v: boolean) { access.requireAuth = v },
    pin: tls?.pin ?? null,
    access,
    csrfToken,
    routes,
    runDefaults: { timeoutMs: defaults.timeoutMs ?? 3000, adaptive: defaults.adaptive ?? false, includeOptional: defaults.includeOptional ?? false, concurrency: defaults.concurrency ?? 256 },
    agentUrl: null,
    httpUrl: null,
    advertised: false,
    async listen ({ host, port, advertise }) {
      try {
        await app.listen({ host, port })
      } catch (err) {
        throw new PortcheckError('PC_ERR_LISTEN', `cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err })
      }
      const addr = app.server.address() as net.AddressInfo
      if (options.requireAuth === undefined) coordinator.requireAuth = !isLoopback(host)
      const shown = advertise ?? (host === '0.0.0.0' || host === '::' ? guessAdvertiseAddress() : host)
      const hostPart = net.isIPv6(shown) ? `[${shown}]` : shown
      // Requests must name this coordinator: its listen address, the advertised one, loopback.
      access.hosts = ownHosts(host, shown, options.allowedHosts)
      access.port = addr.port
      coordinator.advertised = advertise !== undefined || (host !== '0.0.0.0' && host !== '::')
      coordinator.agentUrl = `${tls !== null ? 'wss' : 'ws'}://${hostPart}:${addr.port}`
      coordinator.httpUrl = `${tls !== null ? 'https' : 'http'}://${hostPart}:${addr.port}/`
      if (options.metricsListen !== undefined) {
        try {
          metricsServer = await startMetricsServer(metrics, options.metricsListen, logger.child({ component: 'metrics' }))
        } catch (err) {
          await app.close()
          throw err
        }
        coordinator.metricsAddress = metricsServer.address
      }
      return { host: addr.address, port: addr.port }
    },
    async close () {
      // No run starts after this; the one in progress is aborted below, its listeners closed.
      await schedule?.stop()
      await notifier?.close()
      await metricsServer?.close()
      refusals.stop()
      await runs.abortCurrent()
      await Promise.all(closeHooks.splice(0).map(async (fn) => await fn()))
      await events.close()
      await hub.close()
      // A standalone agent being made: its child processes killed, its files removed.
      await artifacts.close()
      await app.close()
    },
    onClose: (fn) => { closeHooks.push(fn) },
    plan: (req = {}) => {
      if (req.rerunOf === undefined) return basePlan(req)
      const previous = runs.get(req.rerunOf)
      if (previous === undefined) throw new PortcheckError('PC_ERR_OPTION_INVALID', `no run ${req.rerunOf} to re-run`)
      return rerunOfRun(previous)
    },
    startRun: (req = {}, given, how) => {
      const plan = given?.plan ?? coordinator.plan(req)
      const rerunOf = given?.rerunOf ?? req.rerunOf
      return runs.start(plan, {
        ...(rerunOf !== undefined ? { rerunOf } : {}),
        ...(how?.scheduled === true ? { scheduled: true } : {}),
        ...defaults,
        ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
        ...(req.adaptive !== undefined ? { adaptive: req.adaptive } : {}),
        ...(req.concurrency !== undefined ? { concurrency: req.concurrency } : {}),
        ...(req.localize !== undefined ? { localize: req.localize } : {})
      })
    },
    startSchedule: ({ everyMs, firstWaitMs }) => {
      if (schedule !== null) throw new PortcheckError('PC_ERR_OPTION_INVALID', 'a schedule is already running')
      schedule = new RunSchedule(coordinator, { everyMs, logger: logger.child({ component: 'schedule' }), ...(firstWaitMs !== undefined ? { firstWaitMs } : {}) })
      coordinator.everyMs = everyMs
      schedule.start()
      return schedule
    },
    waitForAgents: async (timeoutMs, onChange, signal) => await waitForAgents(hub, options.hosts.map((h) => h.name), timeoutMs, onChange, signal),
    joinCommand: (name, withToken = true) => joinCommand(joinTarget(), name, withToken),
    executableJoinCommand: (name, withToken = true) => executableJoinCommand(joinTarget(), name, withToken),
    agentArtifacts: artifacts,
    executableTarget
  }

  // The path only: a query may hold a token (the events socket takes it there).
  const refused = (remote: string | undefined, method: string, url: string, kind: string, fields: Record<string, unknown> = {}): void =>
    refusals.note(`request refused: ${kind}`, { remote, method, path: (url.split('?')[0] ?? '').slice(0, 100), ...fields })
  const events = new DashboardEvents(coordinator, logger.child({ component: 'dashboard' }), (req, kind, fields) => refused(req.socket.remoteAddress, 'GET', req.url ?? '', kind, fields))
  announceDifferences(history, { catalog: options.catalog.catalog, logger: logger.child({ component: 'history' }), notifier, httpUrl: () => coordinator.httpUrl })
  hardenServer(app.server, refusals)
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, access: r.config?.access })
  })
  installAccess(app, access, (req, kind, fields) => refused(req.ip, req.method, req.url, kind, fields))
  app.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === AGENT_WS_PATH) hub.handleUpgrade(req, socket, head)
    else if (path === EVENTS_PATH) events.handleUpgrade(req, socket, head)
    else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      socket.destroy()
    }
  })
  await app.register(apiRoutes, { coordinator })
  await app.register(dashboardRoutes)
  await app.register(agentRoutes, { artifacts })
  app.setNotFoundHandler(async (req, reply) => {
    if (req.url.startsWith('/api/')) return await reply.code(404).send({ error: { code: 'PC_ERR_NOT_FOUND', message: `no route ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}` } })
    return await reply.code(404).type('text/plain').send('not found')
  })
  return coordinator
}
