// The role matrix: source roles as rows, target roles as columns, each cell with its counts
// and each port's state over every host pair. A whole row or column blocked stands out.
import type { RoleCell, RoleMatrix, StatusCounts } from '../../src/report/views.js'
import { openDetail } from './details.js'
import { $, h, icon } from './dom.js'
import { NO_FILTERS, setFilters } from './filters.js'
import { countsText, fmt, pairsWord, portLabel, portPhraseParts, runFamilies } from './format.js'
import { state } from './state.js'
import { SEVERITY, totalOf } from './statuses.js'
import { focusKey, replaceView, restoreFocus } from './view-panel.js'

function roleTitle (id: string): string {
  return state.catalog?.roles[id]?.title ?? ''
}

function isExternalRole (id: string): boolean {
  return state.catalog?.roles[id]?.external === true
}

/** How blocked one row or column is, judged on its cells with a conclusive result. */
interface LineInfo {
  blockedChecks: number
  /** Two or more tested cells, all blocked. */
  all: boolean
}

// A whole blocked row or column usually means one host's or one subnet's firewall. Only cells
// with a conclusive result count: a cell whose agent is missing neither confirms nor breaks the
// pattern; and one cell alone is no pattern.
function line (cellsOf: RoleCell[]): LineInfo {
  const tested = cellsOf.filter((c) => c.counts.pass + c.counts.blocked > 0)
  const blocked = tested.filter((c) => c.counts.blocked > 0)
  return { blockedChecks: blocked.reduce((n, c) => n + c.counts.blocked, 0), all: tested.length > 1 && blocked.length === tested.length }
}

function roleHeader (role: string, scope: 'row' | 'col', info: LineInfo): HTMLTableCellElement {
  const title = roleTitle(role)
  return h('th', { scope, class: `role-head${info.all ? ' line-blocked' : ''}`, 'data-role': role },
    h('span', { class: 'role-id', text: role }),
    isExternalRole(role) ? h('span', { class: 'tag', text: 'external' }) : null,
    title !== '' ? h('span', { class: 'role-title', text: title }) : null,
    info.blockedChecks > 0
      ? h('span', { class: `line-badge${info.all ? ' line-badge-all' : ''}` }, icon('blocked'), info.all ? ` blocked ${scope === 'row' ? 'to' : 'from'} every role · ${fmt(info.blockedChecks)} checks` : ` ${fmt(info.blockedChecks)} blocked`)
      : null)
}

/**
 * Renders the role matrix of `data`; `base` is the same matrix without the status filter, for
 * each port's number of host pairs and for judging whole lines.
 */
export function renderRoleMatrix (data: RoleMatrix, base: RoleMatrix): void {
  const panel = $('view-panel')
  const key = focusKey()
  const cells = new Map(data.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  const baseCells = new Map(base.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  if (data.cells.length === 0) {
    panel.replaceChildren(h('div', { class: 'empty-state' },
      h('h2', { text: 'No check matches these filters' }),
      h('p', { text: state.filters.status === 'blocked' ? 'Nothing is blocked here.' : 'Change or clear the filters to see more.' }),
      h('button', { type: 'button', class: 'btn', text: 'Clear filters', onclick: () => setFilters({ ...NO_FILTERS }) })))
    return
  }
  // Judged on the matrix without the status filter: under "blocked only" every line would look blocked.
  const rowLine = new Map(data.rows.map((r) => [r, line(base.cells.filter((c) => c.from === r))]))
  const colLine = new Map(data.cols.map((r) => [r, line(base.cells.filter((c) => c.to === r))]))
  const noLine: LineInfo = { blockedChecks: 0, all: false }
  const thead = h('thead', {}, h('tr', {},
    h('th', { scope: 'col', class: 'corner' }, h('span', { text: 'from ↓' }), h('span', { text: 'to →' })),
    data.cols.map((c) => roleHeader(c, 'col', colLine.get(c) ?? noLine))))
  const tbody = h('tbody')
  for (const r of data.rows) {
    const tr = h('tr', {}, roleHeader(r, 'row', rowLine.get(r) ?? noLine))
    for (const col of data.cols) {
      const cell = cells.get(`${r}\0${col}`)
      if (cell === undefined) {
        tr.append(h('td', { class: 'rc rc-empty' }, h('span', { 'aria-hidden': 'true', text: '·' }), h('span', { class: 'sr-only', text: `no documented flow from ${r} to ${col}${state.filters.status !== '' ? ' matching the filters' : ''}` })))
        continue
      }
      tr.append(roleCell(cell, baseCells.get(`${r}\0${col}`) ?? cell))
    }
    tbody.append(tr)
  }
  const filtered = Object.values(state.filters).some((v) => v !== '' && v !== false)
  const table = h('table', { class: 'role-matrix' },
    h('caption', {}, 'Documented flows by source role (rows) and target role (columns), each port with its state over every host pair. Click a cell or a port for its checks.', filtered ? h('span', { class: 'caption-filter', text: ' · filtered' }) : null),
    thead, tbody)
  replaceView('role', h('div', { class: 'matrix-scroll' }, table))
  restoreFocus(key)
}

function chips (counts: StatusCounts): HTMLElement[] {
  return SEVERITY.filter((s) => counts[s] > 0).map((s) => h('span', { class: `mini st-${s}` }, icon(s), fmt(counts[s])))
}

/**
 * One cell: a button with its counts that opens its checks, and one button per port. The cell's
 * state is its required checks'; optional ones are counted apart, marked `optional`, as the
 * terminal report does.
 */
function roleCell (cell: RoleCell, baseCell: RoleCell): HTMLTableCellElement {
  const { from: r, to: col } = cell
  const total = totalOf(cell.counts)
  const optional = totalOf(cell.optional) > 0
  const head = h('button', {
    type: 'button',
    class: 'cell-open',
    'data-key': `cell:${r}>${col}`,
    'aria-label': `${r} to ${col}: ${fmt(total)} checks, ${countsText(cell.required)}${optional ? `; optional flows: ${countsText(cell.optional)}` : ''}. Open the details.`,
    onclick: (e) => void openDetail({ kind: 'role', from: r, to: col }, { origin: e.currentTarget })
  },
  h('span', { class: 'cell-counts' }, chips(cell.required)),
  optional ? h('span', { class: 'cell-counts cell-optional' }, h('span', { class: 'tag', text: 'optional' }), chips(cell.optional)) : null,
  h('span', { class: 'cell-more', 'aria-hidden': 'true', text: 'details ›' }))
  const ports = h('ul', { class: 'ports' })
  const external = isExternalRole(r) || isExternalRole(col)
  for (const p of cell.ports) {
    const bp = baseCell.ports.find((x) => x.protocol === p.protocol && x.port === p.port && (x.portEnd ?? null) === (p.portEnd ?? null) && x.family === p.family) ?? p
    // A port of a dual-stack run is one entry per family, each named.
    const label = portLabel({ ...p, family: runFamilies() ? p.family : null })
    const parts = p.worst === 'skipped' && external ? { head: `not tested: external end, no agent (${fmt(bp.pairs)} ${pairsWord(bp.pairs)})`, rest: '' } : portPhraseParts(p.counts, bp.pairs)
    const phrase = parts.head + parts.rest
    ports.append(h('li', {}, h('button', {
      type: 'button',
      class: `port st-${p.worst}`,
      'data-key': `port:${r}>${col}:${label}`,
      'data-protocol': p.protocol,
      'data-port': p.port,
      'data-worst': p.worst,
      'aria-label': `${label} from ${r} to ${col}: ${phrase}. Open the details.`,
      onclick: (e) => void openDetail({ kind: 'role', from: r, to: col, protocol: p.protocol, port: p.port, portEnd: p.portEnd ?? null, family: p.family }, { origin: e.currentTarget })
    }, icon(p.worst), h('span', { class: 'port-id', text: label }),
    // The tag goes in the text's column: as a grid item of its own it would push the text onto a narrow next row.
    h('span', { class: 'port-text' }, totalOf(p.required) === 0 ? h('span', { class: 'tag', text: 'optional' }) : null, h('span', { class: 'port-head', text: parts.head }), parts.rest !== '' ? h('span', { class: 'port-rest', text: parts.rest }) : null))))
  }
  return h('td', { class: `rc w-${cell.worst}`, 'data-from': r, 'data-to': col, 'data-worst': cell.worst }, head, ports)
}
