import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { FIX_FORMATS, formatFix, type FixFormat } from '../src/fix/format-fix.js'
import { parseChainRef } from '../src/fix/nftables.js'
import { planFixes } from '../src/fix/fix-plan.js'
import { equalsExpected } from './expected-output.js'
import { expectError } from './helpers.js'
import { fixtureReport } from './report-fixture.js'

const run = promisify(execFile)

/** Runs the CLI; resolves with its exit code and output, whatever the code. */
async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
const CLI = 'packages/coordinator/bin/portcheck.js'
const FORMATS = Object.keys(FIX_FORMATS) as FixFormat[]
const EXT: Record<FixFormat, string> = { nftables: 'nft', iptables: 'rules', firewalld: 'sh', ufw: 'sh', aws: 'json', azure: 'sh', gcp: 'sh', csv: 'csv' }

t.test('every format, on the fixture report: exact output', async (t) => {
  const report = await fixtureReport()
  for (const format of FORMATS) {
    const out = formatFix(report, format)
    equalsExpected(t, out.text, `fix/all.${format}.${EXT[format]}`)
    // JSON and CSV carry no comments: their notes go aside (stderr), the others' into the text.
    t.equal(out.aside.length > 0, !FIX_FORMATS[format].comments, `${format}: notes aside only without comments`)
  }
  equalsExpected(t, formatFix(report, 'aws').aside.join('\n') + '\n', 'fix/all.aws.stderr.txt')
})

t.test('--host: only the rules that go on that host', async (t) => {
  const report = await fixtureReport()
  for (const host of ['db1', 'lb1']) {
    for (const format of ['nftables', 'iptables', 'aws'] as const) equalsExpected(t, formatFix(report, format, { host }).text, `fix/${host}.${format}.${EXT[format]}`)
  }
  const db1 = planFixes(report, { scope: 'host', host: 'db1' })
  t.same(db1.rules.map((r) => `${r.check.from}>${r.check.to} ${r.direction}`), ['app1>db1 inbound', 'app2>db1 inbound', 'app3>db1 inbound'])
  const lb1 = planFixes(report, { scope: 'host', host: 'lb1' })
  t.same(lb1.rules.map((r) => `${r.check.from}>${r.check.to} ${r.direction} ${r.target ?? ''}`), ['lb1>app2 outbound 198.18.1.13'], 'egress-denied: an outbound rule on the source')
  t.same(planFixes(report, { scope: 'host', host: 'app1' }).rules, [], 'app1 takes no rule: its drops are on the targets')
  const err = await expectError(async () => planFixes(report, { scope: 'host', host: 'db9' }))
  t.equal(err.code, 'PC_ERR_OPTION_INVALID')
  t.match(err.message, /--host db9: no such host in run fixrun01 \(hosts: lb1, app1, /)
})

t.test('where each rule goes, and what is left to investigate', async (t) => {
  const report = await fixtureReport()
  const host = planFixes(report, { scope: 'host' })
  const where = (p: typeof host): string[] => p.rules.map((r) => `${r.host} ${r.direction} ${r.check.from}>${r.check.to} ${r.check.protocol}/${r.check.port} ${r.source ?? '-'} ${r.target ?? '-'}`)
  t.same(where(host), [
    'lb1 outbound lb1>app2 tcp/18080 - 198.18.1.13',
    'db1 inbound app1>db1 tcp/15432 198.18.1.12 -',
    'db2 inbound app1>db2 tcp/15432 198.18.1.12 -',
    'db3 inbound app1>db3 tcp/15432 198.18.1.12 -',
    'db1 inbound app2>db1 tcp/15432 198.18.1.13 -',
    'db1 inbound app3>db1 tcp/15432 2001:db8::13 -',
    'db3 inbound db2>db3 tcp/15433 198.18.1.15 -',
    'db2 inbound app2>db2 udp/18125 198.18.1.13 -'
  ], 'host scope: targets inbound (unlocalized, target drops), the source outbound (egress-denied); a target known by name needs only the source address')
  t.same(host.investigate.map((n) => n.subject), ['db4', 'db1->db2 tcp/15433 [DEMO-05]', 'db2->db1 udp/15405 [DEMO-05]'], 'missing agent once per host, the interceptor, the port in use')
  t.same(host.elsewhere.map((n) => n.subject), ['app1->app2 udp/17946 [DEMO-04]'], 'a network drop is not for a host firewall')
  const network = planFixes(report, { scope: 'network' })
  t.same(where(network), [
    'db1 inbound app1>db1 tcp/15432 198.18.1.12 198.18.1.14',
    'app2 inbound app1>app2 udp/17946 198.18.1.12 198.18.1.13',
    'db2 inbound app2>db2 udp/18125 198.18.1.13 198.18.1.15'
  ], 'network scope: unlocalized and network drops, both addresses')
  t.match(network.investigate.find((n) => n.subject.startsWith('app1->db3'))?.text, /no IP address for db3 \(db3\.lab\.internal\)/, 'a name is never written into a rule')
  t.match(network.investigate.find((n) => n.subject.startsWith('app3->db1'))?.text, /of different IP versions/)
  t.same(network.elsewhere.map((n) => n.subject), ['lb1->app2 tcp/18080 [DEMO-02]', 'app1->db2 tcp/15432 [DEMO-03]', 'app2->db1 tcp/15432 [DEMO-03]', 'db2->db3 tcp/15433 [DEMO-05]'], 'drops on a host are for host formats')
})

t.test('nftables chain options', async (t) => {
  t.same(parseChainRef(' inet  pctest input ', '--nft-input'), { family: 'inet', table: 'pctest', chain: 'input' })
  for (const bad of ['inet filter', 'bridge filter input', 'inet fil"ter input', 'inet filter input extra']) {
    const err = await expectError(async () => parseChainRef(bad, '--nft-input'))
    t.equal(err.code, 'PC_ERR_USAGE', bad)
  }
  const report = await fixtureReport()
  const text = formatFix(report, 'nftables', { host: 'db1', nftables: { input: parseChainRef('inet pctest input', '--nft-input') } }).text
  t.match(text, 'add rule inet pctest portcheck-fix-input ip saddr 198.18.1.12 tcp dport 15432 accept')
  t.match(text, 'insert rule inet pctest input jump portcheck-fix-input')
})

t.test('portcheck fix: the CLI reads a saved report and writes the same', async (t) => {
  const dir = t.testdir()
  const file = path.join(dir, 'report.json')
  writeFileSync(file, JSON.stringify(await fixtureReport(), null, 2))
  const nft = await cli(['fix', file, '--format', 'nftables', '--host', 'db1'])
  t.equal(nft.code, 0)
  equalsExpected(t, nft.stdout, 'fix/db1.nftables.nft')
  const aws = await cli(['fix', file, '-f', 'aws'])
  equalsExpected(t, aws.stdout, 'fix/all.aws.json')
  t.match(aws.stderr, /^portcheck fix: To investigate \(no rule written\):\nportcheck fix: {3}db4: agent never joined, 18 checks/)
  const out = path.join(dir, 'fix.csv')
  t.equal((await cli(['fix', file, '-f', 'csv', '-o', out])).code, 0)
  equalsExpected(t, readFileSync(out, 'utf8'), 'fix/all.csv.csv')
  const bad = await cli(['fix', file, '-f', 'pf'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /Invalid values:\s+Argument: format, Given: "pf"/)
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ id: 'x1', catalog: 'demo' }))
  const summary = await cli(['fix', path.join(dir, 'summary.json'), '-f', 'ufw'])
  t.equal(summary.code, 2)
  t.match(summary.stderr, /PC_ERR_REPORT_INVALID: .*summary\.json is not a valid portcheck report:\n {2}.*summary\.json: checks: expected the list of checks/)
})
