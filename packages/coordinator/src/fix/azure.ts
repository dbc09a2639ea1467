import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, oneLine, portText, prefix, ruleLabel, scriptHeader, shQuote } from './fix-text.js'

/** The shell variable that names a host's network security group: `NSG_db2` (`NSG_db_2` for db-2). */
export function nsgVariable (host: string): string {
  return `NSG_${host.replace(/[^A-Za-z0-9_]/g, '_')}`
}

/** NSG rule names: letters, digits, `_`, `.`, `-`, up to 80 characters. */
function ruleName (r: FixRule): string {
  const c = r.check
  return `portcheck-${c.from ?? ''}-${c.to ?? ''}-${c.protocol}-${portText(r, '-')}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 80)
}

function command (r: FixRule, n: number): string {
  const proto = r.check.protocol === 'tcp' ? 'Tcp' : 'Udp'
  const purpose = r.check.purpose !== null ? `: ${oneLine(r.check.purpose)}` : ''
  return [
    'az network nsg rule create --resource-group "$RESOURCE_GROUP"', `--nsg-name "$${nsgVariable(r.host)}"`, `--name ${ruleName(r)}`,
    `--priority $((PRIORITY + ${n}))`, '--direction Inbound --access Allow', `--protocol ${proto}`,
    `--source-address-prefixes ${prefix(r.source ?? '', r.family)}`, "--source-port-ranges '*'",
    `--destination-address-prefixes ${prefix(r.target ?? '', r.family)}`, `--destination-port-ranges ${portText(r, '-')}`,
    `--description ${shQuote(`${ruleLabel(r)}${purpose}`.slice(0, 140))}`
  ].join(' ')
}

/**
 * A shell script of `az network nsg rule create` commands: one inbound allow rule per blocked
 * flow, from the source's address to the target's, in the network security group of the target
 * (a shell variable per host). Rules of one NSG are numbered from $PRIORITY (default 900): each
 * must come before (below) the rule that denies the flow.
 */
export function formatAzure (plan: FixPlan): string {
  const hosts = rulesByHost(plan.rules)
  const out = ['#!/bin/sh', ...scriptHeader(plan, 'azure', [
    'Set RESOURCE_GROUP and, for each target host, NSG_<host> (its network security group), then run with the az CLI logged in.',
    'Rules of one NSG are numbered from $PRIORITY (default 900): each must be below the priority of the rule that denies the flow.'
  // eslint-disable-next-line no-template-curly-in-string -- shell parameter expansion, not a template
  ]), 'set -eu', ': "${RESOURCE_GROUP:?set RESOURCE_GROUP to the resource group of the network security groups}"']
  for (const host of hosts.keys()) out.push(`: "\${${nsgVariable(host)}:?set ${nsgVariable(host)} to the network security group of ${host}}"`)
  // eslint-disable-next-line no-template-curly-in-string -- shell parameter expansion, not a template
  out.push('PRIORITY=${PRIORITY:-900}')
  for (const [host, rules] of hosts) out.push('', hostHeading(host, rules), ...rules.map((r, i) => command(r, i)))
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
