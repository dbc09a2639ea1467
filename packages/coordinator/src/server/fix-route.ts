import type { FastifyInstance } from 'fastify'
import { FIX_FORMATS, formatFix, type FixFormat } from '../fix/format-fix.js'
import { rulesByHost } from '../fix/fix-plan.js'
import type { RunReport } from '../report/report.js'
import type { Run } from '../scheduler/run.js'
import type { FixResponse } from './api-types.js'
import { sendError } from './send-error.js'

/**
 * Most failing checks a run may have for `GET /api/runs/:id/fix` to write their rules: each
 * request builds those checks' reports and a plan per host. Past it, `portcheck fix` on the
 * saved JSON report does the same without a bound.
 */
export const MAX_FIX_CHECKS = 20_000
/** Most hosts given a text of their own. */
export const MAX_FIX_HOSTS = 200

/**
 * The run's report with only the checks a fix is about (blocked and inconclusive, and unfinished
 * ones): passes and skips write no rule, and a million passing checks need not be built.
 */
function failingReport (run: Run): RunReport | null {
  const checks = []
  for (const row of run.rows()) {
    if (row.status === 'pass' || row.status === 'skipped') continue
    if (checks.length >= MAX_FIX_CHECKS) return null
    checks.push(run.checkAt(row.index))
  }
  return { ...run.summary(), checks }
}

/**
 * `GET /api/runs/:id/fix?format=F` (default nftables): what `portcheck fix REPORT --format F` writes for the run,
 * for every host at once and for each host with rules (`--host H`), as the dashboard's "What to
 * open" offers them. Read access: it holds no secret, only addresses and ports the report has.
 */
export function fixRoute (app: FastifyInstance, findRun: (id: string) => Run | undefined): void {
  app.get<{ Params: { id: string }, Querystring: { format?: FixFormat } }>('/api/runs/:id/fix', {
    config: { access: 'read' },
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { format: { enum: Object.keys(FIX_FORMATS) } } } }
  }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id}`)
    const report = failingReport(run)
    const format = req.query.format ?? 'nftables'
    if (report === null) return await sendError(reply, 413, 'PC_ERR_REQUEST', `run ${run.id} has more than ${MAX_FIX_CHECKS} blocked or inconclusive checks: save its report (GET /api/runs/${run.id}) and use \`portcheck fix REPORT --format ${format}\``)
    const all = formatFix(report, format)
    const hosts = [...rulesByHost(all.plan.rules)].slice(0, MAX_FIX_HOSTS).map(([host, rules]) => {
      const one = formatFix(report, format, { host })
      return { host, address: rules[0]?.hostAddress ?? null, rules: rules.length, text: one.text, aside: one.aside }
    })
    const body: FixResponse = { format, scope: FIX_FORMATS[format].scope, all: { text: all.text, aside: all.aside }, hosts }
    return body
  })
}
