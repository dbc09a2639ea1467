import net from 'node:net'
import { PortcheckError } from '@portcheck/protocol'
import { agentGaps, gapRemedy, gapSummary, isAgentGap } from '../report/agent-gaps.js'
import { familyTag, portFamilyLabel } from '../report/family-text.js'
import type { CheckReport, RunReport } from '../report/report.js'

/**
 * Which drops a format fixes: `host` formats (nftables, iptables, firewalld, ufw) write rules for
 * the hosts' own firewalls; `network` formats (aws, azure, gcp, csv) for what filters between
 * them (security groups, network security groups, VPC firewalls, a network team's devices).
 */
export type FixScope = 'host' | 'network'

/** One accept rule that opens one blocked check, and nothing else. */
export interface FixRule {
  /**
   * The host the rule is for: host scope, the target (inbound) or the source (outbound, for
   * `egress-denied` and `source` drops); network scope, the target whose security group,
   * network security group or firewall target lets the traffic in.
   */
  host: string
  /** That host's address as the run used it; shown in headings, never matched (it may be a name). */
  hostAddress: string | null
  direction: 'inbound' | 'outbound'
  /** The IP version of the addresses matched. */
  family: 4 | 6
  /** ` IPv4`, ` IPv6` in labels of a dual-stack report (see `RunReport.dualStack`); empty otherwise. */
  familyTag: string
  /** The source's IP address: matched by inbound and network rules; null when not matched. */
  source: string | null
  /** The target's IP address: matched by outbound and network rules; null when not matched. */
  target: string | null
  check: CheckReport
}

/** Something a rule of this format cannot (or need not) fix, in words: `subject: text`. */
export interface FixNote {
  subject: string
  text: string
}

/** What `portcheck fix` writes: rules per host, and what to look at by hand. */
export interface FixPlan {
  run: Pick<RunReport, 'id' | 'catalog' | 'catalogTitle' | 'startedAt'>
  scope: FixScope
  /** Only this host's rules and notes (`--host`); null for every host. */
  host: string | null
  /** In plan order; formats group them by `host`, in order of first appearance. */
  rules: FixRule[]
  /** Checks no rule can fix: intercepted, inconclusive, addresses that are names, unfinished. */
  investigate: FixNote[]
  /** Blocked checks whose drop was localized outside this scope: another family of formats fixes them. */
  elsewhere: FixNote[]
}

/** Options of {@link planFixes}. */
export interface FixPlanOptions {
  scope: FixScope
  /** Only the rules that go on (or in front of) this host, and the notes about checks from or to it. */
  host?: string
}

/** `app1->db2 tcp/15432 [DEMO-03]` (`tcp/15432 IPv6` when families are shown): ASCII, so it can go into any script's comments. */
export function checkSubject (c: CheckReport, families = false): string {
  return `${c.from ?? `(${c.fromRole})`}->${c.to ?? `(${c.toRole})`} ${portFamilyLabel(c, families)} [${c.flowIds.join(',')}]`
}

function finding (c: CheckReport): string {
  const what = c.status === null ? 'not finished when the report was written' : `${c.status}${c.reason !== null ? ` (${c.reason})` : ''}`
  return [what, c.detail, c.remedy !== null ? `to fix: ${c.remedy}` : null].filter((x) => x !== null).join('; ')
}

const HOST_FORMATS = 'portcheck fix --format nftables|iptables|firewalld|ufw'
const NETWORK_FORMATS = 'portcheck fix --format aws|azure|gcp|csv'

/**
 * Decides, for every blocked check of a report, which rule opens it and where that rule goes;
 * and lists what no rule fixes. Where a drop was localized (`droppedAt`), the rule goes there;
 * an unlocalized drop is fixed on the target (inbound) in host scope, and between the hosts in
 * network scope, except `egress-denied`, which is the source's own firewall (outbound). Rules
 * match IP addresses only: a check whose address to match is a DNS name is left to investigate.
 */
export function planFixes (report: RunReport, options: FixPlanOptions): FixPlan {
  const only = options.host ?? null
  if (only !== null && !report.checks.some((c) => c.from === only || c.to === only) && !report.agents.missing.includes(only)) {
    const hosts = [...new Set(report.checks.flatMap((c) => [c.from, c.to]).filter((h) => h !== null))]
    throw new PortcheckError('PC_ERR_OPTION_INVALID', `--host ${only}: no such host in run ${report.id} (hosts: ${hosts.slice(0, 20).join(', ')}${hosts.length > 20 ? ', …' : ''})`)
  }
  const concerns = (c: CheckReport): boolean => only === null || c.from === only || c.to === only
  const plan: FixPlan = { run: { id: report.id, catalog: report.catalog, catalogTitle: report.catalogTitle, startedAt: report.startedAt }, scope: options.scope, host: only, rules: [], investigate: [], elsewhere: [] }
  const mine = report.checks.filter(concerns)
  const families = report.dualStack
  const subject = (c: CheckReport): string => checkSubject(c, families)
  for (const gap of agentGaps(mine, report.agents.launchErrors)) {
    plan.investigate.push({ subject: gap.host, text: `${gapSummary(gap)}: ${gapRemedy(gap)}, then re-run` })
  }
  for (const c of mine) {
    if (c.status === 'pass' || c.status === 'skipped' || isAgentGap(c)) continue
    const note = (text: string): void => { plan.investigate.push({ subject: subject(c), text }) }
    if (c.status !== 'blocked' || c.reason === 'intercepted' || c.from === null || c.to === null) { note(finding(c)); continue }
    const site = c.droppedAt ?? (c.reason === 'egress-denied' ? 'source' : null)
    if (options.scope === 'host' && site === 'network') {
      plan.elsewhere.push({ subject: subject(c), text: `dropped in the network between ${c.from} and ${c.to}, not on either host: ${NETWORK_FORMATS}` })
      continue
    }
    if (options.scope === 'network' && (site === 'source' || site === 'target')) {
      const on = site === 'source' ? c.from : c.to
      plan.elsewhere.push({ subject: subject(c), text: `dropped by ${on}'s own firewall (${site === 'source' ? 'outbound' : 'inbound'}): ${HOST_FORMATS} --host ${on}` })
      continue
    }
    const outbound = options.scope === 'host' && site === 'source'
    const host = outbound ? c.from : c.to
    if (only !== null && host !== only) continue
    // A host rule matches the other end only (the rule sits on its own host, which may be reached
    // through NAT at its inventory address); a network rule matches both ends.
    const needed: Array<['source' | 'target', string, string | null]> = []
    if (options.scope === 'network' || !outbound) needed.push(['source', c.from, c.fromAddress])
    if (options.scope === 'network' || outbound) needed.push(['target', c.to, c.toAddress])
    const names = needed.filter(([, , address]) => address === null || net.isIP(address) === 0)
    if (names.length > 0) {
      note(`${finding(c)}; no rule written: the report has no IP address for ${names.map(([, name, address]) => `${name} (${address ?? 'none'})`).join(' and ')}, and rules match addresses only. Put its address in the inventory and re-run, or write the rule by hand`)
      continue
    }
    const ipVersions = new Set(needed.map(([, , address]) => net.isIP(address as string)))
    if (ipVersions.size > 1) { note(`${finding(c)}; no rule written: ${c.fromAddress ?? ''} and ${c.toAddress ?? ''} are of different IP versions`); continue }
    const address = (end: 'source' | 'target'): string | null => needed.find(([e]) => e === end)?.[2] ?? null
    plan.rules.push({
      host,
      hostAddress: outbound ? c.fromAddress : c.toAddress,
      direction: outbound ? 'outbound' : 'inbound',
      family: [...ipVersions][0] === 6 ? 6 : 4,
      familyTag: familyTag(c, families),
      source: address('source'),
      target: address('target'),
      check: c
    })
  }
  return plan
}

/** Rules grouped by the host they go on, in order of first appearance. */
export function rulesByHost (rules: readonly FixRule[]): Map<string, FixRule[]> {
  const out = new Map<string, FixRule[]>()
  for (const r of rules) {
    const list = out.get(r.host)
    if (list === undefined) out.set(r.host, [r])
    else list.push(r)
  }
  return out
}
