import type { SettingValue } from '@portcheck/protocol'
import { loadCatalog } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { resolveSettings } from '../../packages/coordinator/src/catalog/settings.js'
import { catalogRows } from '../../packages/coordinator/src/plan/expand.js'

/**
 * A flow as read from the vendor document, written down independently of the catalog file:
 * `from>to proto/port kind`, e.g. `frontend>elasticsearch tcp/9200 required`, with
 * `port` a number or a range `30000-32767`, and kind `required`, `optional` or `external`
 * (a flow touching an external role, whatever its optionality).
 */
export type DocumentFlow = string

/** Builds the `from>to proto/port kind` lines for every port of one document row. */
export function row (from: string, to: string, ports: { tcp?: Array<number | string>, udp?: Array<number | string> }, kind: 'required' | 'optional' | 'external' = 'required'): DocumentFlow[] {
  const out: DocumentFlow[] = []
  for (const proto of ['tcp', 'udp'] as const) {
    for (const p of ports[proto] ?? []) out.push(`${from}>${to} ${proto}/${p} ${kind}`)
  }
  return out
}

/** Both directions of a row ("Ingress/Egress", "and vice versa"). */
export function both (a: string, b: string, ports: { tcp?: Array<number | string>, udp?: Array<number | string> }, kind: 'required' | 'optional' | 'external' = 'required'): DocumentFlow[] {
  return [...row(a, b, ports, kind), ...row(b, a, ports, kind)]
}

/**
 * Expands a built-in catalog under the given settings to the same `from>to proto/port kind`
 * lines (deduplicated), so a test can compare them with what the document says.
 */
export async function catalogFlows (id: string, settings: Record<string, SettingValue> = {}): Promise<string[]> {
  const { catalog } = await loadCatalog(id)
  const { values, problems } = resolveSettings(catalog, Object.entries(settings).map(([name, value]) => [name, { value, problem: (message) => ({ file: 'test', path: name, message }) }]))
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'))
  const lines = catalogRows(catalog, values).map((r) => {
    const port = `${r.port}${r.portEnd !== undefined ? `-${r.portEnd}` : ''}`
    const kind = r.external ? 'external' : r.optional ? 'optional' : 'required'
    return `${r.fromRole}>${r.toRole} ${r.protocol}/${port} ${kind}`
  })
  return [...new Set(lines)].sort()
}

/** Sorted, deduplicated copy of document flows, for `t.same(await catalogFlows(...), expected(...))`. */
export function expected (...groups: DocumentFlow[][]): string[] {
  return [...new Set(groups.flat())].sort()
}
