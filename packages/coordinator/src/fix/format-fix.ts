import type { RunReport } from '../report/report.js'
import type { FixFormat } from './fix-formats.js'
import { formatAws } from './aws.js'
import { formatAzure } from './azure.js'
import { formatChangeRequest } from './change-request-csv.js'
import { formatFirewalld } from './firewalld.js'
import { noteLines } from './fix-text.js'
import { planFixes, type FixPlan, type FixScope } from './fix-plan.js'
import { formatIptables } from './iptables.js'
import { formatNftables, type NftablesOptions } from './nftables.js'
import { formatGcp } from './gcp.js'
import { formatUfw } from './ufw.js'

export type { FixFormat } from './fix-formats.js'

interface FormatSpec {
  scope: FixScope
  /** Whether the output has comments: if not (JSON, CSV), what a script would say in them goes aside (stderr). */
  comments: boolean
  render: (plan: FixPlan, options: FixOptions) => string
}

/** Every format: host firewalls first, then what filters between hosts. */
export const FIX_FORMATS: Readonly<Record<FixFormat, FormatSpec>> = {
  nftables: { scope: 'host', comments: true, render: (plan, o) => formatNftables(plan, o.nftables) },
  iptables: { scope: 'host', comments: true, render: formatIptables },
  firewalld: { scope: 'host', comments: true, render: formatFirewalld },
  ufw: { scope: 'host', comments: true, render: formatUfw },
  aws: { scope: 'network', comments: false, render: formatAws },
  azure: { scope: 'network', comments: true, render: formatAzure },
  gcp: { scope: 'network', comments: true, render: formatGcp },
  csv: { scope: 'network', comments: false, render: formatChangeRequest }
}

/** Options of {@link formatFix}. */
export interface FixOptions {
  /** Only the rules for this host (and notes about its checks). Default: every host. */
  host?: string
  /** nftables: where accepts for drops with no known rule go. */
  nftables?: NftablesOptions
}

/** What `portcheck fix` prints: the rules, and, for formats without comments, the notes to show aside. */
export interface FixOutput {
  text: string
  /** Lines for stderr: what to investigate and what other formats fix (empty when `text` holds them as comments). */
  aside: string[]
  plan: FixPlan
}

/** The rules that open exactly the blocked flows of a report, in one format. */
export function formatFix (report: RunReport, format: FixFormat, options: FixOptions = {}): FixOutput {
  const spec = FIX_FORMATS[format]
  const plan = planFixes(report, { scope: spec.scope, ...(options.host !== undefined ? { host: options.host } : {}) })
  return { text: spec.render(plan, options), aside: spec.comments ? [] : noteLines(plan), plan }
}
