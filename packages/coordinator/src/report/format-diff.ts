import { flowsLabel } from './check-text.js'
import { portFamilyLabel } from './family-text.js'
import { mdCell } from './markdown-text.js'
import { CHANGES, type Change, type CheckChange, type CheckState, type ReportDiff } from './report-diff.js'

/** Options of the diff formats. */
export interface DiffFormatOptions {
  /** Most checks listed per kind of change; the rest are counted. Default 50. */
  limit?: number
}

const TITLE: Record<Change, string> = {
  'newly-broken': 'Newly broken',
  fixed: 'Fixed',
  'still-failing': 'Still blocked or unproven',
  changed: 'Changed otherwise',
  'only-before': 'Only in the first report',
  'only-after': 'Only in the second report',
  unchanged: 'Unchanged'
}

const MARK: Record<Change, string> = { 'newly-broken': '✘', fixed: '✔', 'still-failing': '?', changed: '~', 'only-before': '-', 'only-after': '+', unchanged: '=' }

/** Whether a kind of change is only counted, never listed: what stayed the same, and what a re-run of failed checks did not repeat. */
function countedOnly (diff: ReportDiff, change: Change): boolean {
  return change === 'unchanged' || (change === 'only-before' && diff.after.rerunOf === diff.before.id)
}

function stateText (s: CheckState | null): string {
  if (s === null) return '(absent)'
  if (s.status === null) return 'pending'
  return s.reason !== null ? `${s.status} ${s.reason}` : s.status
}

function endpoints (c: CheckChange): string {
  return `${c.from ?? `(${c.fromRole})`} → ${c.to ?? `(${c.toRole})`}`
}

function countsLine (diff: ReportDiff): string {
  const label = (c: Change): string => c === 'only-before' && countedOnly(diff, c) ? 'not re-checked' : TITLE[c].toLowerCase()
  return CHANGES.filter((c) => diff.counts[c] > 0 || c === 'fixed' || c === 'newly-broken' || c === 'still-failing' || c === 'unchanged').map((c) => `${label(c)} ${diff.counts[c]}`).join(' · ')
}

function sideText (s: ReportDiff['before']): string {
  return `run ${s.id} (${s.startedAt}, ${s.verdict ?? 'unfinished'}${s.rerunOf !== null ? `, a re-check of ${s.rerunOf}` : ''})`
}

/** A diff for a terminal: the counts, then each kind of change with its checks. */
export function formatDiffTable (diff: ReportDiff, options: DiffFormatOptions = {}): string {
  const limit = options.limit ?? 50
  const out = [`portcheck diff · ${diff.catalogTitle} (${diff.catalog})`, `  before: ${sideText(diff.before)}`, `  after:  ${sideText(diff.after)}`, `  ${countsLine(diff)}`]
  for (const change of CHANGES) {
    if (countedOnly(diff, change)) continue
    const list = diff.changes.filter((c) => c.change === change)
    if (list.length === 0) continue
    out.push('', `${MARK[change]} ${TITLE[change]} (${list.length})`)
    const shown = list.slice(0, limit)
    const families = diff.dualStack
    const portLabel = (c: CheckChange): string => portFamilyLabel(c, families)
    const endW = Math.max(...shown.map((c) => [...endpoints(c)].length))
    const portW = Math.max(...shown.map((c) => portLabel(c).length))
    const beforeW = Math.max(...shown.map((c) => stateText(c.before).length))
    const afterW = Math.max(...shown.map((c) => stateText(c.after).length))
    for (const c of shown) {
      out.push(`  ${endpoints(c).padEnd(endW)}  ${portLabel(c).padEnd(portW)}  ${stateText(c.before).padEnd(beforeW)} → ${stateText(c.after).padEnd(afterW)}  ${flowsLabel(c)}`)
      if (c.remedy !== null && change !== 'still-failing') out.push(`      to fix: ${c.remedy}`)
      else if (c.remedy !== null) out.push(`      still to fix: ${c.remedy}`)
    }
    if (list.length > shown.length) out.push(`  … and ${list.length - shown.length} more (see --format json)`)
  }
  return out.join('\n') + '\n'
}

/** A diff in Markdown, for a ticket or a pull request. */
export function formatDiffMarkdown (diff: ReportDiff, options: DiffFormatOptions = {}): string {
  const limit = options.limit ?? 50
  const out = [`## portcheck diff: ${mdCell(diff.catalogTitle)} (\`${diff.catalog}\`)`, '', `- before: ${mdCell(sideText(diff.before))}`, `- after: ${mdCell(sideText(diff.after))}`, '', `**${countsLine(diff)}**`]
  for (const change of CHANGES) {
    if (countedOnly(diff, change)) continue
    const list = diff.changes.filter((c) => c.change === change)
    if (list.length === 0) continue
    // Only what still fails has something to fix.
    const fix = list.some((c) => c.remedy !== null)
    out.push('', `### ${MARK[change]} ${TITLE[change]} (${list.length})`, '', `| source | target | port | before | after | flows |${fix ? ' to fix |' : ''}`, `| --- | --- | --- | --- | --- | --- |${fix ? ' --- |' : ''}`)
    for (const c of list.slice(0, limit)) {
      const cells = [c.from ?? `(${c.fromRole})`, c.to ?? `(${c.toRole})`, portFamilyLabel(c, diff.dualStack), stateText(c.before), stateText(c.after), flowsLabel(c), ...(fix ? [c.remedy ?? ''] : [])]
      out.push(`| ${cells.map(mdCell).join(' | ')} |`)
    }
    if (list.length > limit) out.push('', `… and ${list.length - limit} more (see \`portcheck diff --format json\`).`)
  }
  return out.join('\n') + '\n'
}
