// The host matrix: one page of source hosts as rows, every target host as a column, each cell
// coloured by its worst check. A grid with one tab stop: arrow keys move, Enter opens.
import type { HostCell, HostMatrix } from '../../src/report/views.js'
import { HOST_PAGE_SIZES, writeAddress } from './address.js'
import { openDetail } from './details.js'
import { $, h, icon } from './dom.js'
import { countsText, fmt } from './format.js'
import { state } from './state.js'
import { SEVERITY } from './statuses.js'
import { focusKey, loadView, replaceView, restoreFocus } from './view-panel.js'

/** Host matrices up to this many columns show counts in each cell; wider ones show the worst status only. */
const ROOMY_COLUMNS = 16

/** The cells of the matrix shown, by `from\0to`, for the click and key handlers. */
let shownCells = new Map<string, HostCell>()

function hostTitle (name: string): string {
  const info = state.hostInfo.get(name)
  if (info === undefined) return name.startsWith('(') ? `${name}: an external endpoint, no agent` : name
  return `${name} · ${info.addresses.join(', ')} · ${info.roles.join(', ')}`
}

function showPage (offset: number, limit = state.hostPage.limit): void {
  state.hostPage = { offset, limit }
  writeAddress()
  void loadView()
}

function pager (data: HostMatrix): HTMLElement {
  const { offset, limit } = state.hostPage
  const last = Math.max(0, data.totalRows - 1)
  const size = h('select', {}, HOST_PAGE_SIZES.map((n) => h('option', { value: n, text: n, selected: n === limit })))
  size.addEventListener('change', () => showPage(0, Number(size.value)))
  return h('div', { class: 'pager', role: 'group', 'aria-label': 'Source host pages' },
    h('button', { type: 'button', class: 'btn btn-small', text: '‹ Previous', disabled: offset === 0, onclick: () => showPage(Math.max(0, offset - limit)) }),
    h('span', { class: 'pager-text', text: data.totalRows === 0 ? 'no source hosts' : `source hosts ${fmt(offset + 1)}–${fmt(Math.min(offset + data.rows.length, data.totalRows))} of ${fmt(data.totalRows)} · ${fmt(data.cols.length)} targets` }),
    h('button', { type: 'button', class: 'btn btn-small', text: 'Next ›', disabled: offset + limit > last, onclick: () => showPage(offset + limit) }),
    h('label', { class: 'pager-size' }, 'rows per page ', size))
}

/** Renders one page of the host matrix. */
export function renderHostMatrix (data: HostMatrix): void {
  const panel = $('view-panel')
  const key = focusKey()
  const { offset, limit } = state.hostPage
  const roomy = data.cols.length <= ROOMY_COLUMNS
  const cells = new Map(data.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  if (data.cells.length === 0) {
    panel.replaceChildren(h('div', { class: 'empty-state' }, h('h2', { text: 'No check matches these filters' })))
    return
  }
  // Columns blocked on every row of this page stand out, as do rows blocked in every column.
  const colInfo = new Map(data.cols.map((c) => [c, { tested: 0, blocked: 0 }]))
  const rowInfo = new Map(data.rows.map((r) => [r, { tested: 0, blocked: 0 }]))
  for (const c of data.cells) {
    if (c.counts.pass + c.counts.blocked === 0) continue
    const ci = colInfo.get(c.to)
    const ri = rowInfo.get(c.from)
    if (ci !== undefined) { ci.tested++; if (c.counts.blocked > 0) ci.blocked++ }
    if (ri !== undefined) { ri.tested++; if (c.counts.blocked > 0) ri.blocked++ }
  }
  const allBlocked = (i: { tested: number, blocked: number } | undefined): boolean => i !== undefined && i.tested > 1 && i.blocked === i.tested
  const table = h('table', { class: `host-matrix${roomy ? ' roomy' : ' compact'}`, role: 'grid', 'aria-label': 'Checks by source host (rows) and target host (columns)', 'aria-rowcount': data.totalRows + 1 })
  const headRow = h('tr', {}, h('th', { scope: 'col', class: 'corner' }, h('span', { text: 'from ↓' }), h('span', { text: 'to →' })))
  for (const c of data.cols) {
    const blocked = allBlocked(colInfo.get(c))
    headRow.append(h('th', { scope: 'col', class: `hcol${blocked ? ' line-blocked' : ''}`, title: hostTitle(c) + (blocked ? ' — blocked from every source on this page' : '') },
      h('span', { class: 'hcol-text' }, blocked ? icon('blocked') : null, c),
      blocked ? h('span', { class: 'sr-only', text: ' (blocked from every source on this page)' }) : null))
  }
  const tbody = h('tbody')
  let first = true
  data.rows.forEach((r, i) => {
    const blocked = allBlocked(rowInfo.get(r))
    const tr = h('tr', { 'aria-rowindex': offset + i + 2 }, h('th', { scope: 'row', class: `hrow${blocked ? ' line-blocked' : ''}`, title: hostTitle(r) },
      blocked ? icon('blocked') : null, h('span', { text: r }), blocked ? h('span', { class: 'sr-only', text: ' (blocked to every target)' }) : null))
    for (const col of data.cols) {
      const cell = cells.get(`${r}\0${col}`)
      const k = `hc:${r}>${col}`
      if (cell === undefined) {
        tr.append(h('td', { class: 'hc hc-empty', 'data-key': k, 'data-from': r, 'data-to': col, tabindex: -1, 'aria-label': `${r} to ${col}: no checks` }))
        continue
      }
      const td = h('td', {
        class: `hc w-${cell.worst}`,
        'data-key': k,
        'data-from': r,
        'data-to': col,
        'data-worst': cell.worst,
        tabindex: first ? 0 : -1,
        title: `${r} → ${col}: ${countsText(cell.counts)}`,
        'aria-label': `${r} to ${col}: ${countsText(cell.counts)}. Press Enter for the details.`
      })
      first = false
      if (roomy) {
        for (const s of SEVERITY) if (cell.counts[s] > 0) td.append(h('span', { class: `mini st-${s}` }, icon(s), fmt(cell.counts[s])))
      } else {
        td.append(icon(cell.worst))
      }
      tr.append(td)
    }
    tbody.append(tr)
  })
  table.append(h('thead', {}, headRow), tbody)
  shownCells = cells
  const scroll = h('div', { class: 'matrix-scroll host-scroll' }, table)
  table.addEventListener('click', (e) => {
    const td = e.target instanceof Element ? e.target.closest('td.hc') : null
    if (td instanceof HTMLTableCellElement) { moveRoving(td); activateHostCell(td) }
  })
  table.addEventListener('keydown', onGridKey)
  replaceView(`host:${offset}:${limit}`, pager(data), h('p', { class: 'hint', text: 'Each cell is one source host and one target host, coloured by its worst check and marked with its icon. Arrow keys move between cells; Enter opens the checks.' }), scroll)
  restoreFocus(key)
}

function activateHostCell (td: HTMLElement): void {
  const cell = shownCells.get(`${td.dataset.from ?? ''}\0${td.dataset.to ?? ''}`)
  if (cell === undefined) return
  void openDetail({ kind: 'host', from: cell.from, to: cell.to }, { origin: td })
}

/** Makes a cell the grid's one tab stop. */
export function moveRoving (td: HTMLElement): void {
  const table = td.closest('table')
  if (table !== null) for (const el of table.querySelectorAll<HTMLElement>('td.hc[tabindex="0"]')) el.tabIndex = -1
  td.tabIndex = 0
}

function onGridKey (e: KeyboardEvent): void {
  const td = e.target instanceof Element ? e.target.closest('td.hc') : null
  if (!(td instanceof HTMLTableCellElement)) return
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault()
    activateHostCell(td)
    return
  }
  const tr = td.parentElement
  if (tr === null) return
  const idx = [...tr.children].indexOf(td)
  let next: Element | null | undefined = null
  if (e.key === 'ArrowRight') next = td.nextElementSibling
  else if (e.key === 'ArrowLeft') next = td.previousElementSibling
  else if (e.key === 'ArrowDown') next = tr.nextElementSibling?.children[idx] ?? null
  else if (e.key === 'ArrowUp') next = tr.previousElementSibling?.children[idx] ?? null
  else if (e.key === 'Home') next = tr.children[1] ?? null
  else if (e.key === 'End') next = tr.lastElementChild
  else return
  e.preventDefault()
  if (next instanceof HTMLTableCellElement && next.classList.contains('hc')) {
    moveRoving(next)
    next.focus()
  }
}
