import { emptyTally, type Catalog, type Status, type StatusTally } from '@portcheck/protocol'
import type { CheckReport, CheckRow, RunReport } from './report.js'
import { ruleText } from './check-text.js'

/** Per-status counts of a set of checks; `pending` are checks still running. */
export interface StatusCounts extends StatusTally {
  pending: number
}

/** Worst first: what a cell shows when its checks disagree, and the order of `sort=severity`. */
export const SEVERITY: ReadonlyArray<keyof StatusCounts> = ['blocked', 'inconclusive', 'pending', 'pass', 'skipped']

export function emptyLiveCounts (): StatusCounts {
  return { ...emptyTally(), pending: 0 }
}

function add (c: StatusCounts, status: Status | null): void {
  c[status ?? 'pending']++
}

/** The worst status present in counts. */
export function worstOf (c: StatusCounts): keyof StatusCounts {
  return SEVERITY.find((s) => c[s] > 0) ?? 'skipped'
}

/**
 * What a cell shows: the worst state of its required checks, which decide the verdict; of its
 * optional ones only when it has no required check. An optional flow never colours a cell that
 * has required ones: it is marked beside them.
 */
function cellWorst (required: StatusCounts, optional: StatusCounts): keyof StatusCounts {
  return worstOf(SEVERITY.some((s) => required[s] > 0) ? required : optional)
}

/** Filters on checks, as the dashboard and `GET /api/runs/:id/checks` take them. */
export interface CheckFilter {
  status?: Status | 'pending' | 'failing'
  reason?: string
  protocol?: 'tcp' | 'udp'
  port?: number
  /** Either end has this role. */
  role?: string
  fromRole?: string
  toRole?: string
  from?: string
  to?: string
  /** Only checks that decide the verdict. */
  requiredOnly?: boolean
}

/** Whether a check passes a filter. `failing` means blocked or inconclusive. */
export function matches (c: CheckRow, f: CheckFilter): boolean {
  if (f.status !== undefined) {
    if (f.status === 'pending') { if (c.status !== null) return false } else if (f.status === 'failing') { if (c.status !== 'blocked' && c.status !== 'inconclusive') return false } else if (c.status !== f.status) return false
  }
  if (f.reason !== undefined && c.reason !== f.reason) return false
  if (f.protocol !== undefined && c.protocol !== f.protocol) return false
  if (f.port !== undefined && !(c.port === f.port || (c.portEnd !== undefined && c.port <= f.port && f.port <= c.portEnd))) return false
  if (f.role !== undefined && c.fromRole !== f.role && c.toRole !== f.role) return false
  if (f.fromRole !== undefined && c.fromRole !== f.fromRole) return false
  if (f.toRole !== undefined && c.toRole !== f.toRole) return false
  if (f.from !== undefined && (c.from ?? `(${c.fromRole})`) !== f.from) return false
  if (f.to !== undefined && (c.to ?? `(${c.toRole})`) !== f.to) return false
  if (f.requiredOnly === true && !c.required) return false
  return true
}

/** One port in a role-matrix cell, with its state over every host pair. */
export interface PortCell {
  protocol: 'tcp' | 'udp'
  port: number
  portEnd?: number
  counts: StatusCounts
  /** The required checks among `counts`. */
  required: StatusCounts
  /** The optional checks among `counts`. */
  optional: StatusCounts
  /** Host pairs checked on this port (all statuses). */
  pairs: number
  /** Of the required checks; of the optional ones if there is none. */
  worst: keyof StatusCounts
}

/** A (source role, target role) cell. */
export interface RoleCell {
  from: string
  to: string
  counts: StatusCounts
  /** The required checks among `counts`: they decide the verdict. */
  required: StatusCounts
  /** The optional checks among `counts`: they never decide the verdict, nor `worst` when required checks are there. */
  optional: StatusCounts
  /** Of the required checks; of the optional ones if there is none. */
  worst: keyof StatusCounts
  ports: PortCell[]
}

/** `GET /api/runs/:id/matrix?by=role`: source roles as rows, target roles as columns. */
export interface RoleMatrix {
  rows: string[]
  cols: string[]
  cells: RoleCell[]
}

/**
 * Aggregates checks by (source role, target role), then by port: what the role matrix shows, in
 * the dashboard and in the terminal alike.
 */
export function roleMatrix (checks: Iterable<CheckRow>, filter: CheckFilter = {}): RoleMatrix {
  const cells = new Map<string, { cell: RoleCell, ports: Map<string, PortCell> }>()
  const rows: string[] = []
  const cols: string[] = []
  for (const c of checks) {
    if (!matches(c, filter)) continue
    const key = `${c.fromRole}\0${c.toRole}`
    let entry = cells.get(key)
    if (entry === undefined) {
      entry = { cell: { from: c.fromRole, to: c.toRole, counts: emptyLiveCounts(), required: emptyLiveCounts(), optional: emptyLiveCounts(), worst: 'skipped', ports: [] }, ports: new Map() }
      cells.set(key, entry)
      if (!rows.includes(c.fromRole)) rows.push(c.fromRole)
      if (!cols.includes(c.toRole)) cols.push(c.toRole)
    }
    add(entry.cell.counts, c.status)
    add(c.required ? entry.cell.required : entry.cell.optional, c.status)
    const pk = `${c.protocol}/${c.port}/${c.portEnd ?? ''}`
    let port = entry.ports.get(pk)
    if (port === undefined) {
      port = { protocol: c.protocol, port: c.port, ...(c.portEnd !== undefined ? { portEnd: c.portEnd } : {}), counts: emptyLiveCounts(), required: emptyLiveCounts(), optional: emptyLiveCounts(), pairs: 0, worst: 'skipped' }
      entry.ports.set(pk, port)
    }
    add(port.counts, c.status)
    add(c.required ? port.required : port.optional, c.status)
    port.pairs++
  }
  const out: RoleCell[] = []
  for (const { cell, ports } of cells.values()) {
    cell.worst = cellWorst(cell.required, cell.optional)
    cell.ports = [...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol))
    for (const p of cell.ports) p.worst = cellWorst(p.required, p.optional)
    out.push(cell)
  }
  return { rows, cols, cells: out }
}

/** A (source host, target host) cell of the host matrix. */
export interface HostCell {
  from: string
  to: string
  counts: StatusCounts
  worst: keyof StatusCounts
}

/** `GET /api/runs/:id/matrix?by=host`: one page of source hosts as rows, every target host as a column. */
export interface HostMatrix {
  rows: string[]
  cols: string[]
  /** Source hosts over all pages. */
  totalRows: number
  cells: HostCell[]
}

/**
 * Aggregates checks by (source host, target host). External ends appear as `(role)`. Sources
 * are paged (`offset`, `limit`) so a 300-host matrix need not travel at once.
 */
export function hostMatrix (checks: Iterable<CheckRow>, filter: CheckFilter = {}, page: { offset?: number, limit?: number } = {}): HostMatrix {
  const allRows: string[] = []
  const rowSet = new Set<string>()
  const colSet = new Set<string>()
  const cols: string[] = []
  const selected: CheckRow[] = []
  for (const c of checks) {
    if (!matches(c, filter)) continue
    selected.push(c)
    const from = c.from ?? `(${c.fromRole})`
    const to = c.to ?? `(${c.toRole})`
    if (!rowSet.has(from)) { rowSet.add(from); allRows.push(from) }
    if (!colSet.has(to)) { colSet.add(to); cols.push(to) }
  }
  const offset = page.offset ?? 0
  const rows = allRows.slice(offset, offset + (page.limit ?? allRows.length))
  const inPage = new Set(rows)
  const cells = new Map<string, HostCell>()
  for (const c of selected) {
    const from = c.from ?? `(${c.fromRole})`
    if (!inPage.has(from)) continue
    const to = c.to ?? `(${c.toRole})`
    const key = `${from}\0${to}`
    let cell = cells.get(key)
    if (cell === undefined) { cell = { from, to, counts: emptyLiveCounts(), worst: 'skipped' }; cells.set(key, cell) }
    add(cell.counts, c.status)
  }
  for (const cell of cells.values()) cell.worst = worstOf(cell.counts)
  return { rows, cols, totalRows: allRows.length, cells: [...cells.values()] }
}

/** A check with what the dashboard's detail view needs: each of its flows' purpose and reference. */
export interface CheckDetail extends CheckReport {
  flows: Array<{ id: string, purpose: string, ref: string | null }>
}

/** Adds each flow's purpose and document reference to checks. */
export function detailed (checks: readonly CheckReport[], catalog: Catalog): CheckDetail[] {
  const flows = new Map(catalog.flows.map((f) => [f.id, { id: f.id, purpose: f.purpose, ref: f.ref ?? null }]))
  return checks.map((c) => ({ ...c, flows: c.flowIds.map((id) => flows.get(id) ?? { id, purpose: '', ref: null }) }))
}

/** One CSV field: quoted when it holds a comma, a quote or a line break; lists joined with spaces. */
export function csvField (v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const CSV_COLUMNS = ['from', 'to', 'fromRole', 'toRole', 'fromAddress', 'toAddress', 'protocol', 'port', 'portEnd', 'required', 'status', 'reason', 'detail', 'latencyMs', 'attempts', 'observedSource', 'echo', 'flowIds', 'remedy', 'notes', 'droppedAt', 'rule'] as const

/** The report as CSV, one check per line, with a header. */
export function formatCsv (report: RunReport): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const c of report.checks) {
    const row: Record<string, unknown> = { ...c, rule: c.rule !== undefined ? ruleText(c.rule) : null }
    lines.push(CSV_COLUMNS.map((k) => csvField(row[k])).join(','))
  }
  return lines.join('\r\n') + '\r\n'
}
