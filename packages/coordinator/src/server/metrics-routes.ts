import type { FastifyInstance } from 'fastify'
import { METRICS_PATH } from '../metrics/metrics-server.js'
import type { Coordinator } from './coordinator.js'

/**
 * `GET /metrics` on the API's port, in the Prometheus text format, for the viewer token or
 * better (a scrape config's `authorization.credentials_file`); without a token on a loopback
 * coordinator, like every `read` route.
 */
export async function metricsRoutes (app: FastifyInstance, opts: { coordinator: Coordinator }): Promise<void> {
  const metrics = opts.coordinator.metrics
  app.get(METRICS_PATH, { config: { access: 'read' } }, async (_req, reply) => {
    const text = await metrics.text()
    return await reply.header('cache-control', 'no-store').type(metrics.contentType).send(text)
  })
}
