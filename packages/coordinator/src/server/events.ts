import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Logger } from 'pino'
import { decide } from './access.js'
import type { Run } from '../scheduler/run.js'
import type { DashboardEvent } from './api-types.js'
import type { Coordinator } from './coordinator.js'

/** The WebSocket path the dashboard subscribes to. */
export const EVENTS_PATH = '/api/events'

/** Dashboards subscribed at once, at most. */
const MAX_SUBSCRIBERS = 64

/** How often a running run's progress is pushed, at most, in ms. */
const PROGRESS_INTERVAL_MS = 250

/**
 * Live updates for dashboards: run progress (throttled), run start and end, agents joining
 * and leaving. The browser cannot set headers on a WebSocket, so the token comes as `?token=`
 * (the query is never logged).
 */
export class DashboardEvents {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false })
  private timer: NodeJS.Timeout | null = null
  private watched: Run | null = null

  /** @param onRefused hears every refused subscription, with its kind (the refusal log's `request refused: KIND`) and what to log with it */
  constructor (private readonly c: Coordinator, private readonly logger: Logger, private readonly onRefused: (req: IncomingMessage, kind: string, fields?: Record<string, unknown>) => void = () => {}) {
    c.runs.on('started', (run) => this.watch(run))
    c.runs.on('finished', (run) => {
      this.stopTimer()
      this.pushProgress(run)
      const report = run.summary()
      this.broadcast({ type: 'run-finished', id: run.id, verdict: report.verdict, exitCode: report.exitCode })
    })
    const agents = (): void => this.broadcast({ type: 'agents' })
    c.hub.on('joined', agents)
    c.hub.on('left', agents)
    // Fifty launches make some 250 changes in a few seconds: one event per 250 ms is enough.
    let launchTimer: NodeJS.Timeout | null = null
    c.hub.launches.on('change', () => {
      launchTimer ??= setTimeout(() => { launchTimer = null; agents() }, 250).unref()
    })
  }

  /**
   * Subscribes a dashboard: the same rules as a `read` route (its Host must be ours, a browser's
   * Origin must be ours, a token unless on loopback), with the token as `?token=` since browsers
   * cannot set headers on a WebSocket. At most {@link MAX_SUBSCRIBERS} at once.
   */
  handleUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const token = url.searchParams.get('token') ?? undefined
    const d = decide(this.c.access, 'read', 'GET', req.headers, token)
    const refuse = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      socket.destroy()
    }
    if (!('access' in d)) {
      this.onRefused(req, d.kind, d.fields)
      refuse(`${d.status} ${d.status === 401 ? 'Unauthorized' : d.status === 403 ? 'Forbidden' : 'Misdirected Request'}`)
      return
    }
    if (this.wss.clients.size >= MAX_SUBSCRIBERS) { refuse('503 Service Unavailable'); return }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws))
  }

  async close (): Promise<void> {
    this.stopTimer()
    for (const ws of this.wss.clients) ws.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private accept (ws: WebSocket): void {
    // Viewers only listen; anything they send is ignored, and errors only end their socket.
    ws.on('message', () => {})
    ws.on('error', (err) => this.logger.debug({ err }, 'dashboard socket error'))
    const current = this.c.runs.current
    if (current !== null) this.send(ws, progressEvent(current))
  }

  private watch (run: Run): void {
    this.watched = run
    this.stopTimer()
    this.pushProgress(run)
    this.timer = setInterval(() => { if (this.watched !== null) this.pushProgress(this.watched) }, PROGRESS_INTERVAL_MS)
    this.timer.unref()
  }

  private stopTimer (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  private pushProgress (run: Run): void {
    this.broadcast(progressEvent(run))
  }

  private broadcast (event: DashboardEvent): void {
    const text = JSON.stringify(event)
    for (const ws of this.wss.clients) if (ws.readyState === ws.OPEN) ws.send(text)
  }

  private send (ws: WebSocket, event: DashboardEvent): void {
    ws.send(JSON.stringify(event))
  }
}

function progressEvent (run: Run): DashboardEvent {
  const p = run.progress()
  return { type: 'run', id: run.id, ...p }
}
