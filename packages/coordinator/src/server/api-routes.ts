import { PassThrough, Readable } from 'node:stream'
import net from 'node:net'
import type { FastifyInstance } from 'fastify'
import { MAX_PROBE_TIMEOUT_MS, MIN_PROBE_TIMEOUT_MS, PortcheckError, addressesOf, formatProblem } from '@portcheck/protocol'
import { MAX_LOCALIZE } from '../localize/localization.js'
import { catalogRows } from '../plan/expand.js'
import { isDualStack } from '../plan/families.js'
import { csvChunks } from '../report/format-csv.js'
import { junitChunks } from '../report/format-junit.js'
import { canonicalAddress } from '../inventory/host-addresses.js'
import { placementOf } from '../scheduler/placement.js'
import { SEVERITY, detailed, emptyLiveCounts, hostMatrix, matches, roleMatrix, type CheckFilter } from '../report/views.js'
import type { Run } from '../scheduler/run.js'
import type {
  AgentsResponse, CatalogResponse, ChecksPage, HostAgentState, PlanPage, RunAborting, RunListEntry, RunRequest, RunStarted, SessionResponse
} from './api-types.js'
import type { Coordinator } from './coordinator.js'
import { historyRoutes } from './history-routes.js'
import { metricsRoutes } from './metrics-routes.js'
import { sendError } from './send-error.js'
import { fixRoute } from './fix-route.js'
import { rerunDifferenceRoute } from './rerun-difference-route.js'

const runBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    includeOptional: { type: 'boolean' },
    settings: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
    timeoutMs: { type: 'integer', minimum: MIN_PROBE_TIMEOUT_MS, maximum: MAX_PROBE_TIMEOUT_MS },
    adaptive: { type: 'boolean' },
    concurrency: { type: 'integer', minimum: 1, maximum: 65535 },
    localize: { type: 'integer', minimum: 0, maximum: MAX_LOCALIZE },
    rerunOf: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' }
  }
} as const

/** A check filter as the query string spells it (`required=true` for `requiredOnly`). */
type FilterQuery = Omit<CheckFilter, 'requiredOnly'> & { required?: boolean }

const filterProps = {
  status: { enum: ['pass', 'blocked', 'inconclusive', 'skipped', 'pending', 'failing'] },
  reason: { type: 'string', maxLength: 64 },
  protocol: { enum: ['tcp', 'udp'] },
  family: { enum: ['ipv4', 'ipv6'] },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  role: { type: 'string', maxLength: 64 },
  fromRole: { type: 'string', maxLength: 64 },
  toRole: { type: 'string', maxLength: 64 },
  from: { type: 'string', maxLength: 253 },
  to: { type: 'string', maxLength: 253 },
  required: { type: 'boolean' }
} as const

function toFilter (q: FilterQuery): CheckFilter {
  const { required, ...rest } = q
  const f: CheckFilter = {}
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (f as Record<string, unknown>)[k] = v
  if (required === true) f.requiredOnly = true
  return f
}

/** A run's JSON report as a stream: a million checks never sit in memory as one string. */
function jsonStream (run: Run): Readable {
  const out = new PassThrough()
  run.writeJson((chunk) => out.write(chunk) ? undefined : new Promise((resolve) => out.once('drain', resolve)))
    .then(() => out.end(), (err: unknown) => out.destroy(err as Error))
  return out
}

/** The parts of an ajv error that name what is wrong. */
interface ValidationIssue { keyword: string, instancePath: string, params: { additionalProperty?: string } }

/**
 * A validation error's message. ajv's `must NOT have additional properties` does not say which
 * one: name it, as a typo in a field name is the likeliest mistake (`body: unknown field "tiemout"`,
 * `querystring: unknown parameter "stauts"`).
 */
function validationMessage (issues: ValidationIssue[], context: string | undefined, message: string): string {
  const unknown = issues.find((i) => i.keyword === 'additionalProperties' && i.params.additionalProperty !== undefined)
  if (unknown === undefined) return message
  return `${context ?? 'body'}${unknown.instancePath.replace(/\//g, '.')}: unknown ${context === 'querystring' ? 'parameter' : 'field'} "${unknown.params.additionalProperty ?? ''}"`
}

/** The JSON API: agents, catalog, plan and runs. */
export async function apiRoutes (app: FastifyInstance, opts: { coordinator: Coordinator }): Promise<void> {
  const c = opts.coordinator
  const findRun = (id: string): Run | undefined => id === 'latest' ? c.runs.latest() : c.runs.get(id)

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof PortcheckError) {
      const status = err.code === 'PC_ERR_RUN_BUSY' ? 409 : 400
      return sendError(reply, status, err.code, err.message.split('\n')[0] ?? err.message, err.problems.length > 0 ? err.problems.map(formatProblem) : undefined)
    }
    const e = err as { validation?: ValidationIssue[], validationContext?: string, statusCode?: number, message: string }
    if (e.validation !== undefined) return sendError(reply, 400, 'PC_ERR_OPTION_INVALID', validationMessage(e.validation, e.validationContext, e.message))
    if (typeof e.statusCode === 'number' && e.statusCode < 500) return sendError(reply, e.statusCode, 'PC_ERR_REQUEST', e.message)
    app.log.error({ err }, 'API error')
    return sendError(reply, 500, 'PC_ERR_INTERNAL', 'internal error')
  })

  app.get('/api/health', { config: { access: 'none' } }, async () => ({ ok: true }))

  // What the presented token may do, and the defaults of the next run: the dashboard's first call.
  app.get('/api/session', { config: { access: 'read' } }, async (req): Promise<SessionResponse> => ({
    access: req.access,
    requireAuth: c.requireAuth,
    // Without a token (loopback), the dashboard proves it is same-origin with this on every write.
    ...(req.access === 'full' && !c.requireAuth ? { csrf: c.csrfToken } : {}),
    defaults: c.runDefaults
  }))

  app.get('/api/agents', { config: { access: 'read' } }, async (req): Promise<AgentsResponse> => {
    // The join command carries the join token, which grants full access: viewers get a placeholder.
    const full = req.access === 'full'
    const records = new Map(c.hub.records().map((r) => [r.name, r]))
    const owners = new Map(c.hosts.flatMap((h) => addressesOf(h).map((a) => [canonicalAddress(a), h.name] as const)))
    const expected = c.hosts.map((h) => {
      const rec = records.get(h.name)
      const state: HostAgentState = rec === undefined ? 'missing' : rec.state
      // Names are resolved when a run starts; here only addresses can be compared.
      const placement = rec === undefined || rec.state !== 'connected'
        ? null
        : placementOf(h, net.isIP(h.address) !== 0 ? addressesOf(h) : [], rec, (a) => owners.get(canonicalAddress(a)))
      return {
        name: h.name,
        address: h.address,
        addresses: [...addressesOf(h)],
        roles: h.roles,
        state,
        agent: rec ?? null,
        joinCommand: c.joinCommand(h.name, full),
        executableJoinCommand: c.executableJoinCommand(h.name, full),
        placement: placement === null
          ? null
          : { placed: placement.placed, detail: placement.placed ? null : placement.detail, gaps: placement.placed ? Object.values(placement.gaps).map((g) => g.detail) : [], nat: h.nat === true },
        launch: c.hub.launches.get(h.name) ?? null
      }
    })
    return { agentUrl: c.agentUrl, executableTarget: c.executableTarget, hosts: expected, refused: c.hub.refused() }
  })

  app.get('/api/catalog', { config: { access: 'read' } }, async (): Promise<CatalogResponse> => {
    const cat = c.catalog.catalog
    return {
      id: cat.id,
      title: cat.title,
      source: cat.source ?? null,
      notes: cat.notes ?? [],
      roles: cat.roles,
      settings: Object.entries(cat.settings ?? {}).map(([name, def]) => {
        const value = c.settings[name] ?? def.default
        return { name, ...def, ...(value !== undefined ? { value } : {}) }
      }),
      flows: cat.flows,
      rows: catalogRows(cat, c.settings, { all: true })
    }
  })

  app.get<{ Querystring: { includeOptional?: boolean, offset?: number, limit?: number } }>('/api/plan', {
    // Plans are built once per set of inputs and shared with the runs (see PlanCache): a viewer
    // can have at most two built (with and without optional flows), and reads them a page at a time.
    config: { access: 'read' },
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { includeOptional: { type: 'boolean' }, offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000 } } } }
  }, async (req): Promise<PlanPage> => {
    const { includeOptional, offset = 0, limit = 500 } = req.query
    const plan = c.plan(includeOptional !== undefined ? { includeOptional } : {})
    return { catalog: plan.catalog.id, includeOptional: plan.includeOptional, total: plan.checks.length, offset, checks: plan.checks.slice(offset, offset + limit) }
  })

  app.post<{ Body: RunRequest }>('/api/runs', {
    config: { access: 'full' },
    schema: { body: runBody },
    // No body at all means "a run with the defaults".
    preValidation: async (req) => { if (req.body === undefined || req.body === null) req.body = {} }
  }, async (req, reply) => {
    const run = c.startRun(req.body ?? {})
    const body: RunStarted = { id: run.id, url: `/api/runs/${run.id}`, checks: run.plan.checks.length }
    return await reply.code(202).send(body)
  })

  app.get<{ Querystring: { offset?: number, limit?: number } }>('/api/runs', {
    config: { access: 'read' },
    // Every kept run by default (as before); the dashboard asks for the newest ones only.
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000 } } } }
  }, async (req): Promise<RunListEntry[]> => {
    const { offset = 0, limit } = req.query
    return c.runs.list().slice(offset, limit !== undefined ? offset + limit : undefined).map((r) => ({ ...r.summary(), rerunOf: r.rerunOf, scheduled: r.scheduled }))
  })

  app.get<{ Params: { id: string } }>('/api/runs/:id', { config: { access: 'read' } }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    return await reply.type('application/json').send(jsonStream(run))
  })

  app.get<{ Params: { id: string }, Querystring: FilterQuery & { by?: 'role' | 'host', offset?: number, limit?: number } }>('/api/runs/:id/matrix', {
    config: { access: 'read' },
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { ...filterProps, by: { enum: ['role', 'host'] }, offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000 } } } }
  }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    const { by, offset, limit, ...filter } = req.query
    const checks = run.rows()
    if (by === 'host') return hostMatrix(checks, toFilter(filter), { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) })
    return roleMatrix(checks, toFilter(filter), isDualStack(run.plan.hosts))
  })

  app.get<{ Params: { id: string }, Querystring: FilterQuery & { offset?: number, limit?: number, sort?: 'plan' | 'severity' } }>('/api/runs/:id/checks', {
    config: { access: 'read' },
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { ...filterProps, offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 10000 }, sort: { enum: ['plan', 'severity'] } } } }
  }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    const { offset = 0, limit = 500, sort, ...filter } = req.query
    const f = toFilter(filter)
    const counts = emptyLiveCounts()
    const selected: Array<{ index: number, rank: number }> = []
    for (const row of run.rows()) {
      if (!matches(row, f)) continue
      counts[row.status ?? 'pending']++
      selected.push({ index: row.index, rank: SEVERITY.indexOf(row.status ?? 'pending') })
    }
    // Worst first when asked: a stable sort keeps plan order within a status.
    if (sort === 'severity') selected.sort((a, b) => a.rank - b.rank)
    const page = selected.slice(offset, offset + limit)
    const body: ChecksPage = { total: selected.length, offset, counts, checks: detailed(page.map((s) => run.checkAt(s.index)), run.plan.catalog) }
    return body
  })

  app.get<{ Params: { id: string, format: string } }>('/api/runs/:id/export.:format', { config: { access: 'read' } }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    const base = `portcheck-${run.plan.catalog.id}-${run.id}`
    switch (req.params.format) {
      case 'json': return await reply.header('content-disposition', `attachment; filename="${base}.json"`).type('application/json').send(jsonStream(run))
      // Streamed a chunk of checks at a time, like the JSON: a big report is never one string.
      case 'csv': return await reply.header('content-disposition', `attachment; filename="${base}.csv"`).type('text/csv; charset=utf-8').send(Readable.from(csvChunks(run.source())))
      case 'junit': return await reply.header('content-disposition', `attachment; filename="${base}.junit.xml"`).type('application/xml').send(Readable.from(junitChunks(run.source())))
      default: return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no export format ${req.params.format}: json, csv or junit`)
    }
  })

  fixRoute(app, findRun)
  rerunDifferenceRoute(app, findRun, (id) => c.runs.get(id))

  app.post<{ Params: { id: string } }>('/api/runs/:id/abort', { config: { access: 'full' } }, async (req, reply) => {
    const run = c.runs.get(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    run.abort()
    const body: RunAborting = { id: run.id, state: run.state }
    return await reply.code(202).send(body)
  })

  // In this plugin, so that they answer errors in the same shape.
  await app.register(historyRoutes, { coordinator: c })
  await app.register(metricsRoutes, { coordinator: c })
}
