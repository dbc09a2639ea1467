import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, portText, ruleLabel, scriptHeader, shQuote } from './fix-text.js'

function command (r: FixRule): string {
  const peer = r.direction === 'inbound' ? `in proto ${r.check.protocol} from ${r.source ?? ''} to any` : `out proto ${r.check.protocol} to ${r.target ?? ''}`
  return `ufw prepend allow ${peer} port ${portText(r, ':')} comment ${shQuote(ruleLabel(r))}`
}

/**
 * A shell script of `ufw prepend allow` commands: ufw keeps its rules across reboots, and
 * `prepend` puts each accept before every existing rule, so a deny rule cannot shadow it. Known
 * dropping rules are not used: ufw has one list of rules.
 */
export function formatUfw (plan: FixPlan): string {
  const out = ['#!/bin/sh', ...scriptHeader(plan, 'ufw', [
    'Run on the host each section names, as root (ufw 0.36 or later for prepend). ufw keeps its rules across reboots;',
    '`prepend` puts each one before the existing rules, so no deny rule shadows it. Check them with `ufw status numbered`.'
  ]), 'set -e']
  for (const [host, rules] of rulesByHost(plan.rules)) out.push('', hostHeading(host, rules), ...rules.map(command))
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
