import { formatProblem, type Catalog, type Problem } from '@portcheck/protocol'
import { formatCondition, type SettingValues } from './conditions.js'
import { markedNeverApplies } from './satisfiability.js'
import type { CatalogRow } from '../plan/expand.js'
import { fitTable, paragraph, type TableColumn } from './fit-table.js'

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

/**
 * `portcheck catalog show`, as text: the roles, the settings with their defaults, then the rows.
 * With a `width` (in columns; default Infinity: every row on one line, as wide as it takes),
 * prose is wrapped to it and the flow table fits it: see {@link fitTable}.
 */
export function formatCatalogShow (catalog: Catalog, settings: SettingValues, rows: CatalogRow[], opts: { width?: number } = {}): string {
  const width = opts.width ?? Infinity
  const out: string[] = [`${catalog.title} (${catalog.id})`]
  if (catalog.source !== undefined) out.push(...paragraph(`Source: ${catalog.source.document}${catalog.source.url !== undefined ? ` <${catalog.source.url}>` : ''}`, width, 0))
  out.push('', 'Roles:')
  for (const [id, r] of Object.entries(catalog.roles)) {
    out.push(...paragraph(`${id}${r.external === true ? ' (external)' : ''}: ${r.title}${r.when !== undefined ? ` [only when ${formatCondition(r.when) ?? ''}]` : ''}`, width))
  }
  const defs = Object.entries(catalog.settings ?? {})
  out.push('', ...paragraph('Conditions and settings (switch with settings: in the inventory or --set name=value):', width, 0))
  if (defs.length === 0) out.push('  none')
  for (const [name, d] of defs) {
    const now = settings[name]
    const values = d.enum !== undefined ? ` {${d.enum.join(', ')}}` : ''
    const dflt = d.default === undefined ? 'no default: you set it' : `default ${String(d.default)}`
    out.push(...paragraph(`${name} (${d.type}${values}${d.scope === 'host' ? ', per host' : ''}) ${dflt}${now !== undefined && now !== d.default ? `, now ${String(now)}` : ''}: ${d.description}`, width))
  }
  out.push('', ...paragraph('Flows (one row per source role, target role, protocol and port):', width, 0))
  const columns: TableColumn[] = [
    { header: 'FLOW' },
    { header: 'FROM' },
    { header: 'TO' },
    { header: 'PORT' },
    { header: 'REQUIRED' },
    // The reference is the longest and the least read: it is the first to move under its row.
    { header: 'CONDITION', prose: { label: 'condition', moveOrder: 3 } },
    { header: 'REFERENCE', prose: { label: 'reference', moveOrder: 1 } },
    { header: 'PURPOSE', prose: { label: 'purpose', moveOrder: 2 } }
  ]
  out.push(...fitTable(columns, rows.map((r) => [
    r.flowId,
    r.fromRole + (r.mesh ? ' (mesh)' : ''),
    r.toRole,
    `${r.protocol}/${r.port ?? '?'}${r.portEnd !== undefined ? `-${r.portEnd}` : ''}${r.portSetting !== undefined ? ` (${r.portSetting}${r.port === null ? ', you set it' : ''})` : ''}`,
    r.external ? 'external' : r.optional ? 'optional' : 'required',
    // The table has no room for notes: say at least which off rows their author says are never on.
    (r.condition ?? '') + (r.active ? '' : markedNeverApplies(r) ? ' [off: never applies]' : ' [off]'),
    r.ref ?? '',
    r.purpose
  ]), width))
  if ((catalog.notes ?? []).length > 0) {
    out.push('', ...paragraph('Notes (judgement calls where the document is ambiguous):', width, 0))
    for (const n of catalog.notes ?? []) out.push(...paragraph(`- ${n}`, width))
  }
  return out.join('\n') + '\n'
}
