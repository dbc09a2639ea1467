// A re-run's difference to the run it repeats, in the summary: how many of the checks it
// re-checked are fixed, still failing and newly broken, and those checks (the first ones of each
// kind, as the History view lists a difference: change-line.ts). From GET /api/runs/:id/difference,
// once the re-run has ended; a finished run's difference never changes, so it is loaded once.
import type { Change, CheckChange } from '../../src/report/report-diff.js'
import type { RerunDifferenceResponse, RunListEntry } from '../../src/server/api-types.js'
import { api, describeError, isUnauthorized } from './api.js'
import { changeLine } from './change-line.js'
import { $, h } from './dom.js'
import { clock, fmt } from './format.js'
import { isFinal, shownRun, state } from './state.js'

/** Checks listed per kind of change, at most: the counts are whole. */
export const LISTED_PER_KIND = 50
/** Differences kept, of the runs shown last. */
const KEPT = 10

/** The kinds of change a re-run can show, in the order they are listed; always counted: the first three. */
const KINDS: ReadonlyArray<{ change: Change, title: string, always: boolean }> = [
  { change: 'fixed', title: 'fixed', always: true },
  { change: 'still-failing', title: 'still failing', always: true },
  { change: 'newly-broken', title: 'newly broken', always: true },
  { change: 'changed', title: 'changed otherwise', always: false },
  { change: 'only-after', title: 'not in the run before', always: false }
]

/** Each re-run's difference, or why it could not be loaded, by run id. */
const loaded = new Map<string, RerunDifferenceResponse | { error: string }>()
let loading: string | null = null

/** "re-run of 10:14:03", for the run picker: the start of the run it repeats, or its id when that run is not listed. */
export function rerunLabel (run: RunListEntry): string | null {
  if (run.rerunOf === null) return null
  const original = state.runs.find((r) => r.id === run.rerunOf)
  return `re-run of ${original !== undefined ? clock(original.startedAt) : `run ${run.rerunOf}`}`
}

/** Shows the shown run's difference to the run it repeats, if it is a re-run; loads it once it has ended. */
export function renderRerunDifference (): void {
  const box = $('rerun-diff')
  const run = shownRun()
  if (run === null || run.rerunOf === null) { show(box, '', []); return }
  if (!isFinal(run)) { show(box, `${run.id}:running`, [h('p', { class: 'rerun-diff-sub', text: `${capitalized(rerunLabel(run))}: what changed shows when it ends.` })]); return }
  const got = loaded.get(run.id)
  if (got === undefined) {
    show(box, `${run.id}:loading`, [h('p', { class: 'rerun-diff-sub', text: `${capitalized(rerunLabel(run))}: loading what changed…` })])
    if (loading !== run.id) void load(run.id)
    return
  }
  if ('error' in got) { show(box, `${run.id}:error`, [h('p', { class: 'error-text', text: `Could not load what the re-run changed: ${got.error}` })]); return }
  show(box, `${run.id}:done`, difference(got))
}

async function load (id: string): Promise<void> {
  loading = id
  try {
    const res = await api<RerunDifferenceResponse>(`/api/runs/${encodeURIComponent(id)}/difference`)
    keep(id, res)
  } catch (err) {
    if (isUnauthorized(err)) return
    keep(id, { error: describeError(err) })
  } finally {
    if (loading === id) loading = null
  }
  if (state.runId === id) renderRerunDifference()
}

function keep (id: string, value: RerunDifferenceResponse | { error: string }): void {
  loaded.set(id, value)
  for (const old of loaded.keys()) { if (loaded.size <= KEPT) break; loaded.delete(old) }
}

/** Replaces the box's content only when it says something else: a redraw would close the list under the reader. */
function show (box: HTMLElement, sig: string, children: HTMLElement[]): void {
  box.hidden = sig === ''
  if (box.dataset.sig === sig) return
  box.dataset.sig = sig
  box.replaceChildren(...children)
}

const capitalized = (s: string | null): string => s === null ? '' : `${s.charAt(0).toUpperCase()}${s.slice(1)}`

/** The counts line, and the checks of each kind under a disclosure. */
function difference (res: RerunDifferenceResponse): HTMLElement[] {
  const d = res.difference
  const kinds = KINDS.filter((k) => k.always || d.counts[k.change] > 0)
  const counts = kinds.map((k, i) => [i > 0 ? ' · ' : '', h('span', { class: `rerun-count rerun-${k.change}`, 'data-change': k.change, 'data-count': d.counts[k.change] }, h('strong', { text: fmt(d.counts[k.change]) }), ` ${k.title}`)])
  const sub = h('p', { class: 'rerun-diff-sub' }, `Re-run of the run of ${clock(d.before.startedAt)} (${fmt(d.after.checks)} of its ${fmt(d.before.checks)} checks): `, ...counts.flat())
  const byKind = new Map<Change, CheckChange[]>()
  for (const c of d.changes) {
    const list = byKind.get(c.change) ?? []
    if (list.length < LISTED_PER_KIND) list.push(c)
    byKind.set(c.change, list)
  }
  const sections = kinds.filter((k) => d.counts[k.change] > 0).map((k) => {
    const list = byKind.get(k.change) ?? []
    return h('div', { class: `rerun-kind rerun-kind-${k.change}` },
      h('h3', { text: `${capitalized(k.title)}: ${fmt(d.counts[k.change])}` }),
      h('ol', { class: 'tl-checks' }, ...list.map(changeLine)),
      list.length < d.counts[k.change] ? h('p', { class: 'hint', text: `The first ${fmt(list.length)} of ${fmt(d.counts[k.change])} are listed; the two runs' reports (Export) hold them all.` }) : null)
  })
  if (sections.length === 0) return [sub]
  return [sub, h('details', { class: 'rerun-diff-list' }, h('summary', { text: 'The re-checked checks' }), ...sections)]
}
