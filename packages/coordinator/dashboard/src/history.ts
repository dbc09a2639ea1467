// The history view: a timeline of the complete runs (scheduled by `serve --every`, or started
// from the dashboard or the API), one column per run with its verdict, counts and time, and one
// row per catalog flow with its worst status in each run. A column's header opens that run's
// difference to the one before it (history-diff.ts). Pages of runs come from GET /api/history.
import type { HistoryEntry, HistoryPage } from '../../src/server/api-types.js'
import { api } from './api.js'
import { $, h, icon } from './dom.js'
import { clock, fmt } from './format.js'
import { loadDifference } from './history-diff.js'
import { state } from './state.js'
import { STATUS, VERDICTS, type ShownStatus } from './statuses.js'
import { replaceView } from './view-panel.js'

/** Runs per page of the timeline. */
export const HISTORY_PAGE = 30

const history = {
  offset: 0,
  /** The run whose difference is shown; null: the newest one. */
  picked: null as string | null
}

/** `every 5m`, from the schedule's period in ms. */
function period (ms: number): string {
  const s = Math.round(ms / 1000)
  return [[Math.floor(s / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']].filter(([n]) => n !== 0).map(([n, u]) => `${n}${u}`).join('')
}

/** Loads a page of the history and renders the timeline, then the picked run's difference. */
export async function loadHistory (isCurrent: () => boolean): Promise<void> {
  const page = await api<HistoryPage>(`/api/history?offset=${history.offset}&limit=${HISTORY_PAGE}`)
  if (!isCurrent()) return
  if (page.runs.length === 0 && page.total > 0 && history.offset > 0) {
    history.offset = Math.max(0, page.total - HISTORY_PAGE)
    await loadHistory(isCurrent)
    return
  }
  if (page.total === 0) {
    replaceView('history', h('div', { class: 'empty-state' },
      h('h2', { text: 'No complete run yet' }),
      h('p', { text: 'Each run that checks the whole matrix to its end becomes a column here, with the state of every flow. With portcheck serve --every 5m, the coordinator starts one every 5 minutes.' })))
    $('app').setAttribute('aria-busy', 'false')
    return
  }
  // Oldest on the left, as a timeline reads.
  const runs = [...page.runs].reverse()
  const picked = runs.find((r) => r.id === history.picked) ?? runs.at(-1) as HistoryEntry
  const diffBox = h('section', { class: 'tl-diff', id: 'tl-diff', 'aria-live': 'polite' })
  replaceView('history', timeline(page, runs, picked.id), pager(page), diffBox)
  await loadDifference(picked, diffBox, isCurrent)
  $('app').setAttribute('aria-busy', 'false')
}

/** The timeline table: runs as columns, flows as rows. */
function timeline (page: HistoryPage, runs: HistoryEntry[], picked: string): HTMLElement {
  const schedule = page.everyMs !== null ? `every ${period(page.everyMs)}` : 'started from the dashboard or the API'
  const caption = h('caption', { text: `${fmt(page.total)} complete run${page.total === 1 ? '' : 's'} (${schedule}), oldest on the left; each cell is the worst state of the flow's checks in that run. Pick a run to see what changed since the one before it.` })
  const head = h('tr', {}, h('th', { class: 'corner', scope: 'col', text: 'Flow' }), ...runs.map((r) => runHead(r, r.id === picked)))
  // Flows no run on this page checked (conditions off, no host of a role) are left out.
  const rows = page.flows.map((f, i) => ({ f, cells: runs.map((r) => r.flows[i] ?? null) })).filter((row) => row.cells.some((c) => c !== null))
  const body = rows.map(({ f, cells }) => h('tr', { 'data-flow': f.id },
    h('th', { scope: 'row', class: 'tl-flow' },
      h('span', { class: 'tl-flow-id', text: f.id }), f.optional ? h('span', { class: 'tag', text: 'optional' }) : null,
      h('span', { class: 'tl-flow-roles', text: `${f.fromRole} → ${f.toRole}` }),
      h('span', { class: 'tl-flow-purpose', text: f.purpose })),
    ...cells.map((s, j) => cell(s, runs[j] as HistoryEntry, f.id, (runs[j] as HistoryEntry).id === picked))))
  return h('div', { class: 'matrix-scroll tl-scroll' }, h('table', { class: 'timeline' }, caption, h('thead', {}, head), h('tbody', {}, ...body)))
}

/** A run's column header: its time, verdict and counts, as a button that shows its difference. */
function runHead (r: HistoryEntry, picked: boolean): HTMLElement {
  const v = r.verdict !== null ? VERDICTS[r.verdict] : null
  const moved = r.changes === null ? null : r.changes.newlyBlocked + r.changes.newlyInconclusive + r.changes.fixed
  const counts = (['blocked', 'inconclusive', 'pass'] as const).filter((s) => r.required[s] > 0).map((s) => h('span', { class: `mini st-${s}` }, icon(s), fmt(r.required[s])))
  const label = `Run of ${new Date(r.startedAt).toLocaleString('en-GB')}${r.scheduled ? ' (scheduled)' : ''}: ${v?.title ?? 'no verdict'}, ${fmt(r.required.blocked)} required checks blocked, ${fmt(r.required.inconclusive)} inconclusive, ${fmt(r.required.pass)} passed${moved === null ? '' : `; ${fmt(moved)} changed since the run before`}`
  return h('th', { scope: 'col', class: `tl-run${picked ? ' tl-picked' : ''}`, 'data-run': r.id },
    h('button', { type: 'button', class: `tl-run-btn v-${r.verdict ?? 'none'}`, 'aria-pressed': String(picked), 'aria-label': label, title: label, onclick: () => { history.picked = r.id; void loadHistory(() => state.view === 'history') } },
      h('span', { class: 'tl-time', text: clock(r.startedAt) }),
      h('span', { class: 'tl-verdict', text: `${v?.icon ?? '·'} ${v?.title ?? r.verdict ?? '–'}` }),
      h('span', { class: 'tl-counts' }, ...counts),
      moved !== null && moved > 0 ? h('span', { class: 'tl-moved', text: `Δ ${fmt(moved)}` }) : null,
      r.scheduled ? null : h('span', { class: 'tag', text: 'manual' })))
}

/** A flow's state in one run. */
function cell (s: ShownStatus | null, r: HistoryEntry, flow: string, picked: boolean): HTMLElement {
  if (s === null) return h('td', { class: 'tl-cell tl-none', title: `${flow}: not checked in this run`, text: '·' })
  return h('td', { class: `tl-cell w-${s}${picked ? ' tl-picked' : ''}`, 'data-status': s, title: `${flow}: ${STATUS[s].label} in the run of ${clock(r.startedAt)}` },
    icon(s), h('span', { class: 'sr-only', text: STATUS[s].label }))
}

/** Older and newer pages of runs. */
function pager (page: HistoryPage): HTMLElement {
  const older = history.offset + HISTORY_PAGE < page.total
  const newer = history.offset > 0
  const go = (offset: number): void => { history.offset = offset; history.picked = null; void loadHistory(() => state.view === 'history') }
  return h('div', { class: 'tl-pager' },
    h('button', { type: 'button', class: 'btn btn-small', text: '← Older runs', disabled: !older, onclick: () => go(history.offset + HISTORY_PAGE) }),
    h('span', { class: 'tl-range', text: `runs ${fmt(page.total - history.offset - page.runs.length + 1)}–${fmt(page.total - history.offset)} of ${fmt(page.total)}` }),
    h('button', { type: 'button', class: 'btn btn-small', text: 'Newer runs →', disabled: !newer, onclick: () => go(Math.max(0, history.offset - HISTORY_PAGE)) }))
}
