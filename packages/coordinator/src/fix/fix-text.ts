import type { FixPlan, FixRule } from './fix-plan.js'

/** One line of text: line breaks and other control characters become spaces. */
export function oneLine (s: string): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ')
}

/** A word for a POSIX shell, single-quoted. */
export function shQuote (s: string): string {
  return `'${oneLine(s).replace(/'/g, "'\\''")}'`
}

/**
 * `portcheck DEMO-03 app1->db2 tcp/15432`: names a rule in comments and descriptions. Made of
 * names the report reader has checked (hosts, flow ids), so it holds no quote; at most `max`
 * characters.
 */
export function ruleLabel (r: FixRule, max = 128): string {
  const c = r.check
  const text = `portcheck ${c.flowIds.join(',')} ${c.from ?? ''}->${c.to ?? ''} ${c.protocol}/${portText(r, '-')}${r.familyTag}`
  return text.length <= max ? text : text.slice(0, max - 1) + '~'
}

/** The port or range of a rule, with the separator a tool wants in a range (`-` or `:`). */
export function portText (r: FixRule, sep: '-' | ':'): string {
  return r.check.portEnd !== undefined ? `${r.check.port}${sep}${r.check.portEnd}` : String(r.check.port)
}

/** The address of a rule's end as a one-address prefix: `/32` or `/128`. */
export function prefix (address: string, family: 4 | 6): string {
  return `${address}/${family === 6 ? 128 : 32}`
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** What a plan holds, in one sentence. */
export function planSummary (plan: FixPlan): string {
  const hosts = new Set(plan.rules.map((r) => r.host)).size
  const rules = plan.host !== null ? `${plan.rules.length === 1 ? '1 rule' : `${plan.rules.length} rules`} for ${plan.host}` : `${plural(plan.rules.length, 'rule')} on ${plural(hosts, 'host')}`
  const more = [plan.investigate.length > 0 ? `${plan.investigate.length} to investigate` : null, plan.elsewhere.length > 0 ? `${plan.elsewhere.length} for other formats` : null].filter((x) => x !== null)
  const each = plan.scope === 'host' ? 'each accepting one blocked flow, from (or to) the address of its other end only' : "each allowing one blocked flow, from its source's address to its target's only"
  return `${rules}, ${each}${more.length > 0 ? `; ${more.join(', ')} (listed at the end)` : ''}`
}

/** The comment lines that open a script: where it comes from, what it holds, how to use it. */
export function scriptHeader (plan: FixPlan, format: string, usage: readonly string[]): string[] {
  return [
    `# portcheck fix --format ${format}${plan.host !== null ? ` --host ${plan.host}` : ''}: run ${plan.run.id} of ${plan.run.catalog} (${oneLine(plan.run.catalogTitle)}), started ${plan.run.startedAt}`,
    `# ${planSummary(plan)}.`,
    ...usage.map((line) => `# ${line}`)
  ]
}

/** What a plan leaves to people: checks to investigate, and drops another family of formats fixes. */
export function noteLines (plan: FixPlan): string[] {
  const out: string[] = []
  if (plan.rules.length === 0) out.push(`Nothing to open here: no blocked check of run ${plan.run.id}${plan.host !== null ? ` on ${plan.host}` : ''} is fixed by a rule of this kind.`)
  if (plan.investigate.length > 0) out.push('To investigate (no rule written):', ...plan.investigate.map((n) => `  ${n.subject}: ${oneLine(n.text)}`))
  if (plan.elsewhere.length > 0) out.push('Dropped elsewhere, fixed by another format:', ...plan.elsewhere.map((n) => `  ${n.subject}: ${oneLine(n.text)}`))
  return out
}

/** {@link noteLines} as comments, after a blank line; nothing if there is nothing to say. */
export function noteComments (plan: FixPlan): string[] {
  const lines = noteLines(plan)
  return lines.length > 0 ? ['', ...lines.map((l) => `# ${l}`)] : []
}

/** The comment that opens a host's section: `# == db2 (10.0.1.15): 3 rules ==`. */
export function hostHeading (host: string, rules: readonly FixRule[]): string {
  const address = rules[0]?.hostAddress ?? null
  return `# == ${host}${address !== null && address !== host ? ` (${address})` : ''}: ${plural(rules.length, 'rule')} ==`
}
