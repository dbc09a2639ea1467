import { describeReason, type Status } from '@portcheck/protocol'
import { agentGaps, gapRemedy, gapText, isAgentGap } from './agent-gaps.js'
import { cellParts } from './cell-text.js'
import { dropText, flowsLabel } from './check-text.js'
import { portFamilyLabel } from './family-text.js'
import type { Counts, RunReport } from './report.js'
import { roleMatrix, type RoleCell } from './views.js'

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** ANSI colours. Default false. */
  color?: boolean
  /** Most checks listed per status; the rest are counted. Default 50. */
  limit?: number
  /** List passing checks too. Default false. */
  verbose?: boolean
}

export const SYMBOL: Record<Status, string> = { pass: '✔', blocked: '✘', inconclusive: '?', skipped: '–' }
const TINT: Record<Status, string> = { pass: '\x1b[32m', blocked: '\x1b[31m', inconclusive: '\x1b[33m', skipped: '\x1b[90m' }

function paint (on: boolean, status: Status | 'pending', text: string): string {
  return on ? `${TINT[status === 'pending' ? 'skipped' : status]}${text}\x1b[0m` : text
}

function bold (on: boolean, text: string): string {
  return on ? `\x1b[1m${text}\x1b[22m` : text
}

function pad (text: string, width: number): string {
  // Symbols count as one column; ANSI codes count as none.
  const visible = text.replace(/\x1b\[[0-9;]*m/g, '')
  return text + ' '.repeat(Math.max(0, width - [...visible].length))
}

/** A duration for people: `1.2 s` under 10 s, else whole seconds. */
export function seconds (ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/** A role-matrix cell for the terminal, with its visible width. */
function cellText (cell: RoleCell, color: boolean): { width: number, text: string } {
  const parts = cellParts(cell)
  return { width: [...parts.map((p) => p.text).join(' · ')].length, text: parts.map((p) => paint(color, p.status, p.text)).join(' · ') }
}

function counts (c: Counts, color: boolean): string {
  return [
    `${c.checks} checks`,
    paint(color, 'pass', `✔ ${c.pass} pass`),
    paint(color, 'blocked', `✘ ${c.blocked} blocked`),
    paint(color, 'inconclusive', `? ${c.inconclusive} inconclusive`),
    paint(color, 'skipped', `– ${c.skipped} skipped`)
  ].join('   ')
}

function endpoint (host: string | null, role: string): string {
  return host ?? `(${role})`
}

function matrix (report: RunReport, color: boolean): string[] {
  // External ends run no agent: their checks are never tested, and the skipped line counts them.
  const m = roleMatrix(report.checks.filter((c) => c.from !== null && c.to !== null))
  if (m.cells.length === 0) return []
  const cells = new Map(m.cells.map((c) => [`${c.from}\0${c.to}`, cellText(c, color)]))
  const text = m.rows.map((r) => m.cols.map((col) => cells.get(`${r}\0${col}`) ?? null))
  const firstW = Math.max('from \\ to'.length, ...m.rows.map((r) => r.length)) + 2
  const colW = m.cols.map((col, j) => Math.max(col.length, ...text.map((row) => row[j]?.width ?? 1)) + 2)
  const out = ['', bold(color, 'Role matrix (checks between hosts; rows are sources, columns targets; optional flows marked, never in the verdict)')]
  out.push('  ' + pad('from \\ to', firstW) + m.cols.map((col, j) => pad(col, colW[j] ?? 0)).join(''))
  m.rows.forEach((r, i) => {
    out.push('  ' + pad(r, firstW) + (text[i] ?? []).map((cell, j) => pad(cell === null ? '·' : cell.text, colW[j] ?? 0)).join(''))
  })
  return out
}

interface ListingOptions { color: boolean, limit: number }

function listing (report: RunReport, status: Status, title: string, opts: ListingOptions): string[] {
  const all = report.checks.filter((c) => c.status === status)
  if (all.length === 0) return []
  const out = ['', bold(opts.color, paint(opts.color, status, `${SYMBOL[status]} ${title} (${all.length})`))]
  // A missing agent is one line per host, not one per check it left unproven.
  const gaps = status === 'inconclusive' ? agentGaps(all, report.agents.launchErrors) : []
  for (const g of gaps) out.push(`  ${gapText(g)}`, `      to fix: ${gapRemedy(g)}`)
  const list = gaps.length > 0 ? all.filter((c) => !isAgentGap(c)) : all
  if (list.length === 0) return out
  const shown = list.slice(0, opts.limit)
  const families = report.dualStack
  const fromW = Math.max(...shown.map((c) => endpoint(c.from, c.fromRole).length))
  const toW = Math.max(...shown.map((c) => endpoint(c.to, c.toRole).length))
  for (const c of shown) {
    out.push(`  ${pad(endpoint(c.from, c.fromRole), fromW)} → ${pad(endpoint(c.to, c.toRole), toW)}  ${pad(portFamilyLabel(c, families), families ? 16 : 11)} ${pad(c.reason ?? '', 17)} ${flowsLabel(c)}`)
    if (status !== 'pass' && status !== 'skipped') {
      if (c.detail !== null) out.push(`      ${c.detail}`)
      const dropped = dropText(c)
      if (dropped !== null) out.push(`      dropped ${dropped}`)
      if (c.remedy !== null) out.push(`      to fix: ${c.remedy}`)
    }
    for (const note of c.notes) out.push(`      note: ${note}`)
  }
  if (list.length > shown.length) out.push(`  … and ${list.length - shown.length} more (see --format json)`)
  return out
}

/** Renders a report for a terminal: summary, role matrix, then what is blocked and why. */
export function formatTable (report: RunReport, options: TableOptions = {}): string {
  const opts = { color: options.color ?? false, limit: options.limit ?? 50, verbose: options.verbose ?? false }
  const color = opts.color
  const out: string[] = []
  out.push(bold(color, `portcheck · ${report.catalogTitle} (${report.catalog}) · run ${report.id}`))
  out.push(`  ${runFacts(report)}`)
  out.push(`  all:      ${counts(report.summary, color)}`)
  out.push(`  required: ${counts(report.required, color)}`)
  if (report.localization !== null && report.localization.candidates > 0) out.push(`  ${report.localization.text}`)
  out.push(...matrix(report, color))
  out.push(...listing(report, 'blocked', 'Blocked', opts))
  out.push(...listing(report, 'inconclusive', 'Inconclusive', opts))
  if (opts.verbose) out.push(...listing(report, 'pass', 'Passed', opts))
  const skipped = report.checks.filter((c) => c.status === 'skipped')
  if (skipped.length > 0) {
    const by = new Map<string, number>()
    for (const c of skipped) by.set(c.reason ?? '', (by.get(c.reason ?? '') ?? 0) + 1)
    out.push('', paint(color, 'skipped', `– Skipped (${skipped.length}): ${[...by].map(([r, n]) => `${r} ${n}`).join(', ')}; not tested by design`))
    if (opts.verbose) out.push(...listing(report, 'skipped', 'Skipped', opts).slice(2))
  }
  out.push('')
  const verdict = verdictLine(report)
  out.push(verdict.status === null ? verdict.text : bold(color, paint(color, verdict.status, verdict.text)))
  return out.join('\n') + '\n'
}

/** Duration, probe timeout and agents, in one line: `1.2 s · probe timeout 3.0 s · agents 4/5 (missing: db2)`. */
export function runFacts (report: RunReport): string {
  const a = report.agents
  const names = (label: string, list: readonly string[]): string => list.length > 0 ? ` (${label}: ${list.join(', ')})` : ''
  return `${seconds(report.durationMs)} · probe timeout ${report.adaptive ? `auto (at most ${seconds(report.timeoutMs)})` : seconds(report.timeoutMs)} · agents ${a.joined}/${a.expected}${names('missing', a.missing)}${names('lost', a.lost)}${names('misplaced', a.misplaced)}`
}

/** The verdict in one line, as the table and Markdown reports end (status null while running). */
export function verdictLine (report: RunReport): { status: Status | null, text: string } {
  if (report.verdict === null) return { status: null, text: `Run ${report.state}: ${report.progress.done}/${report.progress.total} checks done` }
  if (report.state === 'aborted') {
    return { status: 'inconclusive', text: `INTERRUPTED: the run was stopped before it finished; ${report.required.blocked} required check(s) blocked so far, ${report.required.inconclusive} not proven (exit ${report.exitCode ?? 130})` }
  }
  switch (report.verdict) {
    case 'pass': return { status: 'pass', text: `PASS: every required flow is open (exit ${report.exitCode ?? 0})` }
    case 'blocked': return { status: 'blocked', text: `BLOCKED: ${report.required.blocked} required check(s) blocked (exit ${report.exitCode ?? 1})` }
    default: return { status: 'inconclusive', text: `INCONCLUSIVE: nothing required is blocked, but ${report.required.inconclusive} required check(s) could not be proven (exit ${report.exitCode ?? 3})` }
  }
}

/** Every (status, reason) pair that occurs in a report, in order of first occurrence, with what it means. */
export function reasonMeanings (report: RunReport): Array<{ status: Status, reason: string, text: string }> {
  const seen = new Set<string>()
  const out: Array<{ status: Status, reason: string, text: string }> = []
  for (const c of report.checks) {
    if (c.status === null || c.reason === null) continue
    const key = `${c.status}/${c.reason}`
    if (seen.has(key)) continue
    seen.add(key)
    const text = describeReason(c.status, c.reason)
    if (text !== undefined) out.push({ status: c.status, reason: c.reason, text })
  }
  return out
}

/** Explains every reason that occurs in a report, for a legend under the table. */
export function reasonLegend (report: RunReport): string[] {
  return reasonMeanings(report).map((m) => `  ${m.status} ${m.reason}: ${m.text}`)
}
