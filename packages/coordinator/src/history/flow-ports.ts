import type { Catalog, Flow, Proto } from '@portcheck/protocol'
import { parsePortSpec } from '../catalog/load-catalog.js'

/** One row of the catalog as a metric or a timeline names it: a flow's port (or range) between two roles. */
export interface FlowPort {
  flow: string
  fromRole: string
  toRole: string
  protocol: Proto
  /** `15432`, or the flow's range as the catalog writes it (`8000-8010`): never one label per port of a range. */
  port: string
}

/** The key of a {@link FlowPort}, for maps. */
export function flowPortKey (r: FlowPort): string {
  return `${r.flow}\0${r.fromRole}\0${r.toRole}\0${r.protocol}\0${r.port}`
}

/**
 * Names the catalog row a check's port belongs to, for each of its flows: the port itself, or
 * the flow's range that holds it (a `1-65535` flow is one row, not 65,535). What comes out is
 * bounded by the catalog, never by the number of hosts or the ports of a range.
 */
export class FlowPorts {
  private readonly flows: Map<string, Flow>
  private readonly memo = new Map<string, FlowPort>()

  constructor (catalog: Catalog) {
    this.flows = new Map(catalog.flows.map((f) => [f.id, f]))
  }

  /** The row of flow `flowId` for this protocol and port (`portEnd`: a range kept whole, for an external end). */
  of (flowId: string, protocol: Proto, port: number, portEnd?: number): FlowPort {
    const memoKey = `${flowId}\0${protocol}\0${port}\0${portEnd ?? ''}`
    let row = this.memo.get(memoKey)
    if (row !== undefined) return row
    const flow = this.flows.get(flowId)
    let label = portEnd !== undefined ? `${port}-${portEnd}` : String(port)
    for (const spec of flow?.[protocol] ?? []) {
      const p = parsePortSpec(spec)
      if (!('setting' in p) && p.lo !== p.hi && p.lo <= port && port <= p.hi) { label = `${p.lo}-${p.hi}`; break }
    }
    row = { flow: flowId, fromRole: flow?.from ?? '', toRole: flow?.to ?? '', protocol, port: label }
    this.memo.set(memoKey, row)
    return row
  }
}
