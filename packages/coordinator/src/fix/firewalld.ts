import { isFirewalldRule } from '../report/drop-site.js'
import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, portText, ruleLabel, scriptHeader, shQuote } from './fix-text.js'

/** The policy outbound accepts go into: from the host itself to any zone. */
export const FIREWALLD_POLICY = 'portcheck-fix-out'

/**
 * Rich-rule priority of the accepts: below 0, firewalld puts them in the zone's `_pre` chain,
 * before its deny rules (which otherwise win over allow rules of priority 0).
 */
export const RICH_PRIORITY = -100

function richRule (r: FixRule): string {
  const family = r.family === 6 ? 'ipv6' : 'ipv4'
  const peer = r.direction === 'inbound' ? `source address="${r.source ?? ''}"` : `destination address="${r.target ?? ''}"`
  return `rule family="${family}" priority="${RICH_PRIORITY}" ${peer} port port="${portText(r, '-')}" protocol="${r.check.protocol}" accept`
}

function hostCommands (rules: readonly FixRule[]): string[] {
  const out: string[] = []
  for (const r of rules.filter((x) => x.direction === 'inbound')) {
    const zone = r.check.rule !== undefined && isFirewalldRule(r.check.rule) ? ` --zone=${r.check.rule.zone}` : ''
    out.push(`# ${ruleLabel(r)}`, `firewall-cmd --permanent${zone} --add-rich-rule=${shQuote(richRule(r))}`)
  }
  const outbound = rules.filter((x) => x.direction === 'outbound')
  if (outbound.length > 0) {
    out.push(
      `firewall-cmd --permanent --new-policy=${FIREWALLD_POLICY} 2>/dev/null || true  # exists after a first run`,
      `firewall-cmd --permanent --policy=${FIREWALLD_POLICY} --add-ingress-zone=HOST`,
      `firewall-cmd --permanent --policy=${FIREWALLD_POLICY} --add-egress-zone=ANY`
    )
    for (const r of outbound) out.push(`# ${ruleLabel(r)}`, `firewall-cmd --permanent --policy=${FIREWALLD_POLICY} --add-rich-rule=${shQuote(richRule(r))}`)
  }
  out.push('firewall-cmd --reload')
  return out
}

/**
 * A shell script of `firewall-cmd` commands: permanent rich rules (they survive a reboot), then a
 * reload that applies them. Inbound accepts go into the zone whose rules dropped the flow when
 * it is known (`rule` { zone }), else the default zone; outbound ones into a policy from the host
 * to any zone. Each rich rule has priority -100, so it comes before the zone's deny rules.
 */
export function formatFirewalld (plan: FixPlan): string {
  const out = ['#!/bin/sh', ...scriptHeader(plan, 'firewalld', [
    'Run on the host each section names, as root. Permanent rich rules (they survive a reboot), then a reload applies them.',
    `Inbound: the zone whose rules dropped the flow if known, else the default zone; outbound: policy ${FIREWALLD_POLICY} (HOST to ANY).`,
    `Priority ${RICH_PRIORITY} puts each rule before the zone's deny rules. Running the script again changes nothing (ALREADY_ENABLED).`
  ]), 'set -e']
  for (const [host, rules] of rulesByHost(plan.rules)) out.push('', hostHeading(host, rules), ...hostCommands(rules))
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
