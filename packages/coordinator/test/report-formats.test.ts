import t from 'tap'
import { agentGaps } from '../src/report/agent-gaps.js'
import { formatMarkdown } from '../src/report/format-markdown.js'
import { formatTable } from '../src/report/format-table.js'
import { parseReport } from '../src/report/read-report.js'
import { remedy } from '../src/report/remedy.js'
import { roleMatrix } from '../src/report/views.js'
import { equalsExpected } from './expected-output.js'
import { expectError } from './helpers.js'
import { DB1_REJECT, fixtureKey, fixtureReport } from './report-fixture.js'

t.test('the JSON report carries each check\'s fix and flow purpose', async (t) => {
  const report = await fixtureReport()
  const c = report.checks.find((x) => fixtureKey(x) === 'app1>db1 tcp/15432')
  t.match(c, { remedy: 'allow tcp 15432 from 198.18.1.12 to 198.18.1.14 (inbound on db1, and on any firewall between)', purpose: 'Application queries the database', ref: 'demo, tier 2' })
  const pass = report.checks.find((x) => x.status === 'pass')
  t.match(pass, { remedy: null, purpose: /./ }, 'a pass has a purpose and no fix')
  const missing = report.checks.find((x) => fixtureKey(x) === 'app1>db4 tcp/15432')
  t.match(missing, { reason: 'agent-missing', agentHosts: ['db4'], remedy: 'start the agent on db4' })
  t.equal(JSON.parse(JSON.stringify(report)).checks.every((x: Record<string, unknown>) => 'remedy' in x && 'purpose' in x), true, 'in every check of the JSON')
})

t.test('remedy works from the check\'s fields, never from its detail text', async (t) => {
  const base = { protocol: 'tcp' as const, port: 15432, from: 'app1', to: 'db1', fromAddress: '10.0.0.1', toAddress: '10.0.0.2' }
  t.equal(remedy({ ...base, status: 'inconclusive', reason: 'agent-missing', agentHosts: ['db1'] }), 'start the agent on db1')
  t.equal(remedy({ ...base, status: 'inconclusive', reason: 'agent-missing', agentHosts: ['app1', 'db1'] }), 'start the agent on app1 and db1')
  t.equal(remedy({ ...base, status: 'inconclusive', reason: 'agent-lost', agentHosts: ['app1'] }), 're-run once the agent on app1 is connected again')
  t.equal(remedy({ ...base, status: 'inconclusive', reason: 'agent-misplaced', agentHosts: ['app1'] }), 'run the agent of app1 on the host itself, at its inventory address (or set nat: true for a host reached through NAT)')
  t.equal(remedy({ ...base, status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: DB1_REJECT }), 'allow tcp 15432 from 10.0.0.1 to 10.0.0.2 inbound on db1, before the nftables rule "ip saddr 198.18.1.13 tcp dport 15432 reject with tcp reset" (inet pctest input, handle 2) that drops it')
  t.equal(remedy({ ...base, status: 'blocked', reason: 'timeout', droppedAt: 'source', rule: { table: 'filter', chain: 'OUTPUT' } }), 'allow outbound tcp 15432 to 10.0.0.2 on app1, at the top of iptables chain OUTPUT (table filter), which drops it')
  t.equal(remedy({ ...base, status: 'blocked', reason: 'timeout', droppedAt: 'network' }), 'allow tcp 15432 from 10.0.0.1 to 10.0.0.2 on the firewalls or security groups between app1 and db1: both hosts let it through')
  t.equal(remedy({ ...base, status: 'blocked', reason: 'egress-denied' }), 'allow outbound tcp 15432 to 10.0.0.2 on app1')
  t.equal(remedy({ ...base, status: 'pass', reason: null }), null)
})

t.test('the role matrix: one computation, the same cell in the dashboard and the terminal', async (t) => {
  const report = await fixtureReport({ id: 'optional01', outcomes: { 'app2>db2 udp/18125': { status: 'blocked', reason: 'refused', detail: 'refused' } } })
  const between = report.checks.filter((c) => c.from !== null && c.to !== null && c.to !== 'db4' && c.from !== 'db4')
  const cell = roleMatrix(between).cells.find((c) => c.from === 'app' && c.to === 'db')
  t.match(cell, { worst: 'pass', required: { pass: 9, blocked: 0 }, optional: { pass: 8, blocked: 1 } }, 'an optional flow blocked does not colour a cell whose required flows pass')
  t.equal(cell?.ports.find((p) => p.port === 18125)?.worst, 'blocked', 'a port of optional flows only shows their state')
  const table = formatTable({ ...report, checks: between })
  t.match(table, /\n {2}app +✔ 12 +✔ 9 · optional ✘ 1 of 9 blocked/, 'the terminal shows the required state, and marks the optional flows')
  t.match(table, /DEMO-06: Application metrics to the collector on the database hosts \(optional\)/)
})

t.test('a missing agent is one line per host in the table and Markdown, one entry per check in JSON', async (t) => {
  const report = await fixtureReport()
  t.same(agentGaps(report.checks), [{ host: 'db4', kind: 'missing', checks: 18 }])
  const table = formatTable(report)
  t.match(table, '\n  db4: agent never joined, 18 checks\n      to fix: start the agent on db4\n')
  t.notMatch(table, /no agent joined for db4/, 'not once per check')
  t.equal(report.checks.filter((c) => c.reason === 'agent-missing').length, 18, 'JSON keeps every check')
  equalsExpected(t, formatTable(report), 'report/fixrun01.table.txt')
})

t.test('--format markdown', async (t) => {
  const report = await fixtureReport()
  equalsExpected(t, formatMarkdown(report), 'report/fixrun01.md')
  const md = formatMarkdown(report)
  t.match(md, '**BLOCKED: 9 required check(s) blocked (exit 1)**')
  t.match(md, '- **db4: agent never joined, 18 checks**: start the agent on db4')
  t.match(md, '| app1 (198.18.1.12) | db1 (198.18.1.14) | tcp/15432 | timeout | DEMO-03: Application queries the database |')
  const piped = formatMarkdown({ ...report, checks: report.checks.map((c) => c.status === 'blocked' ? { ...c, detail: 'a | b\nc <script>' } : c) })
  t.match(piped, '| a \\| b c &lt;script> |', 'cells are escaped')
})

t.test('reading a saved report', async (t) => {
  const report = await fixtureReport()
  t.same(parseReport(JSON.stringify(report), 'r.json'), report, 'a report reads back as written')
  // A report written before checks carried their fix, purpose and agents.
  const old = JSON.parse(JSON.stringify(report)) as Record<string, unknown> & { checks: Array<Record<string, unknown>> }
  delete old.rerunOf
  for (const c of old.checks) { delete c.remedy; delete c.purpose; delete c.ref; delete c.agentHosts }
  const read = parseReport(JSON.stringify(old), 'old.json')
  t.match(read.checks.find((c) => fixtureKey(c) === 'app1>db4 tcp/15432'), { agentHosts: ['db4'], remedy: 'start the agent on db4', purpose: null }, 'agents from the report\'s missing list, the fix recomputed')
  t.equal(read.rerunOf, null)
  const bad = JSON.parse(JSON.stringify(report)) as { checks: Array<Record<string, unknown>> }
  Object.assign(bad.checks[3] as object, { port: 70000, from: 'a;rm -rf /', droppedAt: 'moon', rule: { family: 'inet', table: 'filter', chain: 'input', handle: 0, text: '' } })
  const err = await expectError(async () => parseReport(JSON.stringify(bad), 'bad.json'))
  t.equal(err.code, 'PC_ERR_REPORT_INVALID')
  t.same(err.problems.map((p) => `${p.path}: ${p.message}`), [
    'checks[3].from: expected a valid name or null, not "a;rm -rf /"',
    'checks[3].port: expected a port from 1 to 65535, not 70000',
    'checks[3].droppedAt: expected source, network or target, not "moon"',
    'checks[3].rule: handle: expected a positive integer'
  ])
  t.equal((await expectError(async () => parseReport('{"id":', 'cut.json'))).code, 'PC_ERR_REPORT_INVALID')
})
