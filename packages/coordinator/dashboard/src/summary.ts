// The run summary: the verdict (or progress while running), the counts of required and of all
// checks as chips that filter, and a line about the run.
import type { Counts } from '../../src/report/report.js'
import type { ChecksPage } from '../../src/server/api-types.js'
import { api, runPath } from './api.js'
import { $, h, icon } from './dom.js'
import { setFilters } from './filters.js'
import { duration, clock, fmt } from './format.js'
import { renderRerunDifference } from './rerun-diff.js'
import { isFinal, shownRun, state } from './state.js'
import { CHIP_ORDER, STATUS, VERDICTS, type ShownStatus } from './statuses.js'

/** Renders the summary of the shown run, or says there is none. */
export function renderSummary (): void {
  const run = shownRun()
  const box = $('verdict')
  const bar = $('progress-bar', HTMLProgressElement)
  const reqRow = $('count-required')
  const allRow = $('count-all')
  if (run === null) {
    box.className = 'verdict verdict-none'
    $('verdict-icon').textContent = '○'
    $('verdict-title').textContent = state.runs.length === 0 ? 'No run yet' : 'Run not found'
    $('verdict-sub').textContent = state.runs.length === 0 ? 'Start a run to check every documented flow.' : ''
    bar.hidden = true
    setProgressText('', true)
    reqRow.replaceChildren()
    allRow.replaceChildren()
    $('run-meta').replaceChildren()
    renderRerunDifference()
    return
  }
  const live = state.live !== null && state.live.id === run.id ? state.live : null
  const running = !isFinal(run)
  const catalogTitle = state.catalog?.title ?? ''
  const verdict = run.verdict !== null ? VERDICTS[run.verdict] : null
  document.title = running ? `… running · portcheck · ${catalogTitle}` : `${verdict?.icon ?? ''} ${verdict?.title ?? run.state} · portcheck · ${catalogTitle}`
  if (running) {
    box.className = 'verdict verdict-running'
    $('verdict-icon').textContent = '…'
    $('verdict-title').textContent = `Running: ${live?.state ?? run.state}`
    $('verdict-sub').textContent = 'the verdict comes when every check is done'
    const done = live?.done ?? run.progress.done
    const total = live?.total ?? run.progress.total
    bar.hidden = false
    bar.max = Math.max(1, total)
    bar.value = done
    setProgressText(`${fmt(done)} of ${fmt(total)} checks done · ${duration(live?.elapsedMs ?? run.durationMs)} elapsed`)
  } else {
    const v = verdict ?? { icon: '·', title: run.state, text: '' }
    const aborted = run.state === 'aborted'
    box.className = `verdict verdict-${run.verdict ?? 'none'}${aborted ? ' verdict-aborted' : ''}`
    $('verdict-icon').textContent = v.icon
    $('verdict-title').textContent = aborted ? `Aborted · ${v.title}` : v.title
    // The exit code `portcheck run` gives for this verdict, as the coordinator reports it.
    const code = run.exitCode
    $('verdict-sub').textContent = `${code !== null ? `exit code ${code}: ` : ''}${v.text}${aborted ? ' (run stopped early: unfinished checks are inconclusive)' : ''}`
    bar.hidden = true
    setProgressText(`${run.state} · ${fmt(run.progress.done)} of ${fmt(run.progress.total)} checks · took ${duration(run.durationMs)}`, true)
  }
  reqRow.replaceChildren(...chips(run.required, 'Required', running))
  allRow.replaceChildren(...chips(run.summary, `All ${fmt(run.summary.checks)}`, running))
  const meta = [`run ${run.id}`, `started ${clock(run.startedAt)}`]
  const optional = state.optionalSkipped.get(run.id)
  if (optional !== undefined && optional > 0) meta.push(`${fmt(optional)} optional not checked`)
  const localization = run.localization !== null && run.localization.candidates > 0 ? h('span', { class: 'run-localization', text: ` · ${run.localization.text}` }) : null
  $('run-meta').replaceChildren(h('span', { text: meta.join(' · ') }), ...(localization !== null ? [localization] : []))
  renderRerunDifference()
}

/** A row of count chips, each a button that filters on its status; while running, with the pending ones. */
function chips (counts: Counts, label: string, withPending: boolean): Array<HTMLElement> {
  const row: HTMLElement[] = [h('span', { class: 'count-label', text: label })]
  const pending = Math.max(0, counts.checks - counts.pass - counts.blocked - counts.inconclusive - counts.skipped)
  const shown: ShownStatus[] = [...CHIP_ORDER, ...(withPending && pending > 0 ? ['pending' as const] : [])]
  for (const s of shown) {
    const n = s === 'pending' ? pending : counts[s]
    const words = STATUS[s].counted
    row.push(h('button', {
      type: 'button',
      class: `chip st-${s}${n === 0 ? ' chip-zero' : ''}`,
      'data-status': s,
      title: `Show ${words} checks only`,
      onclick: () => setFilters({ status: s })
    }, icon(s), h('strong', { text: fmt(n) }), ` ${words}`))
  }
  return row
}

let lastProgressText = ''
let progressTimer: ReturnType<typeof setTimeout> | null = null
/**
 * The aria-live progress line: while a run goes on, at most one update a second, so screen
 * readers are not flooded; a final state (`now`) is shown at once.
 */
function setProgressText (text: string, now = false): void {
  const el = $('progress')
  lastProgressText = text
  if (now) {
    if (progressTimer !== null) clearTimeout(progressTimer)
    progressTimer = null
    el.textContent = text
    return
  }
  if (progressTimer !== null || el.textContent === text) return
  el.textContent = text
  progressTimer = setTimeout(() => {
    progressTimer = null
    if (el.textContent !== lastProgressText) el.textContent = lastProgressText
  }, 1000)
}

/** Counts, once per finished run, the optional checks it skipped: the summary mentions them. */
export async function loadOptionalSkipped (): Promise<void> {
  const run = shownRun()
  if (run === null || state.optionalSkipped.has(run.id) || !isFinal(run)) return
  try {
    const r = await api<ChecksPage>(runPath('/checks?status=skipped&reason=optional&limit=1'))
    state.optionalSkipped.set(run.id, r.total)
    renderSummary()
  } catch { /* only a hint */ }
}
