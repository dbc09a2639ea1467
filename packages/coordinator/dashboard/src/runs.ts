// The runs the coordinator keeps: the list, and the picker in the top bar. The page follows
// the newest run unless one is picked (then pinned in the address).
import type { RunListEntry } from '../../src/server/api-types.js'
import { api } from './api.js'
import { writeAddress } from './address.js'
import { openDetail } from './details.js'
import { $, h, showNotice } from './dom.js'
import { loadFix } from './fix-panel.js'
import { clock, fmt } from './format.js'
import { rerunLabel } from './rerun-diff.js'
import { renderActions } from './run-actions.js'
import { isFinal, shownRun, state } from './state.js'
import { STATUS } from './statuses.js'
import { loadOptionalSkipped, renderSummary } from './summary.js'
import { loadView } from './view-panel.js'

/** Runs the picker lists, newest first: a coordinator with a schedule may keep hundreds (the History view has them all). */
export const RUNS_LISTED = 100

/** Loads the list of runs, picks the one to show and renders the summary. */
export async function loadRuns (): Promise<void> {
  const runs = await api<RunListEntry[]>(`/api/runs?limit=${RUNS_LISTED}`)
  state.runs = Array.isArray(runs) ? runs : []
  // Live progress is fresher than the list for the run in progress.
  const live = state.live
  if (live !== null) {
    const r = state.runs.find((x) => x.id === live.id)
    if (r !== undefined && !isFinal(r) && r.progress.done < live.done) r.progress = { done: live.done, total: live.total }
  }
  if (state.follow || (state.runId !== null && shownRun() === null && state.runs.length > 0)) {
    if (!state.follow) showNotice(`Run ${state.runId ?? ''} is no longer kept by the coordinator; showing the latest run.`)
    state.follow = true
    state.runId = state.runs[0]?.id ?? null
  }
  renderRunSelect()
  renderSummary()
  renderActions()
  writeAddress()
}

let runSelectSig = ''
/** The run picker, and the export buttons that act on the picked run. */
export function renderRunSelect (): void {
  const sel = $('run-select', HTMLSelectElement)
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-export]')) b.disabled = shownRun() === null
  const labels = state.runs.map((r, i) => {
    const v = r.verdict !== null && isFinal(r) ? `${STATUS[r.verdict].icon} ${r.verdict}${r.state === 'aborted' ? ' (aborted)' : ''}` : 'running'
    const rerun = rerunLabel(r)
    // The re-run label early: the closed picker is narrow and cuts the end off.
    return `${clock(r.startedAt)}${rerun !== null ? ` · ${rerun}` : ''} · ${v} · ${fmt(r.progress.total)} checks${i === 0 ? ' (latest)' : ''}`
  })
  // Rebuilt only when something in it changed: a rebuild would close the list under the pointer.
  const sig = JSON.stringify([state.runId, state.runs.map((r) => r.id), labels])
  if (sig === runSelectSig) return
  runSelectSig = sig
  sel.replaceChildren()
  if (state.runs.length === 0) {
    sel.append(h('option', { value: '', text: 'no run yet' }))
    sel.disabled = true
    return
  }
  sel.disabled = false
  state.runs.forEach((r, i) => sel.append(h('option', { value: r.id, text: labels[i] ?? r.id, selected: r.id === state.runId })))
  sel.value = state.runId ?? ''
}

/** Picking a run shows it everywhere; picking the newest follows the newest again. */
export function setupRunSelect (): void {
  const sel = $('run-select', HTMLSelectElement)
  sel.addEventListener('change', () => {
    const id = sel.value
    state.follow = id === state.runs[0]?.id
    state.runId = id
    writeAddress()
    renderRunSelect()
    renderSummary()
    renderActions()
    void Promise.all([loadView(), loadFix(), state.detail !== null ? openDetail(state.detail.spec, { keepOrigin: true }) : null, loadOptionalSkipped()])
  })
}
