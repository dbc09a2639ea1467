import { dropText } from './check-text.js'
import { portFamilyLabel } from './family-text.js'
import type { CheckReport, RunReport, RunSummary } from './report.js'
import { CHUNK_CHECKS, reportSource, type CheckBrief, type ReportSource } from './report-source.js'

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

function testcase (summary: RunSummary, c: CheckReport): string {
  const suite = `${c.fromRole}-${c.toRole}`
  // Named with the family in a dual-stack run: each family's check is a case of its own.
  const name = `${c.from ?? `(${c.fromRole})`} -> ${c.to ?? `(${c.toRole})`} ${portFamilyLabel(c, summary.dualStack)} [${c.flowIds.join(',')}]`
  const time = ((c.latencyMs ?? 0) / 1000).toFixed(6)
  const open = `    <testcase classname="portcheck.${esc(summary.catalog)}.${esc(suite)}" name="${esc(name)}" time="${time}"`
  const dropped = dropText(c)
  const body = [c.detail, dropped !== null ? `dropped ${dropped}` : null, c.remedy !== null ? `to fix: ${c.remedy}` : null, ...c.notes].filter((x) => x !== null).join('\n')
  if (c.status === 'blocked' && c.required) {
    return `${open}>\n      <failure type="${esc(c.reason ?? 'blocked')}" message="${esc(`blocked: ${c.reason ?? ''}`)}">${esc(body)}</failure>\n    </testcase>`
  }
  if (c.status === 'inconclusive' && c.required) {
    return `${open}>\n      <error type="${esc(c.reason ?? 'inconclusive')}" message="${esc(`inconclusive: ${c.reason ?? ''}`)}">${esc(body)}</error>\n    </testcase>`
  }
  if (c.status === 'skipped' || c.status === null || !c.required) {
    const why = c.status === 'skipped' ? c.reason ?? 'skipped' : c.status === null ? 'not finished' : `optional flow: ${c.status}${c.reason !== null ? ` (${c.reason})` : ''}`
    return `${open}>\n      <skipped message="${esc(why)}"/>\n    </testcase>`
  }
  return `${open}/>`
}

/** A suite's tallies, as JUnit counts them. */
class Tally {
  tests = 0
  failures = 0
  errors = 0
  skipped = 0

  add (c: CheckBrief): void {
    this.tests++
    if (c.required && c.status === 'blocked') this.failures++
    if (c.required && c.status === 'inconclusive') this.errors++
    if (c.status === 'skipped' || c.status === null || !c.required) this.skipped++
  }

  toString (): string {
    return `tests="${this.tests}" failures="${this.failures}" errors="${this.errors}" skipped="${this.skipped}"`
  }
}

/**
 * A report as JUnit XML, in chunks: a first pass over the checks' roles and statuses groups and
 * counts them (the suites' attributes come first), then each suite's cases are written a chunk of
 * {@link CHUNK_CHECKS} at a time, so a big run is never one string in memory.
 */
export function * junitChunks (src: ReportSource): Generator<string> {
  const suites = new Map<string, { tally: Tally, indexes: number[] }>()
  const all = new Tally()
  for (let i = 0; i < src.count; i++) {
    const c = src.briefAt(i)
    const k = `${c.fromRole} -> ${c.toRole}`
    let suite = suites.get(k)
    if (suite === undefined) { suite = { tally: new Tally(), indexes: [] }; suites.set(k, suite) }
    suite.tally.add(c)
    suite.indexes.push(i)
    all.add(c)
  }
  const s = src.summary
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="portcheck ${esc(s.catalog)}" ${String(all)} time="${(s.durationMs / 1000).toFixed(3)}">\n`
  for (const [name, { tally, indexes }] of suites) {
    yield `  <testsuite name="${esc(name)}" ${String(tally)} timestamp="${esc(s.startedAt)}">\n`
    for (let i = 0; i < indexes.length; i += CHUNK_CHECKS) {
      yield indexes.slice(i, i + CHUNK_CHECKS).map((j) => testcase(s, src.checkAt(j)) + '\n').join('')
    }
    yield '  </testsuite>\n'
  }
  yield '</testsuites>\n'
}

/**
 * Renders a report as JUnit XML for CI: a suite per (source role, target role), a case per
 * check. Required blocked checks are failures, required inconclusive ones errors; optional
 * and skipped checks are skipped, so only what gates the install turns a build red.
 */
export function formatJunit (report: RunReport): string {
  return [...junitChunks(reportSource(report))].join('')
}
