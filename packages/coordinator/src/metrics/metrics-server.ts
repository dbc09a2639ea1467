import http from 'node:http'
import type net from 'node:net'
import type { Logger } from 'pino'
import { PortcheckError } from '@portcheck/protocol'
import { RefusalLog } from '../security/refusal-log.js'
import { hardenServer } from '../security/server-limits.js'
import { isLoopback } from '../inventory/host-addresses.js'
import type { PortcheckMetrics } from './portcheck-metrics.js'

/** Connections at once from one address on the metrics listener: a Prometheus or two, and curl. */
const MAX_CONNECTIONS_PER_ADDRESS = 16

/** The path metrics are served at, on the API's port and on `--metrics-listen`. */
export const METRICS_PATH = '/metrics'

/** A plain-HTTP listener that serves only the metrics, without a token (`--metrics-listen`). */
export interface MetricsServer {
  /** The address and port it listens on. */
  address: { host: string, port: number }
  close: () => Promise<void>
}

/**
 * Serves `GET /metrics` (and nothing else) on its own address, plain HTTP and without a token:
 * for a Prometheus that cannot hold the coordinator's token, on an address only it reaches (a
 * loopback or management interface). Metrics say which flows are blocked and which agents are
 * up, nothing more: no token, credential, address or check detail. Requests are bounded like the
 * API's: per-address connections, 10 s to send a request, idle connections closed.
 */
export async function startMetricsServer (metrics: PortcheckMetrics, listen: { host: string, port: number }, logger: Logger): Promise<MetricsServer> {
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: only ${METRICS_PATH} is served here\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
      return
    }
    metrics.text().then((text) => {
      res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text)
    }, (err: unknown) => {
      logger.error({ err }, 'metrics could not be collected')
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n')
    })
  })
  const refusals = new RefusalLog(logger)
  hardenServer(server, refusals, MAX_CONNECTIONS_PER_ADDRESS)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: listen.host, port: listen.port }, () => { server.off('error', reject); resolve() })
    })
  } catch (err) {
    refusals.stop()
    throw new PortcheckError('PC_ERR_LISTEN', `cannot listen on ${listen.host}:${listen.port} (--metrics-listen): ${(err as Error).message}`, { cause: err })
  }
  const addr = server.address() as net.AddressInfo
  // Host names and which flows are blocked, to anyone who reaches it: said once, where it may be many.
  if (!isLoopback(addr.address)) logger.warn({ address: addr.address, port: addr.port }, 'metrics are served without a token on an address other hosts may reach (--metrics-listen): keep it on one only Prometheus reaches')
  return {
    address: { host: addr.address, port: addr.port },
    close: async () => {
      refusals.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
