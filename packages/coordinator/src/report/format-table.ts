import { describeReason, type Status } from '@portcheck/protocol'
import { remedy } from './remedy.js'
import type { CheckReport, Counts, RunReport } from './report.js'

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** ANSI colours. Default false. */
  color?: boolean
  /** Most checks listed per status; the rest are counted. Default 50. */
  limit?: number
  /** List passing checks too. Default false. */
  verbose?: boolean
  /** Flow purposes by flow id, to say what a blocked port is for. */
  purposes?: ReadonlyMap<string, string>
}

export const SYMBOL: Record<Status, string> = { pass: '✔', blocked: '✘', inconclusive: '?', skipped: '–' }
const TINT: Record<Status, string> = { pass: '\x1b[32m', blocked: '\x1b[31m', inconclusive: '\x1b[33m', skipped: '\x1b[90m' }

function paint (on: boolean, status: Status, text: string): string {
  return on ? `${TINT[status]}${text}\x1b[0m` : text
}

function bold (on: boolean, text: string): string {
  return on ? `\x1b[1m${text}\x1b[22m` : text
}

function pad (text: string, width: number): string {
  // Symbols count as one column; ANSI codes count as none.
  const visible = text.replace(/\x1b\[[0-9;]*m/g, '')
  return text + ' '.repeat(Math.max(0, width - [...visible].length))
}

function seconds (ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/** One cell of the role matrix: the worst state among the required checks between two roles. */
export function roleCell (checks: readonly CheckReport[]): { status: Status, text: string } | null {
  if (checks.length === 0) return null
  const tested = checks.filter((c) => c.status !== 'skipped')
  if (tested.length === 0) return { status: 'skipped', text: `– ${checks[0]?.reason ?? 'skipped'}` }
  const n = (s: Status): number => tested.filter((c) => c.status === s).length
  if (n('blocked') > 0) return { status: 'blocked', text: `✘ ${n('blocked')} of ${tested.length} blocked` }
  if (n('inconclusive') > 0) return { status: 'inconclusive', text: `? ${n('inconclusive')} of ${tested.length} unproven` }
  if (tested.some((c) => c.status === null)) return { status: 'skipped', text: `… ${tested.length}` }
  return { status: 'pass', text: `✔ ${tested.length}` }
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
  const required = report.checks.filter((c) => c.required && c.from !== null && c.to !== null)
  if (required.length === 0) return []
  const rows = [...new Set(required.map((c) => c.fromRole))]
  const cols = [...new Set(required.map((c) => c.toRole))]
  const cells = new Map<string, CheckReport[]>()
  for (const c of required) {
    const k = `${c.fromRole}\0${c.toRole}`
    const list = cells.get(k) ?? []
    list.push(c)
    cells.set(k, list)
  }
  const text = rows.map((r) => cols.map((col) => roleCell(cells.get(`${r}\0${col}`) ?? [])))
  const firstW = Math.max('from \\ to'.length, ...rows.map((r) => r.length)) + 2
  const colW = cols.map((col, j) => Math.max(col.length, ...text.map((row) => row[j]?.text.length ?? 1)) + 2)
  const out = ['', bold(color, 'Role matrix (required checks between hosts; rows are sources, columns targets)')]
  out.push('  ' + pad('from \\ to', firstW) + cols.map((col, j) => pad(col, colW[j] ?? 0)).join(''))
  rows.forEach((r, i) => {
    out.push('  ' + pad(r, firstW) + (text[i] ?? []).map((cell, j) => pad(cell === null ? '·' : paint(color, cell.status, cell.text), colW[j] ?? 0)).join(''))
  })
  return out
}

interface ListingOptions { color: boolean, limit: number, purposes: ReadonlyMap<string, string> | undefined }

function listing (report: RunReport, status: Status, title: string, opts: ListingOptions): string[] {
  const list = report.checks.filter((c) => c.status === status)
  if (list.length === 0) return []
  const out = ['', bold(opts.color, paint(opts.color, status, `${SYMBOL[status]} ${title} (${list.length})`))]
  const shown = list.slice(0, opts.limit)
  const fromW = Math.max(...shown.map((c) => endpoint(c.from, c.fromRole).length))
  const toW = Math.max(...shown.map((c) => endpoint(c.to, c.toRole).length))
  for (const c of shown) {
    const port = `${c.protocol}/${c.port}${c.portEnd !== undefined ? `-${c.portEnd}` : ''}`
    const purpose = c.flowIds.map((id) => opts.purposes?.get(id)).find((p) => p !== undefined)
    const flows = `${c.flowIds.join(', ')}${purpose !== undefined ? `: ${purpose}` : ''}${c.required ? '' : ' (optional)'}`
    out.push(`  ${pad(endpoint(c.from, c.fromRole), fromW)} → ${pad(endpoint(c.to, c.toRole), toW)}  ${pad(port, 11)} ${pad(c.reason ?? '', 17)} ${flows}`)
    if (status !== 'pass' && status !== 'skipped') {
      if (c.detail !== null) out.push(`      ${c.detail}`)
      const fix = remedy(c)
      if (fix !== null) out.push(`      to fix: ${fix}`)
    }
    for (const note of c.notes) out.push(`      note: ${note}`)
  }
  if (list.length > shown.length) out.push(`  … and ${list.length - shown.length} more (see --format json)`)
  return out
}

/** Renders a report for a terminal: summary, role matrix, then what is blocked and why. */
export function formatTable (report: RunReport, options: TableOptions = {}): string {
  const opts = { color: options.color ?? false, limit: options.limit ?? 50, verbose: options.verbose ?? false, purposes: options.purposes }
  const color = opts.color
  const out: string[] = []
  out.push(bold(color, `portcheck · ${report.catalogTitle} (${report.catalog}) · run ${report.id}`))
  out.push(`  ${seconds(report.durationMs)} · probe timeout ${report.adaptive ? `auto (at most ${seconds(report.timeoutMs)})` : seconds(report.timeoutMs)} · agents ${report.agents.joined}/${report.agents.expected}${report.agents.missing.length > 0 ? ` (missing: ${report.agents.missing.join(', ')})` : ''}${report.agents.lost.length > 0 ? ` (lost: ${report.agents.lost.join(', ')})` : ''}${report.agents.misplaced.length > 0 ? ` (misplaced: ${report.agents.misplaced.join(', ')})` : ''}`)
  out.push(`  all:      ${counts(report.summary, color)}`)
  out.push(`  required: ${counts(report.required, color)}`)
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
  if (report.verdict === null) out.push(`Run ${report.state}: ${report.progress.done}/${report.progress.total} checks done`)
  else if (report.state === 'aborted') {
    out.push(bold(color, paint(color, 'inconclusive', `INTERRUPTED: the run was stopped before it finished; ${report.required.blocked} required check(s) blocked so far, ${report.required.inconclusive} not proven (exit ${report.exitCode ?? 130})`)))
  } else {
    const v = report.verdict
    const line = v === 'pass'
      ? `PASS: every required flow is open (exit ${report.exitCode ?? 0})`
      : v === 'blocked'
        ? `BLOCKED: ${report.required.blocked} required check(s) blocked (exit ${report.exitCode ?? 1})`
        : `INCONCLUSIVE: nothing required is blocked, but ${report.required.inconclusive} required check(s) could not be proven (exit ${report.exitCode ?? 3})`
    out.push(bold(color, paint(color, v === 'pass' ? 'pass' : v === 'blocked' ? 'blocked' : 'inconclusive', line)))
  }
  return out.join('\n') + '\n'
}

/** Explains every reason that occurs in a report, for a legend under the table. */
export function reasonLegend (report: RunReport): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const c of report.checks) {
    if (c.status === null || c.reason === null) continue
    const key = `${c.status}/${c.reason}`
    if (seen.has(key)) continue
    seen.add(key)
    const text = describeReason(c.status, c.reason)
    if (text !== undefined) out.push(`  ${c.status} ${c.reason}: ${text}`)
  }
  return out
}
