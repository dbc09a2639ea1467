import { csvField } from '../report/format-csv.js'
import type { FixPlan, FixRule } from './fix-plan.js'
import { portText } from './fix-text.js'

const COLUMNS = ['source host', 'source address', 'destination host', 'destination address', 'protocol', 'port', 'purpose', 'reference', 'flows', 'required', 'finding']

function row (r: FixRule): unknown[] {
  const c = r.check
  const where = c.droppedAt === 'network' ? ' (dropped in the network)' : ''
  return [c.from, r.source, c.to, r.target, c.protocol, portText(r, '-'), c.purpose, c.ref, c.flowIds, c.required ? 'yes' : 'no (optional flow)', `blocked: ${c.reason ?? ''}${where}`]
}

/**
 * A change request for a network team, as CSV (CRLF line ends, a header): one line per blocked
 * flow to open, with the source and destination hosts and addresses, protocol, port, what the
 * flow is for and where the vendor documents it.
 */
export function formatChangeRequest (plan: FixPlan): string {
  return [COLUMNS.join(','), ...plan.rules.map((r) => row(r).map(csvField).join(','))].join('\r\n') + '\r\n'
}
