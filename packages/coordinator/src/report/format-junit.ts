import { dropText } from './check-text.js'
import type { CheckReport, RunReport } from './report.js'

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

function testcase (report: RunReport, c: CheckReport): string {
  const suite = `${c.fromRole}-${c.toRole}`
  const name = `${c.from ?? `(${c.fromRole})`} -> ${c.to ?? `(${c.toRole})`} ${c.protocol}/${c.port}${c.portEnd !== undefined ? `-${c.portEnd}` : ''} [${c.flowIds.join(',')}]`
  const time = ((c.latencyMs ?? 0) / 1000).toFixed(6)
  const open = `    <testcase classname="portcheck.${esc(report.catalog)}.${esc(suite)}" name="${esc(name)}" time="${time}"`
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

/**
 * Renders a report as JUnit XML for CI: a suite per (source role, target role), a case per
 * check. Required blocked checks are failures, required inconclusive ones errors; optional
 * and skipped checks are skipped, so only what gates the install turns a build red.
 */
export function formatJunit (report: RunReport): string {
  const suites = new Map<string, CheckReport[]>()
  for (const c of report.checks) {
    const k = `${c.fromRole} -> ${c.toRole}`
    const list = suites.get(k) ?? []
    list.push(c)
    suites.set(k, list)
  }
  const tally = (list: CheckReport[]): string => {
    const failures = list.filter((c) => c.required && c.status === 'blocked').length
    const errors = list.filter((c) => c.required && c.status === 'inconclusive').length
    const skipped = list.filter((c) => c.status === 'skipped' || c.status === null || !c.required).length
    return `tests="${list.length}" failures="${failures}" errors="${errors}" skipped="${skipped}"`
  }
  const out = ['<?xml version="1.0" encoding="UTF-8"?>']
  out.push(`<testsuites name="portcheck ${esc(report.catalog)}" ${tally(report.checks)} time="${(report.durationMs / 1000).toFixed(3)}">`)
  for (const [name, list] of suites) {
    out.push(`  <testsuite name="${esc(name)}" ${tally(list)} timestamp="${esc(report.startedAt)}">`)
    for (const c of list) out.push(testcase(report, c))
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return out.join('\n') + '\n'
}
