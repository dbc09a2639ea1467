import t from 'tap'
import type { Catalog, InventoryHost } from '@portcheck/protocol'
import { planFixes } from '../src/fix/fix-plan.js'
import { buildPlan } from '../src/plan/expand.js'
import { isDualStack } from '../src/plan/families.js'
import { formatJunit } from '../src/report/format-junit.js'
import { formatMarkdown } from '../src/report/format-markdown.js'
import { formatTable } from '../src/report/format-table.js'
import { checkReport, emptyCounts, type RunReport } from '../src/report/report.js'
import { formatCsv } from '../src/report/format-csv.js'
import { roleMatrix } from '../src/report/views.js'
import type { Verdict } from '../src/scheduler/verdict.js'

const catalog: Catalog = {
  id: 'fam',
  title: 'Families',
  roles: { app: { title: 'App' }, db: { title: 'Database' } },
  flows: [{ id: 'F1', from: 'app', to: 'db', tcp: [5432], purpose: 'queries' }]
}

/** A run's report where app1's database flow passes over IPv4 and is dropped over IPv6. */
function report (hosts: InventoryHost[]): RunReport {
  const plan = buildPlan({ catalog, hosts, settings: {} })
  const checks = plan.checks.map((c) => {
    const verdict: Verdict = c.family === 'ipv6'
      ? { status: 'blocked', reason: 'timeout', detail: 'no answer to 8 attempt(s)', observedSource: null, echo: null }
      : { status: 'pass', reason: null, detail: null, observedSource: c.fromAddress, echo: 'ours' }
    return checkReport(c, verdict, null, 8, catalog)
  })
  const summary = emptyCounts()
  for (const c of checks) { summary.checks++; summary[c.status ?? 'pass']++ }
  return {
    id: 'fam01',
    catalog: 'fam',
    catalogTitle: 'Families',
    state: 'done',
    startedAt: '2026-01-15T10:00:00.000Z',
    finishedAt: '2026-01-15T10:00:02.000Z',
    durationMs: 2000,
    timeoutMs: 3000,
    adaptive: false,
    includeOptional: false,
    settings: {},
    dualStack: isDualStack(hosts),
    summary,
    required: summary,
    progress: { done: checks.length, total: checks.length },
    verdict: 'blocked',
    exitCode: 1,
    agents: { expected: 2, joined: 2, missing: [], lost: [], misplaced: [] },
    rerunOf: null,
    localization: null,
    checks
  }
}

const dual: InventoryHost[] = [
  { name: 'app1', address: '198.18.0.1', addresses: ['198.18.0.1', '2001:2::1'], roles: ['app'] },
  { name: 'db1', address: '198.18.0.2', addresses: ['198.18.0.2', '2001:2::2'], roles: ['db'] }
]

t.test('a dual-stack report names each check\'s family, in every format', async (t) => {
  const r = report(dual)
  t.same(r.checks.map((c) => [c.family, c.fromAddress, c.toAddress, c.targetAddress, c.status]), [
    ['ipv4', '198.18.0.1', '198.18.0.2', '198.18.0.2', 'pass'],
    ['ipv6', '2001:2::1', '2001:2::2', '2001:2::2', 'blocked']
  ], 'JSON: the family and the target address of each check')
  t.match(formatTable(r, { verbose: true }), /app1 → db1 {2}tcp\/5432 IPv6 +timeout/)
  t.match(formatTable(r, { verbose: true }), /app1 → db1 {2}tcp\/5432 IPv4 +/)
  t.match(r.checks[1]?.remedy, /from 2001:2::1 to 2001:2::2/, 'the fix names the IPv6 addresses')
  t.match(formatMarkdown(r), '| app1 (2001:2::1) | db1 (2001:2::2) | tcp/5432 IPv6 | timeout |')
  const junit = formatJunit(r)
  t.match(junit, 'name="app1 -&gt; db1 tcp/5432 IPv4 [F1]"')
  t.match(junit, 'name="app1 -&gt; db1 tcp/5432 IPv6 [F1]"')
  const csv = formatCsv(r).split('\r\n')
  t.match(csv[0], /^from,to,fromRole,toRole,fromAddress,toAddress,family,targetAddress,protocol,/)
  t.match(csv[2], /^app1,db1,app,db,2001:2::1,2001:2::2,ipv6,2001:2::2,tcp,5432,/)
  const cell = roleMatrix(r.checks, {}, r.dualStack).cells[0]
  t.same(cell?.ports.map((p) => [p.port, p.family, p.worst]), [[5432, 'ipv4', 'pass'], [5432, 'ipv6', 'blocked']], 'the role matrix: one port entry per family')
  t.same(roleMatrix(r.checks, { family: 'ipv6' }, true).cells[0]?.counts.blocked, 1, 'and a filter by family')
  const fix = planFixes(r, { scope: 'host' })
  t.same(fix.rules.map((x) => [x.host, x.family, x.source, x.familyTag]), [['db1', 6, '2001:2::1', ' IPv6']], 'one IPv6 rule, for the family that is blocked')
})

t.test('two hosts of no common family: what to change', async (t) => {
  const hosts: InventoryHost[] = [{ name: 'app1', address: '2001:2::1', roles: ['app'] }, { name: 'db1', address: '198.18.0.2', roles: ['db'] }]
  const [check] = buildPlan({ catalog, hosts, settings: {} }).checks
  t.match(check, { family: null, fromAddress: '2001:2::1', toAddress: '198.18.0.2' })
  if (check === undefined) return
  const c = checkReport(check, { status: 'inconclusive', reason: 'no-common-family', detail: 'x', observedSource: null, echo: null }, null, null, catalog)
  t.equal(c.remedy, 'give app1 and db1 addresses of a common family (addresses: [IPv4, IPv6] in the inventory), or drop this flow between them')
})

t.test('a report of one family reads as it always did', async (t) => {
  const r = report(dual.map((h) => ({ ...h, addresses: [h.address] })))
  t.equal(r.dualStack, false)
  t.same(r.checks.map((c) => c.family), ['ipv4'])
  t.notMatch(formatTable(r, { verbose: true }), /IPv4/)
  t.notMatch(formatJunit(r), /IPv4/)
  t.same(roleMatrix(r.checks).cells[0]?.ports.map((p) => p.family), [null], 'no family split')
})
