// Start, re-run failed, abort: the run buttons, what disables them (a viewer token, a run in
// progress, a request on its way), and the error of a refused request.
import type { RunAborting, RunRequest, RunStarted } from '../../src/server/api-types.js'
import { ApiError, api, describeError, isUnauthorized } from './api.js'
import { $, h } from './dom.js'
import { fmt } from './format.js'
import { refreshAll } from './live.js'
import { nextRunBody } from './next-run.js'
import { isFinal, runningRun, shownRun, state } from './state.js'

/** Enables, labels and explains the run buttons for the shown run and the token's access. */
export function renderActions (): void {
  const run = shownRun()
  const running = runningRun()
  const readOnly = state.access === 'read'
  const start = $('start-run', HTMLButtonElement)
  const rerun = $('rerun-failed', HTMLButtonElement)
  const abort = $('abort-run', HTMLButtonElement)
  const failing = run !== null ? run.summary.blocked + run.summary.inconclusive : 0
  const finished = run !== null && isFinal(run)
  start.disabled = readOnly || running !== null || state.busy || state.catalog === null
  start.title = readOnly ? 'read-only token' : running !== null ? 'a run is in progress' : 'check every flow now, with the options below'
  rerun.disabled = readOnly || running !== null || state.busy || !finished || failing === 0
  rerun.textContent = failing > 0 && finished ? `↻ Re-run failed (${fmt(failing)})` : '↻ Re-run failed'
  rerun.title = readOnly ? 'read-only token' : failing === 0 ? 'the shown run has no blocked or inconclusive check' : `check again the ${fmt(failing)} blocked or inconclusive checks of run ${run?.id ?? ''}`
  abort.hidden = running === null
  abort.disabled = readOnly || state.busy
  $('readonly-note').hidden = !readOnly
  for (const el of $('next-run-form', HTMLFormElement).elements) {
    if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLButtonElement) el.disabled = readOnly
  }
}

/** Shows why a run request was refused, with the API's details; null hides it. */
export function showRunError (err: unknown): void {
  const box = $('run-error')
  if (err === null) { box.hidden = true; box.replaceChildren(); return }
  const items = err instanceof ApiError ? err.details : []
  box.replaceChildren(
    h('strong', { text: err instanceof ApiError && err.status === 409 ? 'A run is already in progress. ' : 'The run was not started. ' }),
    h('span', { text: describeError(err) }),
    ...(items.length > 0 ? [h('ul', {}, items.map((d) => h('li', { text: d })))] : [])
  )
  box.hidden = false
}

/** Starts a run and shows it. */
export async function postRun (body: RunRequest): Promise<void> {
  state.busy = true
  renderActions()
  showRunError(null)
  try {
    const r = await api<RunStarted>('/api/runs', { method: 'POST', body })
    state.follow = true
    state.runId = r.id
    state.live = { id: r.id, state: 'waiting', done: 0, total: r.checks, elapsedMs: 0 }
    await refreshAll()
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) state.access = 'read'
    if (!isUnauthorized(err)) showRunError(err)
  } finally {
    state.busy = false
    renderActions()
  }
}

async function abortRun (): Promise<void> {
  const run = runningRun()
  if (run === null) return
  state.busy = true
  renderActions()
  try {
    await api<RunAborting>(`/api/runs/${encodeURIComponent(run.id)}/abort`, { method: 'POST' })
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) state.access = 'read'
    showRunError(err)
  } finally {
    state.busy = false
    renderActions()
  }
}

/** Wires the run buttons and the next-run form. */
export function setupRunActions (): void {
  $('start-run').addEventListener('click', () => void postRun(nextRunBody()))
  $('rerun-failed').addEventListener('click', () => { if (state.runId !== null) void postRun({ rerunOf: state.runId }) })
  $('abort-run').addEventListener('click', () => void abortRun())
  $('next-run-form').addEventListener('submit', (e) => e.preventDefault())
}
