import type { Reason, Status } from '@portcheck/protocol'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { buildPlan } from '../src/plan/expand.js'
import { checkKey, type KeyFields } from '../src/report/check-key.js'
import { LOCALIZABLE, summaryText } from '../src/localize/localization.js'
import type { DropRule, DropSite } from '../src/report/drop-site.js'
import { hasDualStackPairs } from '../src/report/family-text.js'
import { remedy } from '../src/report/remedy.js'
import { checkReport, emptyCounts, verdictOf, type CheckReport, type RunReport } from '../src/report/report.js'

/**
 * A finished run of the demo catalog (examples/demo/) over eight hosts, with a check behind every
 * way a flow can fail and every way a fix can go: unlocalized drops, drops localized on the
 * target by an nftables, an iptables and a firewalld rule, in the network, on the source (an
 * egress rule), an interceptor, a port another process holds, a target known by name only, an
 * IPv6 source, an optional flow, and an agent that never joined (db4). Addresses are the lab's
 * (198.18.1.x), so the rules can be applied in namespaces.
 */
export const FIXTURE_HOSTS = [
  { name: 'lb1', address: '198.18.1.11', roles: ['lb'] },
  { name: 'app1', address: '198.18.1.12', roles: ['app'] },
  { name: 'app2', address: '198.18.1.13', roles: ['app'] },
  { name: 'app3', address: '2001:db8::13', roles: ['app'] },
  { name: 'db1', address: '198.18.1.14', roles: ['db'] },
  { name: 'db2', address: '198.18.1.15', roles: ['db'] },
  { name: 'db3', address: 'db3.lab.internal', roles: ['db'] },
  { name: 'db4', address: '198.18.1.17', roles: ['db'] }
]

/** The nftables rule on db1 that rejects app2's database connections (handle 2 of `table inet pctest`). */
export const DB1_REJECT: DropRule = { text: 'ip saddr 198.18.1.13 tcp dport 15432 reject with tcp reset', family: 'inet', table: 'pctest', chain: 'input', handle: 2 }

interface Outcome {
  status: Status
  reason: Reason | null
  detail: string
  droppedAt?: DropSite
  rule?: DropRule
}

/** What each check found; every other check between hosts passed, and db4's never ran. */
export const OUTCOMES: Record<string, Outcome> = {
  'app1>db1 tcp/15432': { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 15432 is silently dropped between app1 and db1 (this path lost 0% of 24 attempts)' },
  'app2>db1 tcp/15432': { status: 'blocked', reason: 'refused', detail: 'connection refused (RST or ICMP port unreachable) although the listener was open: a firewall rejects it (ECONNREFUSED)', droppedAt: 'target', rule: DB1_REJECT },
  'app3>db1 tcp/15432': { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 15432 is silently dropped between app3 and db1 (this path lost 0% of 24 attempts)' },
  'app1>db2 tcp/15432': { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 15432 is silently dropped between app1 and db2 (this path lost 0% of 24 attempts)', droppedAt: 'target', rule: { zone: 'internal' } },
  'app1>db3 tcp/15432': { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 15432 is silently dropped between app1 and db3 (this path lost 0% of 24 attempts)' },
  'lb1>app2 tcp/18080': { status: 'blocked', reason: 'egress-denied', detail: "lb1's own firewall or routing policy refused to send it (EPERM): an egress rule on the source" },
  'app1>app2 udp/17946': { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): UDP 17946 is silently dropped between app1 and app2 (this path lost 0% of 24 attempts)', droppedAt: 'network' },
  'db1>db2 tcp/15433': { status: 'blocked', reason: 'intercepted', detail: 'the nonce arrived at db2 on tcp/15432 instead of db2 on tcp/15433: traffic is redirected' },
  'db2>db3 tcp/15433': { status: 'blocked', reason: 'refused', detail: 'connection refused (RST or ICMP port unreachable) although the listener was open: a firewall rejects it (ECONNREFUSED)', droppedAt: 'target', rule: { table: 'filter', chain: 'INPUT' } },
  'db2>db1 udp/15405': { status: 'inconclusive', reason: 'port-in-use', detail: 'another process holds udp/15405 on db1; stop it, or check this port once it is free' },
  'app2>db2 udp/18125': { status: 'blocked', reason: 'unreachable', detail: 'ICMP unreachable or no route (EHOSTUNREACH): a firewall or router refuses the path' }
}

const STARTED = '2026-01-15T10:00:00.000Z'

/**
 * How the fixture names a check: its ends, protocol and port (`app1>db1 tcp/15432`). Its hosts
 * have one address each, so each pair has one check, whose family {@link checkKey} adds.
 */
export function fixtureKey (c: KeyFields): string {
  return checkKey({ ...c, family: null })
}

/** Builds the fixture report; a later run of the same cluster can change what it found, and which agents never joined (default db4). */
export async function fixtureReport (options: { id?: string, outcomes?: Record<string, Outcome>, startedAt?: string, missing?: string[] } = {}): Promise<RunReport> {
  const { catalog } = await loadCatalogFile('examples/demo/catalog.yaml')
  const plan = buildPlan({ catalog, hosts: FIXTURE_HOSTS, settings: { metrics: true }, includeOptional: true })
  const outcomes = options.outcomes ?? OUTCOMES
  const absent = options.missing ?? ['db4']
  const all = emptyCounts()
  const required = emptyCounts()
  const checks: CheckReport[] = plan.checks.map((check) => {
    const o = outcomes[fixtureKey(check)]
    const missing = [check.from, check.to].filter((h) => h !== null && absent.includes(h)) as string[]
    const verdict = check.skip !== null
      ? { status: 'skipped' as const, reason: check.skip, detail: null, observedSource: null, echo: null }
      : missing.length > 0
        ? { status: 'inconclusive' as const, reason: 'agent-missing' as const, detail: `no agent joined for ${missing.join(' and ')}`, observedSource: null, echo: null, agentHosts: missing }
        : o !== undefined
          ? { status: o.status, reason: o.reason, detail: o.detail, observedSource: null, echo: o.status === 'blocked' && o.reason === 'intercepted' ? 'other' as const : null }
          : { status: 'pass' as const, reason: null, detail: null, observedSource: check.fromAddress, echo: 'ours' as const }
    const probed = verdict.status === 'pass' || verdict.status === 'blocked'
    const c = checkReport(check, verdict, verdict.status === 'pass' ? 0.4 : null, probed ? (verdict.status === 'pass' ? 1 : 6) : null, catalog)
    if (o?.droppedAt !== undefined && c.status === 'blocked') {
      c.droppedAt = o.droppedAt
      if (o.rule !== undefined) c.rule = o.rule
      c.remedy = remedy(c)
    }
    all.checks++
    all[verdict.status]++
    if (c.required) { required.checks++; required[verdict.status]++ }
    return c
  })
  const { verdict, exitCode } = verdictOf(required)
  const startedAt = options.startedAt ?? STARTED
  // lb1's agent runs without root in this cluster: its egress drop is not localized.
  const candidates = checks.filter((c) => c.status === 'blocked' && LOCALIZABLE.has(c.reason ?? ''))
  const localization = { limit: 64, candidates: candidates.length, traced: candidates.length, localized: candidates.filter((c) => c.droppedAt !== undefined).length, overLimit: 0, unavailable: [{ host: 'lb1', why: 'not root' }] }
  return {
    id: options.id ?? 'fixrun01',
    catalog: catalog.id,
    catalogTitle: catalog.title,
    state: 'done',
    startedAt,
    finishedAt: new Date(Date.parse(startedAt) + 2150).toISOString(),
    durationMs: 2150,
    timeoutMs: 3000,
    adaptive: false,
    includeOptional: true,
    settings: { metrics: true },
    dualStack: hasDualStackPairs(checks),
    summary: all,
    required,
    progress: { done: checks.length, total: checks.length },
    verdict,
    exitCode,
    agents: { expected: FIXTURE_HOSTS.length, joined: FIXTURE_HOSTS.length - absent.length, missing: absent, lost: [], misplaced: [] },
    rerunOf: null,
    localization: { ...localization, text: summaryText(localization) },
    checks
  }
}
