// The main panel: loads the chosen view's data and hands it to the view's renderer, and keeps
// the operator's scroll position and focus when a view is re-rendered with fresher data.
import type { HostMatrix, RoleMatrix } from '../../src/report/views.js'
import { writeAddress } from './address.js'
import { loadAgents, renderAgentsView } from './agents.js'
import { api, describeError, filterQuery, isUnauthorized, runPath } from './api.js'
import { $, h } from './dom.js'
import { setView } from './filters.js'
import { moveRoving, renderHostMatrix } from './host-matrix.js'
import { nextRunBody } from './next-run.js'
import { loadHistory } from './history.js'
import { renderRoleMatrix } from './role-matrix.js'
import { postRun } from './run-actions.js'
import { runningRun, shownRun, state, VIEW_LABELS } from './state.js'

let viewSeq = 0
/** Loads and renders the current view; a later call wins over one still loading. */
export async function loadView (): Promise<void> {
  const seq = ++viewSeq
  const panel = $('view-panel')
  try {
    if (state.view === 'agents') {
      await loadAgents()
      if (seq === viewSeq) renderAgentsView()
      return
    }
    if (state.view === 'history') {
      await loadHistory(() => seq === viewSeq)
      return
    }
    if (state.runId === null || shownRun() === null) {
      if (seq === viewSeq) renderNoRun()
      return
    }
    if (state.view === 'host') {
      const q = filterQuery({ by: 'host', offset: state.hostPage.offset, limit: state.hostPage.limit })
      const data = await api<HostMatrix>(runPath(`/matrix?${q.toString()}`))
      if (seq !== viewSeq) return
      // The page asked for is past the end (fewer rows under a filter): show the last one.
      if (data.rows.length === 0 && data.totalRows > 0 && state.hostPage.offset > 0) {
        state.hostPage.offset = Math.max(0, Math.floor((data.totalRows - 1) / state.hostPage.limit) * state.hostPage.limit)
        writeAddress()
        await loadView()
        return
      }
      renderHostMatrix(data)
    } else {
      const filtered = api<RoleMatrix>(runPath(`/matrix?${filterQuery({ by: 'role' }).toString()}`))
      // With a status filter, the unfiltered matrix gives each port's number of host pairs.
      const base = state.filters.status !== '' ? api<RoleMatrix>(runPath(`/matrix?${filterQuery({ by: 'role' }, { status: false }).toString()}`)) : filtered
      const [f, b] = await Promise.all([filtered, base])
      if (seq !== viewSeq) return
      renderRoleMatrix(f, b)
    }
    $('app').setAttribute('aria-busy', 'false')
  } catch (err) {
    if (seq !== viewSeq || isUnauthorized(err)) return
    panel.replaceChildren(h('p', { class: 'empty-state error-text', text: `Could not load the ${VIEW_LABELS[state.view].toLowerCase()}: ${describeError(err)}` }))
  }
}

/** The panel when there is no run to show: how many agents are connected, and a start button. */
function renderNoRun (): void {
  const panel = $('view-panel')
  const hosts = state.agents?.hosts ?? []
  const connected = hosts.filter((x) => x.state === 'connected').length
  const start = h('button', { type: 'button', class: 'btn btn-primary', text: '▶ Start run', disabled: state.access === 'read' || runningRun() !== null, onclick: () => void postRun(nextRunBody()) })
  panel.replaceChildren(h('div', { class: 'empty-state' },
    h('h2', { text: state.runs.length === 0 ? 'No run yet' : 'This run is not available' }),
    h('p', { text: `${connected} of ${hosts.length} agents are connected. A run checks every documented flow between the hosts whose agents are connected; the others are reported as inconclusive (agent missing).` }),
    state.access === 'read' ? h('p', { class: 'note', text: 'Read-only access: ask for the full token to start a run.' }) : start,
    connected < hosts.length ? h('p', { class: 'hint' }, 'The ', h('button', { type: 'button', class: 'btn-link', text: 'Agents view', onclick: () => setView('agents') }), ' has the command to run on each missing host.') : null
  ))
  $('app').setAttribute('aria-busy', 'false')
}

/** Replaces the view's content, keeping the matrix's scroll position when the same view is re-rendered. */
export function replaceView (kind: string, ...nodes: Node[]): void {
  const panel = $('view-panel')
  const old = panel.querySelector<HTMLElement>('.matrix-scroll')
  const pos = old !== null && old.dataset.view === kind ? { top: old.scrollTop, left: old.scrollLeft } : null
  panel.replaceChildren(...nodes)
  const now = panel.querySelector<HTMLElement>('.matrix-scroll')
  if (now !== null) {
    now.dataset.view = kind
    if (pos !== null) { now.scrollTop = pos.top; now.scrollLeft = pos.left }
  }
}

/** The data-key of the focused element in the view, to find it again after a re-render. */
export function focusKey (): string | null {
  const a = document.activeElement
  return a instanceof HTMLElement && $('view-panel').contains(a) ? a.dataset.key ?? null : null
}

/** Focuses the element with this data-key again, if the re-rendered view still has it. */
export function restoreFocus (key: string | null): void {
  if (key === null) return
  const el = $('view-panel').querySelector(`[data-key="${CSS.escape(key)}"]`)
  if (el instanceof HTMLElement) {
    if (el.tabIndex < 0 && el.classList.contains('hc')) moveRoving(el)
    el.focus({ preventScroll: true })
  }
}
