import { formatProblem, type Catalog, type Problem } from '@portcheck/protocol'
import type { SettingValues } from './conditions.js'
import { markedNeverApplies } from './satisfiability.js'
import type { CatalogRow } from '../plan/expand.js'

function table (header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)))
  const line = (cells: string[]): string => cells.map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...c].length))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]
}

/** `portcheck catalog list`, as text. */
export function formatCatalogList (items: Array<{ id: string, title: string, flows: number, document: string }>): string {
  return table(['ID', 'TITLE', 'FLOWS', 'SOURCE DOCUMENT'], items.map((i) => [i.id, i.title, String(i.flows), i.document])).join('\n') + '\n'
}

/**
 * `portcheck catalog validate` of a valid catalog, as text: the summary line, then each warning
 * indented, as `FILE:LINE:COLUMN: FIELD: message` like the errors of an invalid one.
 */
export function formatValidation (file: string, catalog: Catalog, warnings: readonly Problem[]): string {
  const summary = `${file}: valid catalog "${catalog.id}" (${Object.keys(catalog.roles).length} roles, ${catalog.flows.length} flows)`
  if (warnings.length === 0) return summary + '\n'
  return [`${summary}, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`, ...warnings.map((w) => '  ' + formatProblem(w))].join('\n') + '\n'
}

/** `portcheck catalog show`, as text: the roles, the settings with their defaults, then the rows. */
export function formatCatalogShow (catalog: Catalog, settings: SettingValues, rows: CatalogRow[]): string {
  const out: string[] = [`${catalog.title} (${catalog.id})`]
  if (catalog.source !== undefined) out.push(`Source: ${catalog.source.document}${catalog.source.url !== undefined ? ` <${catalog.source.url}>` : ''}`)
  out.push('', 'Roles:')
  for (const [id, r] of Object.entries(catalog.roles)) {
    out.push(`  ${id}${r.external === true ? ' (external)' : ''}: ${r.title}${r.when !== undefined ? ` [only when ${JSON.stringify(r.when)}]` : ''}`)
  }
  const defs = Object.entries(catalog.settings ?? {})
  out.push('', 'Conditions and settings (switch with settings: in the inventory or --set name=value):')
  if (defs.length === 0) out.push('  none')
  for (const [name, d] of defs) {
    const now = settings[name]
    const values = d.enum !== undefined ? ` {${d.enum.join(', ')}}` : ''
    const dflt = d.default === undefined ? 'no default: you set it' : `default ${String(d.default)}`
    out.push(`  ${name} (${d.type}${values}${d.scope === 'host' ? ', per host' : ''}) ${dflt}${now !== undefined && now !== d.default ? `, now ${String(now)}` : ''}: ${d.description}`)
  }
  out.push('', 'Flows (one row per source role, target role, protocol and port):')
  out.push(...table(['FLOW', 'FROM', 'TO', 'PORT', 'REQUIRED', 'CONDITION', 'REFERENCE', 'PURPOSE'], rows.map((r) => [
    r.flowId,
    r.fromRole + (r.mesh ? ' (mesh)' : ''),
    r.toRole,
    `${r.protocol}/${r.port ?? '?'}${r.portEnd !== undefined ? `-${r.portEnd}` : ''}${r.portSetting !== undefined ? ` (${r.portSetting}${r.port === null ? ', you set it' : ''})` : ''}`,
    r.external ? 'external' : r.optional ? 'optional' : 'required',
    // The table has no room for notes: say at least which off rows their author says are never on.
    (r.condition ?? '') + (r.active ? '' : markedNeverApplies(r) ? ' [off: never applies]' : ' [off]'),
    r.ref ?? '',
    r.purpose
  ])).map((l) => '  ' + l))
  if ((catalog.notes ?? []).length > 0) {
    out.push('', 'Notes (judgement calls where the document is ambiguous):')
    for (const n of catalog.notes ?? []) out.push(`  - ${n}`)
  }
  return out.join('\n') + '\n'
}
