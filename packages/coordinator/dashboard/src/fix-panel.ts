// "What to open": the first blocked checks of the shown run (then inconclusive ones), each
// with the firewall rule to open, under the global filters; then the rules themselves, per
// host and format (fix-rules.ts).
import type { ChecksPage } from '../../src/server/api-types.js'
import { api, describeError, filterQuery, isUnauthorized, runPath } from './api.js'
import { openDetail } from './details.js'
import { $, badge, h, icon } from './dom.js'
import { setFilters } from './filters.js'
import { loadFixRules } from './fix-rules.js'
import { fmt, portLabel, shownFamily } from './format.js'
import { isFinal, shownRun, state } from './state.js'
import { STATUS, reasonMeaning } from './statuses.js'

/** Checks listed at most. */
const FIX_LIMIT = 12

let fixSeq = 0
/** Loads and renders "what to open"; a later call wins over one still loading. */
export async function loadFix (): Promise<void> {
  const seq = ++fixSeq
  const body = $('fix-body')
  const run = shownRun()
  if (run === null) {
    body.replaceChildren(h('p', { class: 'hint', text: 'Nothing yet: the blocked flows of a run, and what to open for each, show here.' }))
    return
  }
  try {
    const checks = (status: 'blocked' | 'inconclusive', limit: number): Promise<ChecksPage> => api<ChecksPage>(runPath(`/checks?${filterQuery({ status, limit }).toString()}`))
    const blocked = await checks('blocked', FIX_LIMIT)
    // Inconclusive checks fill the room left; with none left, one is asked for, for the total.
    const inconclusive = await checks('inconclusive', blocked.checks.length < FIX_LIMIT ? FIX_LIMIT - blocked.checks.length : 1)
    if (seq !== fixSeq) return
    const list = [...blocked.checks, ...inconclusive.checks]
    const filtered = state.filters.protocol !== '' || state.filters.role !== '' || state.filters.port !== '' || state.filters.required
    const finished = isFinal(run)
    const parts: HTMLElement[] = []
    if (blocked.total === 0 && inconclusive.total === 0) {
      parts.push(h('p', { class: 'all-clear' }, badge(finished ? 'pass' : 'pending', finished ? 'Nothing to open' : 'Nothing blocked so far'),
        ` ${filtered ? 'among the filtered checks' : finished ? ': every checked flow passed or was skipped by design' : ''}`))
    } else {
      parts.push(h('p', { class: 'fix-summary' },
        blocked.total > 0 ? h('button', { type: 'button', class: 'chip st-blocked', onclick: () => void openDetail({ kind: 'status', status: 'blocked' }, { origin: null }) }, icon('blocked'), h('strong', { text: fmt(blocked.total) }), ' blocked') : null,
        inconclusive.total > 0 ? h('button', { type: 'button', class: 'chip st-inconclusive', onclick: () => void openDetail({ kind: 'status', status: 'inconclusive' }, { origin: null }) }, icon('inconclusive'), h('strong', { text: fmt(inconclusive.total) }), ' inconclusive') : null,
        filtered ? h('span', { class: 'hint', text: ' (filtered)' }) : null))
      const ol = h('ol', { class: 'fix-list' })
      for (const c of list) {
        const from = c.from ?? `(${c.fromRole})`
        const to = c.to ?? `(${c.toRole})`
        const status = c.status ?? 'pending'
        ol.append(h('li', { class: `fix-item st-border-${status}` }, h('button', {
          type: 'button',
          class: 'fix-open',
          'data-index': c.index,
          onclick: (e) => void openDetail({ kind: 'host', from, to, protocol: c.protocol, port: c.port, portEnd: c.portEnd ?? null, family: c.family }, { origin: e.currentTarget })
        },
        h('span', { class: 'fix-line' }, badge(status, c.reason ?? STATUS[status].label), h('span', { class: 'port-id', text: portLabel({ ...c, family: shownFamily(c) }) })),
        h('span', { class: 'fix-route', text: `${from} → ${to}` }),
        h('span', { class: 'fix-remedy', text: c.remedy !== null ? `to fix: ${c.remedy}` : reasonMeaning(c.status, c.reason) ?? '' }))))
      }
      parts.push(ol)
      const total = blocked.total + inconclusive.total
      if (total > list.length) parts.push(h('p', { class: 'hint' }, `${fmt(total - list.length)} more: `, h('button', { type: 'button', class: 'btn-link', text: 'show blocked only', onclick: () => setFilters({ status: 'blocked' }) })))
    }
    const rules = h('div', { id: 'fix-rules', class: 'fix-rules' })
    body.replaceChildren(...parts, rules)
    await loadFixRules(rules)
  } catch (err) {
    if (seq === fixSeq && !isUnauthorized(err)) body.replaceChildren(h('p', { class: 'error-text', text: describeError(err) }))
  }
}
