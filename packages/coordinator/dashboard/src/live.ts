// The live connection: the coordinator's events socket (run progress, runs starting and
// ending, agents joining and leaving), reconnecting with backoff, and the refresh it triggers,
// at most once a second. Without the socket, a run in progress is polled.
import type { DashboardEvent } from '../../src/server/api-types.js'
import { loadAgents, renderAgentsView } from './agents.js'
import { describeError, isUnauthorized } from './api.js'
import { openDetail } from './details.js'
import { $, showNotice } from './dom.js'
import { loadFix } from './fix-panel.js'
import { renderActions } from './run-actions.js'
import { loadRuns } from './runs.js'
import { isFinal, runningRun, shownRun, state } from './state.js'
import { loadOptionalSkipped, renderSummary } from './summary.js'
import { loadView } from './view-panel.js'

/** Longest wait between reconnection attempts, in ms. */
const MAX_BACKOFF_MS = 15_000

let ws: WebSocket | null = null
/** Set after the first connection: a later one catches up on what was missed. */
let reconnecting = false
let backoff = 500
let reconnectTimer: ReturnType<typeof setTimeout> | undefined

function setLive (mode: 'on' | 'off', text: string): void {
  $('live').className = `live live-${mode}`
  $('live-text').textContent = text
}

/** Opens (or reopens) the events socket. */
export function connectEvents (): void {
  if (ws !== null) { ws.onclose = null; ws.close() }
  clearTimeout(reconnectTimer)
  // Browsers cannot set headers on a WebSocket: the token goes in the query, which the coordinator never logs.
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/events${state.token !== null ? `?token=${encodeURIComponent(state.token)}` : ''}`
  let sock: WebSocket
  try {
    sock = new WebSocket(url)
  } catch {
    scheduleReconnect()
    return
  }
  ws = sock
  let opened = false
  sock.onopen = () => {
    opened = true
    state.wsOpen = true
    backoff = 500
    setLive('on', 'live')
    // Catch up on anything missed while disconnected.
    if (state.booted && reconnecting) void refreshAll({ agents: true })
    reconnecting = true
  }
  sock.onmessage = (ev: MessageEvent<string>) => {
    let e: DashboardEvent
    try { e = JSON.parse(ev.data) as DashboardEvent } catch { return }
    onEvent(e)
  }
  sock.onclose = () => {
    if (ws !== sock) return
    state.wsOpen = false
    if (!opened) backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    scheduleReconnect()
  }
}

function scheduleReconnect (): void {
  const wait = backoff
  backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
  setLive('off', `reconnecting in ${Math.round(wait / 1000) || 1} s`)
  reconnectTimer = setTimeout(connectEvents, wait)
}

function onEvent (e: DashboardEvent): void {
  switch (e.type) {
    case 'run': {
      const known = state.runs.find((r) => r.id === e.id)
      state.live = { id: e.id, state: e.state, done: e.done, total: e.total, elapsedMs: e.elapsedMs }
      if (known === undefined) {
        // A new run (from this page, another browser or the API): show it if following the latest.
        scheduleRefresh(0)
        return
      }
      known.state = e.state
      known.progress = { done: e.done, total: e.total }
      known.durationMs = e.elapsedMs
      renderSummary()
      renderActions()
      if (known.id === state.runId) scheduleRefresh(1000)
      return
    }
    case 'run-finished':
      // The refresh sees the run go from running to finished (and reloads open details).
      state.live = null
      scheduleRefresh(0)
      return
    case 'agents':
      void loadAgents().then(() => { if (state.view === 'agents') renderAgentsView() }).catch(() => {})
      return
    default:
      // A new event type is a compile error here until it is handled.
      e satisfies never
  }
}

let refreshing = false
let refreshQueued = false
let refreshTimer: ReturnType<typeof setTimeout> | null = null
let lastRefresh = 0

/** Refreshes everything, at most once per `gap` ms (the run in progress pushes 4 events a second). */
function scheduleRefresh (gap = 1000): void {
  if (refreshing) { refreshQueued = true; return }
  const wait = Math.max(0, lastRefresh + gap - Date.now())
  if (refreshTimer !== null) {
    if (wait > 0) return
    clearTimeout(refreshTimer)
  }
  refreshTimer = setTimeout(() => { refreshTimer = null; void refreshAll() }, wait)
}

/** Reloads the runs, the view, "what to open" and, if the shown run changed or finished, open details. */
export async function refreshAll ({ agents = false } = {}): Promise<void> {
  if (refreshing) { refreshQueued = true; return }
  refreshing = true
  try {
    const before = state.runId
    const was = shownRun()
    const wasRunning = was !== null && !isFinal(was)
    await loadRuns()
    const run = shownRun()
    const finishedNow = wasRunning && run !== null && isFinal(run)
    const changed = before !== state.runId
    const tasks: Array<Promise<void>> = [loadView(), loadFix(), loadOptionalSkipped()]
    if (state.detail !== null && (changed || finishedNow)) tasks.push(openDetail(state.detail.spec, { keepOrigin: true }))
    if (agents && state.view !== 'agents') tasks.push(loadAgents().catch(() => {}))
    await Promise.all(tasks)
  } catch (err) {
    if (!isUnauthorized(err)) showNotice(`Could not refresh: ${describeError(err)}`)
  } finally {
    refreshing = false
    lastRefresh = Date.now()
    if (refreshQueued) { refreshQueued = false; scheduleRefresh() }
  }
}

/** Polls while the live socket is down and a run is in progress. */
export function startPolling (): void {
  setInterval(() => {
    if (state.booted && !state.wsOpen && runningRun() !== null) scheduleRefresh(2000)
  }, 5000)
}
