// The details panel: the checks behind a matrix cell, a port or a status, worst first and
// paged, each with why it ended so, the evidence, and what to open. Escape closes it and
// returns focus to where the operator was.
import { dropText } from '../../src/report/check-text.js'
import type { CheckDetail } from '../../src/report/views.js'
import type { ChecksPage } from '../../src/server/api-types.js'
import { api, describeError, filterQuery, isUnauthorized, runPath } from './api.js'
import { $, badge, h } from './dom.js'
import { fmt, portLabel, runFamilies, shownFamily } from './format.js'
import { state, type DetailSpec } from './state.js'
import { SEVERITY, STATUS, meaningDefersToDetail, reasonMeaning, totalOf, type ShownStatus } from './statuses.js'

/** Checks loaded at a time. */
const DETAIL_PAGE = 100

function detailTitle (spec: DetailSpec): string {
  if (spec.kind === 'status') return `${STATUS[spec.status].label} checks`
  const port = spec.port !== undefined && spec.protocol !== undefined ? ` · ${portLabel({ protocol: spec.protocol, port: spec.port, portEnd: spec.portEnd, family: runFamilies() ? spec.family : null })}` : ''
  return `${spec.from} → ${spec.to}${port}`
}

/** The API filter of a detail: the cell's own fields over the global filters. */
function detailQuery (spec: DetailSpec): Record<string, string | number> {
  if (spec.kind === 'status') return { status: spec.status }
  const own: Record<string, string | number> = spec.kind === 'role' ? { fromRole: spec.from, toRole: spec.to } : { from: spec.from, to: spec.to }
  if (spec.protocol !== undefined && spec.port !== undefined) { own.protocol = spec.protocol; own.port = spec.port }
  if (spec.family !== undefined && spec.family !== null) own.family = spec.family
  return own
}

/** The statuses to load, worst first; each is paged separately so blocked checks come first. */
function detailStatuses (spec: DetailSpec): readonly ShownStatus[] {
  const s = spec.kind === 'status' ? spec.status : state.filters.status
  if (s === 'failing') return ['blocked', 'inconclusive']
  if (s !== '') return [s]
  return SEVERITY
}

let detailSeq = 0
/**
 * Opens the details of `spec`. `origin` is the element that opened them (focus returns there);
 * `keepOrigin` reloads open details (filters or run changed) without moving focus.
 */
export async function openDetail (spec: DetailSpec, { origin = null, keepOrigin = false }: { origin?: HTMLElement | null, keepOrigin?: boolean } = {}): Promise<void> {
  const seq = ++detailSeq
  const prev = state.detail
  state.detail = {
    spec,
    originKey: keepOrigin ? prev?.originKey ?? null : origin?.dataset.key ?? null,
    originEl: keepOrigin ? prev?.originEl ?? null : origin,
    statuses: detailStatuses(spec),
    si: 0,
    offset: 0,
    totals: {},
    total: null,
    loaded: 0
  }
  const panel = $('detail')
  $('fix-panel').hidden = true
  panel.hidden = false
  $('detail-title').textContent = detailTitle(spec)
  $('detail-sub').textContent = 'Loading…'
  $('detail-list').replaceChildren()
  $('detail-more').replaceChildren()
  document.body.classList.add('detail-open')
  if (!keepOrigin) panel.focus()
  await loadMoreDetail(seq)
}

/** Closes the details and puts focus back where they were opened from. */
export function closeDetail (): void {
  const d = state.detail
  if (d === null) return
  detailSeq++
  state.detail = null
  $('detail').hidden = true
  $('fix-panel').hidden = false
  document.body.classList.remove('detail-open')
  // Back to where the operator was: the same cell, even if the matrix was re-rendered since.
  let target: Element | null = d.originEl !== null && d.originEl.isConnected ? d.originEl : null
  if (target === null && d.originKey !== null) target = document.querySelector(`[data-key="${CSS.escape(d.originKey)}"]`)
  if (target instanceof HTMLElement) target.focus()
  else $('view-panel').focus()
}

/** Per-status totals of a detail, so that checks can be loaded worst first and counted right. */
async function detailTotals (seq: number): Promise<boolean> {
  const d = state.detail
  if (d === null) return false
  const results = await Promise.all(d.statuses.map((status) => api<ChecksPage>(runPath(`/checks?${filterQuery({ ...detailQuery(d.spec), status, limit: 1 }).toString()}`))))
  if (seq !== detailSeq) return false
  d.statuses.forEach((s, i) => { d.totals[s] = results[i]?.total ?? 0 })
  d.total = totalOf(d.totals)
  return true
}

async function loadMoreDetail (seq: number): Promise<void> {
  const d = state.detail
  if (d === null || state.runId === null) return
  const list = $('detail-list')
  let want = DETAIL_PAGE
  try {
    if (d.total === null && !(await detailTotals(seq))) return
    while (want > 0 && d.si < d.statuses.length) {
      const status = d.statuses[d.si] as ShownStatus
      if ((d.totals[status] ?? 0) === 0) { d.si++; d.offset = 0; continue }
      const q = filterQuery({ ...detailQuery(d.spec), status, offset: d.offset, limit: want })
      const r = await api<ChecksPage>(runPath(`/checks?${q.toString()}`))
      if (seq !== detailSeq) return
      let checks = r.checks
      // A port range and a single port at its start match the same filter: keep the one clicked.
      const spec = d.spec
      if (spec.kind !== 'status' && spec.portEnd !== undefined) checks = checks.filter((c) => (c.portEnd ?? null) === spec.portEnd)
      for (const c of checks) list.append(renderCheck(c))
      d.loaded += checks.length
      d.offset += r.checks.length
      want -= r.checks.length
      if (d.offset >= r.total || r.checks.length === 0) { d.si++; d.offset = 0 }
    }
  } catch (err) {
    if (seq === detailSeq && !isUnauthorized(err)) $('detail-sub').textContent = `Could not load the checks: ${describeError(err)}`
    return
  }
  if (seq !== detailSeq) return
  const total = d.total ?? 0
  const where = d.spec.kind === 'role' ? 'every host pair of these roles' : d.spec.kind === 'host' ? 'these two hosts' : 'all hosts'
  $('detail-sub').replaceChildren(
    h('span', { text: `${fmt(total)} check${total === 1 ? '' : 's'} between ${where}${d.statuses.length > 1 ? ', worst first' : ''}:` }),
    ...SEVERITY.filter((s) => (d.totals[s] ?? 0) > 0).map((s) => badge(s, `${fmt(d.totals[s] ?? 0)} ${STATUS[s].label}`)))
  const more = $('detail-more')
  more.replaceChildren()
  if (d.si < d.statuses.length && d.loaded < total) {
    more.append(h('p', { class: 'hint', text: `Showing ${fmt(d.loaded)} of ${fmt(total)}.` }),
      h('button', { type: 'button', class: 'btn', text: `Show ${fmt(Math.min(DETAIL_PAGE, total - d.loaded))} more`, onclick: () => void loadMoreDetail(detailSeq) }))
  }
  if (total === 0) list.replaceChildren(h('li', { class: 'hint', text: 'No check matches (the filters or the run changed).' }))
}

const ECHO_TEXT: Readonly<Record<NonNullable<CheckDetail['echo']>, string>> = {
  ours: 'our acknowledgement came back',
  other: 'something else answered',
  none: 'nothing came back'
}

/**
 * The evidence of a check, as the agents measured it: the source address the target saw, the
 * attempts, the latency, what came back, and the coordinator's remarks. The reason's meaning
 * is under "Why"; the coordinator's own account of the check is repeated here only where that
 * meaning sends the reader to it ("see detail"), as for a local error.
 */
function evidence (c: CheckDetail): HTMLDListElement {
  const dl = h('dl', { class: 'check-evidence' })
  const fact = (term: string, ...value: Array<Node | string>): void => { dl.append(h('dt', { text: term }), h('dd', {}, ...value)) }
  const seen = c.observedSource
  fact('Target saw', seen !== null
    ? h('span', { class: `mono${c.fromAddress !== null && seen !== c.fromAddress ? ' mismatch' : ''}`, text: seen })
    : h('span', { text: '– (nothing arrived at the target’s listener)' }))
  fact('Attempts', c.attempts !== null ? String(c.attempts) : '–')
  fact('Latency', c.latencyMs !== null ? `${c.latencyMs < 10 ? c.latencyMs.toFixed(1) : Math.round(c.latencyMs)} ms` : '–')
  if (c.echo !== null && c.protocol === 'udp') fact('Echo', ECHO_TEXT[c.echo])
  if (c.detail !== null && c.detail !== '' && meaningDefersToDetail(c.status, c.reason)) fact('Reported', c.detail)
  for (const n of c.notes) fact('Note', n)
  return dl
}

function renderCheck (c: CheckDetail): HTMLLIElement {
  const fromName = c.from ?? `(${c.fromRole})`
  const toName = c.to ?? `(${c.toRole})`
  const status: ShownStatus = c.status ?? 'pending'
  const why = reasonMeaning(c.status, c.reason)
  const dl = h('dl', { class: 'check-facts' })
  const fact = (term: string, ...value: Array<Node | string | null>): void => { dl.append(h('dt', { text: term }), h('dd', {}, ...value)) }
  for (const f of c.flows) {
    fact('Flow', h('strong', { class: 'mono', text: f.id }), ` ${f.purpose}`, f.ref !== null ? h('span', { class: 'ref' }, ` · ref: ${f.ref}`) : null)
  }
  if (why !== null) fact('Why', why)
  // Where a blocked check was dropped, once its re-probe was traced through the hosts' nftables rules.
  if (c.status === 'blocked') {
    const dropped = dropText(c)
    fact('Dropped', dropped !== null ? h('span', { class: 'dropped', 'data-site': c.droppedAt ?? null, text: dropped }) : h('span', { class: 'hint', text: 'not localized (see the run\'s localization line)' }))
  }
  // A skipped check was never probed: it has no evidence to show.
  if (c.status !== 'skipped') fact('Detail', evidence(c))
  fact('Required', c.required ? 'yes: decides the verdict' : 'no: optional flow')
  return h('li', { class: `check st-border-${status}`, 'data-index': c.index, 'data-status': status },
    h('div', { class: 'check-head' },
      badge(status, c.reason !== null ? `${STATUS[status].label} · ${c.reason}` : STATUS[status].label),
      h('span', { class: 'port-id', text: portLabel({ ...c, family: shownFamily(c) }) })),
    h('div', { class: 'check-route' },
      h('span', { class: 'host' }, h('strong', { text: fromName }), c.fromAddress !== null ? h('span', { class: 'mono addr', text: ` ${c.fromAddress}` }) : null, h('span', { class: 'role', text: ` (${c.fromRole})` })),
      h('span', { class: 'arrow', 'aria-hidden': 'true', text: ' → ' }), h('span', { class: 'sr-only', text: ' to ' }),
      h('span', { class: 'host' }, h('strong', { text: toName }), c.toAddress !== null ? h('span', { class: 'mono addr', text: ` ${c.toAddress}` }) : null, h('span', { class: 'role', text: ` (${c.toRole})` }))),
    c.remedy !== null ? h('p', { class: 'remedy' }, h('strong', { text: 'To fix: ' }), h('span', { class: 'remedy-text', text: c.remedy })) : null,
    dl)
}

/** Wires the close button and Escape. */
export function setupDetails (): void {
  $('detail-close').addEventListener('click', () => closeDetail())
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.detail !== null && !$('token-dialog', HTMLDialogElement).open) {
      e.preventDefault()
      closeDetail()
    }
  })
}
