import { ruleText } from './check-text.js'
import type { RunReport } from './report.js'
import { CHUNK_CHECKS, reportSource, type ReportSource } from './report-source.js'

/** One CSV field: quoted when it holds a comma, a quote or a line break; lists joined with spaces. */
export function csvField (v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const CSV_COLUMNS = ['from', 'to', 'fromRole', 'toRole', 'fromAddress', 'toAddress', 'family', 'targetAddress', 'protocol', 'port', 'portEnd', 'required', 'status', 'reason', 'detail', 'latencyMs', 'attempts', 'observedSource', 'echo', 'flowIds', 'remedy', 'notes', 'droppedAt', 'rule'] as const

/** The report as CSV, one check per line after a header, in chunks of {@link CHUNK_CHECKS} lines. */
export function * csvChunks (src: ReportSource): Generator<string> {
  yield CSV_COLUMNS.join(',') + '\r\n'
  for (let i = 0; i < src.count; i += CHUNK_CHECKS) {
    const lines: string[] = []
    for (let j = i; j < Math.min(src.count, i + CHUNK_CHECKS); j++) {
      const c = src.checkAt(j)
      const row: Record<string, unknown> = { ...c, rule: c.rule !== undefined ? ruleText(c.rule) : null }
      lines.push(CSV_COLUMNS.map((k) => csvField(row[k])).join(',') + '\r\n')
    }
    yield lines.join('')
  }
}

/** The report as CSV, one check per line, with a header. */
export function formatCsv (report: RunReport): string {
  return [...csvChunks(reportSource(report))].join('')
}
