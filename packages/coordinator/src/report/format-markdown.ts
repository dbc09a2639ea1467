import type { Status } from '@portcheck/protocol'
import { agentGaps, gapRemedy, gapText, isAgentGap } from './agent-gaps.js'
import { cellParts } from './cell-text.js'
import { dropText, flowsLabel } from './check-text.js'
import { portFamilyLabel } from './family-text.js'
import { SYMBOL, reasonMeanings, runFacts, verdictLine } from './format-table.js'
import { mdCell } from './markdown-text.js'
import type { Counts, RunReport } from './report.js'
import { roleMatrix } from './views.js'

/** Options of {@link formatMarkdown}. */
export interface MarkdownOptions {
  /** Most checks listed per status; the rest are counted. Default 50. */
  limit?: number
}

function countsRow (label: string, c: Counts): string {
  return `| ${label} | ${c.checks} | ${c.pass} | ${c.blocked} | ${c.inconclusive} | ${c.skipped} |`
}

function endpoint (host: string | null, role: string, address: string | null): string {
  return host === null ? `(${role})` : address !== null && address !== host ? `${host} (${address})` : host
}

function matrix (report: RunReport): string[] {
  const m = roleMatrix(report.checks.filter((c) => c.from !== null && c.to !== null))
  if (m.cells.length === 0) return []
  const cells = new Map(m.cells.map((c) => [`${c.from}\0${c.to}`, cellParts(c).map((p) => p.text).join(' · ')]))
  return [
    '', '### Role matrix', '',
    'Checks between hosts; rows are sources, columns targets. Optional flows are marked and never decide the verdict.', '',
    `| from \\ to | ${m.cols.map(mdCell).join(' | ')} |`,
    `| --- | ${m.cols.map(() => '---').join(' | ')} |`,
    ...m.rows.map((r) => `| **${mdCell(r)}** | ${m.cols.map((col) => mdCell(cells.get(`${r}\0${col}`) ?? '·')).join(' | ')} |`)
  ]
}

function section (report: RunReport, status: Status, title: string, limit: number): string[] {
  const all = report.checks.filter((c) => c.status === status)
  if (all.length === 0) return []
  const out = ['', `### ${SYMBOL[status]} ${title} (${all.length})`]
  // A missing agent is one line per host, not one per check it left unproven.
  const gaps = status === 'inconclusive' ? agentGaps(all, report.agents.launchErrors) : []
  if (gaps.length > 0) out.push('', ...gaps.map((g) => `- **${mdCell(gapText(g))}**: ${mdCell(gapRemedy(g))}`))
  const list = gaps.length > 0 ? all.filter((c) => !isAgentGap(c)) : all
  if (list.length === 0) return out
  out.push('', '| source | target | port | reason | flows | what was seen | to fix |', '| --- | --- | --- | --- | --- | --- | --- |')
  const families = report.dualStack
  for (const c of list.slice(0, limit)) {
    const dropped = dropText(c)
    const seen = [c.detail, dropped !== null ? `dropped ${dropped}` : null, ...c.notes.map((n) => `note: ${n}`)].filter((x) => x !== null).join('; ')
    out.push(`| ${[endpoint(c.from, c.fromRole, c.fromAddress), endpoint(c.to, c.toRole, c.toAddress), portFamilyLabel(c, families), c.reason ?? '', flowsLabel(c), seen, c.remedy ?? ''].map(mdCell).join(' | ')} |`)
  }
  if (list.length > limit) out.push('', `… and ${list.length - limit} more (see \`--format json\`).`)
  return out
}

/**
 * Renders a report in Markdown, for a ticket or a pull request: the verdict, the counts, the role
 * matrix, then what is blocked and what could not be proven, each with what was seen and the fix.
 * Passing checks are counted, not listed; skipped ones are counted by reason.
 */
export function formatMarkdown (report: RunReport, options: MarkdownOptions = {}): string {
  const limit = options.limit ?? 50
  const verdict = verdictLine(report)
  const out = [
    `## portcheck: ${mdCell(report.catalogTitle)} (\`${report.catalog}\`)`, '',
    `**${mdCell(verdict.text)}**`, '',
    `Run \`${report.id}\`${report.rerunOf !== null ? ` (a re-check of \`${report.rerunOf}\`)` : ''}, started ${report.startedAt} · ${mdCell(runFacts(report))}`, '',
    '| checks | total | pass | blocked | inconclusive | skipped |', '| --- | ---: | ---: | ---: | ---: | ---: |',
    countsRow('required (decide the verdict)', report.required), countsRow('all', report.summary)
  ]
  if (report.localization !== null && report.localization.candidates > 0) out.push('', mdCell(report.localization.text))
  out.push(...matrix(report))
  out.push(...section(report, 'blocked', 'Blocked', limit))
  out.push(...section(report, 'inconclusive', 'Inconclusive', limit))
  const skipped = report.checks.filter((c) => c.status === 'skipped')
  if (skipped.length > 0) {
    const by = new Map<string, number>()
    for (const c of skipped) by.set(c.reason ?? '', (by.get(c.reason ?? '') ?? 0) + 1)
    out.push('', `Skipped (${skipped.length}), not tested by design: ${[...by].map(([r, n]) => `${r} ${n}`).join(', ')}.`)
  }
  const legend = reasonMeanings(report)
  if (legend.length > 0) out.push('', '<details><summary>What the reasons mean</summary>', '', ...legend.map((m) => `- **${m.status} ${m.reason}**: ${mdCell(m.text)}`), '', '</details>')
  return out.join('\n') + '\n'
}
