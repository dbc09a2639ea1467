import { isIptablesRule } from '../report/drop-site.js'
import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, portText, prefix, ruleLabel, scriptHeader } from './fix-text.js'

/**
 * IPv6 rules are written as comments starting with this, so that the file stays valid for
 * iptables-restore: `sed -n 's/^#6 //p' FILE | ip6tables-restore --noflush` applies them.
 */
export const IPV6_MARK = '#6 '

/** The chains of their own, in table `filter`, that accepts for unlocalized drops go into. */
export const IPTABLES_CHAIN = { inbound: 'PORTCHECK-FIX-INPUT', outbound: 'PORTCHECK-FIX-OUTPUT' } as const
const BASE = { inbound: 'INPUT', outbound: 'OUTPUT' } as const

function match (r: FixRule): string {
  const peer = r.direction === 'inbound' ? `-s ${prefix(r.source ?? '', r.family)}` : `-d ${prefix(r.target ?? '', r.family)}`
  return `${peer} -p ${r.check.protocol} -m ${r.check.protocol} --dport ${portText(r, ':')} -m comment --comment "${ruleLabel(r, 256)}" -j ACCEPT`
}

/** One `*table … COMMIT` block per table, for one IP version of one host. */
function restoreBlocks (rules: readonly FixRule[]): string[] {
  const tables = new Map<string, { chains: string[], lines: string[] }>()
  const table = (name: string): { chains: string[], lines: string[] } => {
    let t = tables.get(name)
    if (t === undefined) { t = { chains: [], lines: [] }; tables.set(name, t) }
    return t
  }
  for (const direction of ['inbound', 'outbound'] as const) {
    const own = rules.filter((r) => r.direction === direction && !(r.check.rule !== undefined && isIptablesRule(r.check.rule)))
    if (own.length === 0) continue
    const filter = table('filter')
    // With --noflush, declaring a chain of our own empties it if it exists: re-applying replaces its rules.
    filter.chains.push(`:${IPTABLES_CHAIN[direction]} - [0:0]`)
    filter.lines.push(...own.map((r) => `-A ${IPTABLES_CHAIN[direction]} ${match(r)}`), `-I ${BASE[direction]} 1 -j ${IPTABLES_CHAIN[direction]}`)
  }
  for (const r of rules) {
    const known = r.check.rule
    if (known === undefined || !isIptablesRule(known)) continue
    // No rule number is known: at the top of the chain that dropped it, which is before that rule.
    table(known.table).lines.push(`-I ${known.chain} 1 ${match(r)}`)
  }
  return [...tables].flatMap(([name, t]) => [`*${name}`, ...t.chains, ...t.lines, 'COMMIT'])
}

/**
 * Rules for `iptables-restore --noflush`; IPv6 flows for `ip6tables-restore --noflush`, as lines
 * marked {@link IPV6_MARK}. A flow whose dropping rule is known (`rule` { table, chain }) is accepted
 * at the top of that chain; the others in chain PORTCHECK-FIX-INPUT / PORTCHECK-FIX-OUTPUT of
 * table filter, jumped to from the top of INPUT / OUTPUT.
 */
export function formatIptables (plan: FixPlan): string {
  const out = scriptHeader(plan, 'iptables', [
    'For iptables-restore --noflush, on the host each section names: without --noflush it would empty every table it names first.',
    'Check with `iptables-restore --test --noflush < FILE`, apply with `iptables-restore --noflush < FILE`.',
    `A flow whose dropping rule is known is accepted at the top of that rule's chain; the others in chain ${IPTABLES_CHAIN.inbound} (inbound)`,
    `or ${IPTABLES_CHAIN.outbound} (outbound) of table filter, jumped to from the top of INPUT / OUTPUT. Re-applying replaces those chains' rules and adds a jump.`,
    `IPv6 rules are the lines starting with "${IPV6_MARK.trim()}": apply them with \`sed -n 's/^${IPV6_MARK.trim()} //p' FILE | ip6tables-restore --noflush\`.`,
    'Not persistent: save them (iptables-save, netfilter-persistent save, service iptables save) to keep them after a reboot.'
  ])
  for (const [host, rules] of rulesByHost(plan.rules)) {
    out.push('', hostHeading(host, rules))
    const v4 = rules.filter((r) => r.family === 4)
    const v6 = rules.filter((r) => r.family === 6)
    if (v4.length > 0) out.push(...restoreBlocks(v4))
    if (v6.length > 0) out.push(...restoreBlocks(v6).map((line) => IPV6_MARK + line))
  }
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
