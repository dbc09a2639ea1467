import type { FastifyInstance } from 'fastify'
import { rerunDifference } from '../report/rerun-difference.js'
import type { Run } from '../scheduler/run.js'
import type { RerunDifferenceResponse } from './api-types.js'
import { sendError } from './send-error.js'

/**
 * Most checks a re-run may have for `GET /api/runs/:id/difference` to compare: each request
 * builds the report of every one of them and of its counterpart in the original run. Past it,
 * `portcheck diff` on the two saved reports does the same without a bound.
 */
export const MAX_DIFFERENCE_CHECKS = 20_000

/**
 * `GET /api/runs/:id/difference`: a re-run of failed checks (`rerunOf`) compared with the run it
 * repeats, over the checks it re-checked. 404 for an unknown run, a run that is not a re-run, or
 * a re-run whose original is no longer kept in memory (or was a saved report:
 * `portcheck run --rerun-failed`); 409 while the re-run goes on; 413 past
 * {@link MAX_DIFFERENCE_CHECKS}. Read access: a report's facts, no secret.
 *
 * @param findRun a run by id (or `latest`); `keptRun` the run a re-run names, by its id only
 */
export function rerunDifferenceRoute (app: FastifyInstance, findRun: (id: string) => Run | undefined, keptRun: (id: string) => Run | undefined): void {
  app.get<{ Params: { id: string } }>('/api/runs/:id/difference', { config: { access: 'read' } }, async (req, reply) => {
    const run = findRun(req.params.id)
    if (run === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id.slice(0, 64)}`)
    if (run.rerunOf === null) {
      return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `run ${run.id} is not a re-run of failed checks: it has no run it repeats (GET /api/history/${run.id}/difference compares a complete run with the one before it)`)
    }
    const original = keptRun(run.rerunOf)
    if (original === undefined) {
      return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `run ${run.rerunOf}, which run ${run.id} re-checks, is not kept in memory (dropped for newer runs, or a saved report): compare the two saved reports with \`portcheck diff ORIGINAL.json RERUN.json\``)
    }
    if (run.state !== 'done' && run.state !== 'aborted') {
      return await sendError(reply, 409, 'PC_ERR_RUN_BUSY', `run ${run.id} is still running: its difference to run ${original.id} is known when it ends`)
    }
    if (run.plan.checks.length > MAX_DIFFERENCE_CHECKS) {
      return await sendError(reply, 413, 'PC_ERR_REQUEST', `run ${run.id} re-checks more than ${MAX_DIFFERENCE_CHECKS} checks: save both reports (GET /api/runs/${original.id} and GET /api/runs/${run.id}) and use \`portcheck diff ORIGINAL.json RERUN.json\``)
    }
    const body: RerunDifferenceResponse = { id: run.id, rerunOf: original.id, difference: rerunDifference(original, run) }
    return body
  })
}
