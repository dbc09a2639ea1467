import type { FastifyInstance } from 'fastify'
import type { DifferenceResponse, HistoryPage } from './api-types.js'
import type { Coordinator } from './coordinator.js'
import { sendError } from './send-error.js'

/**
 * The history of complete runs (the dashboard's timeline) and each one's difference to the one
 * before it. Both are bounded: the history keeps MAX_HISTORY entries, served a page at a time,
 * and a difference lists MAX_LISTED_CHANGES checks of each kind at most.
 */
export async function historyRoutes (app: FastifyInstance, opts: { coordinator: Coordinator }): Promise<void> {
  const c = opts.coordinator
  const flows = c.catalog.catalog.flows.map((f) => ({ id: f.id, fromRole: f.from, toRole: f.to, purpose: f.purpose, optional: f.optional === true }))

  app.get<{ Querystring: { offset?: number, limit?: number } }>('/api/history', {
    config: { access: 'read' },
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 200 } } } }
  }, async (req): Promise<HistoryPage> => {
    const { offset = 0, limit = 50 } = req.query
    const page = c.history.page(offset, limit)
    return { flows, everyMs: c.everyMs, total: page.total, offset, runs: page.entries }
  })

  app.get<{ Params: { id: string } }>('/api/history/:id/difference', { config: { access: 'read' } }, async (req, reply) => {
    const difference = c.history.difference(req.params.id)
    if (difference === undefined) return await sendError(reply, 404, 'PC_ERR_NOT_FOUND', `no run ${req.params.id.slice(0, 64)} in the history (complete runs only: not aborted, not a re-run of failed checks)`)
    const body: DifferenceResponse = { id: req.params.id, difference }
    return body
  })
}
