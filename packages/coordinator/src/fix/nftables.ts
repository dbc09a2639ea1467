import { PortcheckError } from '@portcheck/protocol'
import { isNftablesRule } from '../report/drop-site.js'
import { rulesByHost, type FixPlan, type FixRule } from './fix-plan.js'
import { hostHeading, noteComments, portText, ruleLabel, scriptHeader } from './fix-text.js'

/** A base chain, as `nft list chain` names it: family, table, chain. */
export interface ChainRef {
  family: string
  table: string
  chain: string
}

/** Options of {@link formatNftables}. */
export interface NftablesOptions {
  /** Where accepts for inbound drops with no known rule go: a chain of their own, jumped to from the top of this one. Default `inet filter input`. */
  input?: ChainRef
  /** The same for outbound drops. Default `inet filter output`. */
  output?: ChainRef
}

/** The chains of their own that accepts for unlocalized drops go into, in the table of the chain named. */
export const OWN_CHAIN = { inbound: 'portcheck-fix-input', outbound: 'portcheck-fix-output' } as const

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/
const FAMILIES = ['ip', 'ip6', 'inet']

/** Parses `FAMILY TABLE CHAIN` (`inet filter input`), as `--nft-input` and `--nft-output` take it. */
export function parseChainRef (spec: string, option: string): ChainRef {
  const [family, table, chain, ...rest] = spec.trim().split(/\s+/)
  if (family === undefined || table === undefined || chain === undefined || rest.length > 0 || !FAMILIES.includes(family) || !NAME.test(table) || !NAME.test(chain)) {
    throw new PortcheckError('PC_ERR_USAGE', `${option} ${spec}: expected FAMILY TABLE CHAIN, e.g. "inet filter input" (family ip, ip6 or inet)`)
  }
  return { family, table, chain }
}

function match (r: FixRule): string {
  const ip = r.family === 6 ? 'ip6' : 'ip'
  const peer = r.direction === 'inbound' ? `${ip} saddr ${r.source ?? ''}` : `${ip} daddr ${r.target ?? ''}`
  return `${peer} ${r.check.protocol} dport ${portText(r, '-')} accept comment "${ruleLabel(r)}"`
}

/** One host's statements: inserts before known rules, then the chains of their own and their jumps. */
function hostStatements (rules: readonly FixRule[], chains: { inbound: ChainRef, outbound: ChainRef }): string[] {
  const out: string[] = []
  for (const direction of ['inbound', 'outbound'] as const) {
    const own = rules.filter((r) => r.direction === direction && !(r.check.rule !== undefined && isNftablesRule(r.check.rule)))
    if (own.length === 0) continue
    const base = chains[direction]
    const at = `${base.family} ${base.table}`
    out.push(
      `add chain ${at} ${OWN_CHAIN[direction]}`,
      `flush chain ${at} ${OWN_CHAIN[direction]}`,
      ...own.map((r) => `add rule ${at} ${OWN_CHAIN[direction]} ${match(r)}`),
      `insert rule ${at} ${base.chain} jump ${OWN_CHAIN[direction]} comment "portcheck fix"`
    )
  }
  for (const r of rules) {
    const known = r.check.rule
    if (known === undefined || !isNftablesRule(known)) continue
    // `insert … position H` puts the accept right before the rule that dropped the flow; a chain
    // whose policy dropped it gets the accept at its end, where the policy would apply.
    out.push(known.handle === undefined
      ? `add rule ${known.family} ${known.table} ${known.chain} ${match(r)}`
      : `insert rule ${known.family} ${known.table} ${known.chain} position ${known.handle} ${match(r)}`)
  }
  return out
}

/**
 * A script for `nft -f`. A flow whose dropping nftables rule is known (`rule` in the report) gets
 * an accept inserted right before that rule, in its chain. The others get accepts in a chain of
 * their own (`portcheck-fix-input`, `portcheck-fix-output`), in the table of `input` / `output`,
 * jumped to from the top of that chain: an accept in a table of its own would not do, since
 * nftables still runs every other table's base chains on the hook, and their drops win.
 * Re-applying the script replaces the rules of those chains, and adds one more jump.
 */
export function formatNftables (plan: FixPlan, options: NftablesOptions = {}): string {
  const chains = {
    inbound: options.input ?? { family: 'inet', table: 'filter', chain: 'input' },
    outbound: options.output ?? { family: 'inet', table: 'filter', chain: 'output' }
  }
  const out = ['#!/usr/sbin/nft -f', ...scriptHeader(plan, 'nftables', [
    'Check with `nft -c -f FILE`, apply with `nft -f FILE`, on the host each section names.',
    'A flow whose dropping rule is known is accepted right before that rule, in its chain. The others are accepted in a chain',
    `of their own, jumped to from the top of chain ${chains.inbound.family} ${chains.inbound.table} ${chains.inbound.chain} (inbound: ${OWN_CHAIN.inbound}) or ${chains.outbound.family} ${chains.outbound.table} ${chains.outbound.chain}`,
    `(outbound: ${OWN_CHAIN.outbound}); it must be the table that drops them (--nft-input, --nft-output): an accept in another table cannot undo its drop.`,
    'Not persistent: add them to /etc/nftables.conf (or your ruleset file) to keep them after a reboot.'
  ])]
  for (const [host, rules] of rulesByHost(plan.rules)) out.push('', hostHeading(host, rules), ...hostStatements(rules, chains))
  out.push(...noteComments(plan))
  return out.join('\n') + '\n'
}
