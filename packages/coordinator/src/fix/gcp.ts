import { createHash } from 'node:crypto'
import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, oneLine, portText, prefix, ruleLabel, scriptHeader, shQuote } from './fix-text.js'

/** VPC firewall rule names: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters, unique in the project. */
function ruleName (r: FixRule): string {
  const c = r.check
  const name = `portcheck-${c.from ?? ''}-${c.to ?? ''}-${c.protocol}-${portText(r, '-')}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/-$/, '')
  if (name.length <= 63) return name
  // Too long: a short hash of the whole name keeps it unique.
  return `${name.slice(0, 54).replace(/-$/, '')}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`
}

function command (r: FixRule): string {
  const purpose = r.check.purpose !== null ? `: ${oneLine(r.check.purpose)}` : ''
  return [
    `gcloud compute firewall-rules create ${ruleName(r)}`, '--network="$NETWORK"', '--direction=INGRESS --action=ALLOW',
    `--rules=${r.check.protocol}:${portText(r, '-')}`, `--source-ranges=${prefix(r.source ?? '', r.family)}`,
    `--destination-ranges=${prefix(r.target ?? '', r.family)}`, '--priority="$PRIORITY"',
    `--description=${shQuote(`${ruleLabel(r)}${purpose}`)}`
  ].join(' ')
}

/**
 * A shell script of `gcloud compute firewall-rules create` commands: one ingress allow rule per
 * blocked flow, from the source's address to the target's, in VPC network $NETWORK, at priority
 * $PRIORITY (default 900; it must be below the deny rule's, which wins a tie).
 */
export function formatGcp (plan: FixPlan): string {
  const out = ['#!/bin/sh', ...scriptHeader(plan, 'gcp', [
    'Set NETWORK to the hosts\' VPC network, then run with gcloud logged in to their project.',
    'Each rule gets priority $PRIORITY (default 900): it must be below the priority of the rule that denies the flow (a deny wins a tie).'
  // eslint-disable-next-line no-template-curly-in-string -- shell parameter expansion, not a template
  ]), 'set -eu', ': "${NETWORK:?set NETWORK to the VPC network of the hosts}"', 'PRIORITY=${PRIORITY:-900}']
  for (const [host, rules] of rulesByHost(plan.rules)) out.push('', hostHeading(host, rules), ...rules.map(command))
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
