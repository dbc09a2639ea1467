// The difference of one complete run to the one before it, under the timeline: how many checks
// passed and fail now (blocked, or no longer provable), how many failed and pass now, per
// catalog flow and port, and the checks themselves (the first ones of each kind; the counts are
// whole). From GET /api/history/:id/difference.
import type { DifferenceResponse, FlowPortChange, HistoryEntry } from '../../src/server/api-types.js'
import { api, describeError, isUnauthorized } from './api.js'
import { changeLine } from './change-line.js'
import { h } from './dom.js'
import { clock, fmt } from './format.js'

const KINDS = [
  { key: 'newlyBlocked', title: 'Newly blocked', text: 'passed in the run before, blocked now' },
  { key: 'newlyInconclusive', title: 'No longer proven', text: 'passed in the run before, inconclusive now' },
  { key: 'fixed', title: 'Fixed', text: 'failed in the run before, pass now' }
] as const

/** Loads and renders the difference of `run` into `box`. */
export async function loadDifference (run: HistoryEntry, box: HTMLElement, isCurrent: () => boolean): Promise<void> {
  let res: DifferenceResponse
  try {
    res = await api<DifferenceResponse>(`/api/history/${encodeURIComponent(run.id)}/difference`)
  } catch (err) {
    if (isCurrent() && !isUnauthorized(err)) box.replaceChildren(h('p', { class: 'error-text', text: `Could not load what changed: ${describeError(err)}` }))
    return
  }
  if (!isCurrent()) return
  const d = res.difference
  const title = h('h2', { text: `Run of ${clock(run.startedAt)}` })
  if (d === null) {
    box.replaceChildren(title, h('p', { class: 'hint', text: 'The first complete run: nothing before it to compare with.' }))
    return
  }
  const total = d.counts.newlyBlocked + d.counts.newlyInconclusive + d.counts.fixed
  const sub = h('p', { class: 'tl-diff-sub', text: `compared with the run of ${clock(d.before.startedAt)}: ${total === 0 ? 'nothing changed' : KINDS.filter((k) => d.counts[k.key] > 0).map((k) => `${fmt(d.counts[k.key])} ${k.title.toLowerCase()}`).join(', ')}` })
  box.replaceChildren(title, sub, ...KINDS.filter((k) => d.counts[k.key] > 0).map((k) => {
    const list = d[k.key]
    return h('div', { class: `tl-kind tl-${k.key}` },
      h('h3', { text: `${k.title}: ${fmt(d.counts[k.key])}` }, h('span', { class: 'hint', text: ` (${k.text})` })),
      h('ul', { class: 'tl-flows' }, ...d.flows.filter((f) => f[k.key] > 0).map((f) => flowLine(f, k.key))),
      h('ol', { class: 'tl-checks' }, ...list.map(changeLine)),
      list.length < d.counts[k.key] ? h('p', { class: 'hint', text: `The first ${fmt(list.length)} of ${fmt(d.counts[k.key])} are listed; the two runs' reports (Export) hold them all.` }) : null)
  }))
}

function flowLine (f: FlowPortChange, key: (typeof KINDS)[number]['key']): HTMLElement {
  return h('li', { 'data-flow': f.flow }, h('strong', { text: f.flow }), ` ${f.fromRole} → ${f.toRole} `, h('code', { text: `${f.port}/${f.protocol}` }), `: ${fmt(f[key])} host pair${f[key] === 1 ? '' : 's'}`)
}
