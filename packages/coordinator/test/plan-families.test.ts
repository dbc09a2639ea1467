import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { Catalog, InventoryHost } from '@portcheck/protocol'
import { buildPlan, planSize } from '../src/plan/expand.js'
import { familyPaths, noCommonFamily } from '../src/plan/families.js'
import { rerunPlan } from '../src/report/rerun-plan.js'
import { checkKey } from '../src/report/check-key.js'
import { parseReport } from '../src/report/read-report.js'
import type { RunReport } from '../src/report/report.js'

const run = promisify(execFile)

const catalog: Catalog = {
  id: 'fam',
  title: 'Families',
  roles: { fe: { title: 'Frontend' }, be: { title: 'Backend' }, users: { title: 'Users', external: true } },
  flows: [
    { id: 'F1', from: 'users', to: 'fe', tcp: [443], purpose: 'ui' },
    { id: 'F2', from: 'fe', to: 'be', tcp: [5432], purpose: 'db' },
    { id: 'F3', from: 'be', to: 'be', udp: [9638], purpose: 'mesh' }
  ]
}

const h = (name: string, roles: string[], addresses: string[]): InventoryHost => ({ name, roles, address: addresses[0] as string, addresses })
const hosts: InventoryHost[] = [
  h('fe4', ['fe'], ['198.18.0.1']),
  h('fe6', ['fe'], ['2001:2::2']),
  h('fed', ['fe'], ['198.18.0.3', '2001:2::3']),
  h('fen', ['fe'], ['fe.example']),
  h('be4', ['be'], ['198.18.0.11']),
  h('bed', ['be'], ['198.18.0.12', '2001:2::12']),
  h('ben', ['be'], ['be.example'])
]

const row = (c: { from: string | null, to: string | null, family: string | null, fromAddress: string | null, toAddress: string | null }): string =>
  `${c.from ?? '-'}>${c.to ?? '-'} ${c.family ?? '-'} ${c.fromAddress ?? '-'}>${c.toAddress ?? '-'}`

t.test('one check per family both ends have; none in common, a name, external ends', async (t) => {
  const plan = buildPlan({ catalog, hosts, settings: {} })
  const tcp = plan.checks.filter((c) => c.port === 5432).map(row)
  t.same(tcp, [
    'fe4>be4 ipv4 198.18.0.1>198.18.0.11',
    'fe4>bed ipv4 198.18.0.1>198.18.0.12', // a single-family source: its family only
    'fe4>ben ipv4 198.18.0.1>be.example', // a name, from an IPv4-only source: resolved in IPv4
    'fe6>be4 - 2001:2::2>198.18.0.11', // no family in common
    'fe6>bed ipv6 2001:2::2>2001:2::12',
    'fe6>ben ipv6 2001:2::2>be.example',
    'fed>be4 ipv4 198.18.0.3>198.18.0.11',
    'fed>bed ipv4 198.18.0.3>198.18.0.12', // dual-stack to dual-stack: both
    'fed>bed ipv6 2001:2::3>2001:2::12',
    'fed>ben - 198.18.0.3>be.example', // a name from a dual-stack source: the resolver's first answer
    'fen>be4 ipv4 fe.example>198.18.0.11', // a source by name: each family of the target
    'fen>bed ipv4 fe.example>198.18.0.12',
    'fen>bed ipv6 fe.example>2001:2::12',
    'fen>ben - fe.example>be.example'
  ], 'in plan order')
  t.same(plan.checks.filter((c) => c.port === 443).map(row), ['->fe4 - ->198.18.0.1', '->fe6 - ->2001:2::2', '->fed - ->198.18.0.3', '->fen - ->fe.example'], 'an external end: one check, no family')
  t.same(plan.checks.filter((c) => noCommonFamily(c)).map(row), ['fe6>be4 - 2001:2::2>198.18.0.11'], 'only IPv6-only to IPv4-only has no family in common')
  const keys = plan.checks.map(checkKey)
  t.equal(new Set(keys).size, keys.length, 'every check has a key of its own: the family is part of it')
  t.ok(keys.includes('fed>bed tcp/5432 ipv4') && keys.includes('fed>bed tcp/5432 ipv6'), 'the two families of one flow are two keys')
  t.same(familyPaths(hosts[2] as InventoryHost, hosts[2] as InventoryHost).map((p) => p.family), ['ipv4', 'ipv6'], 'the mesh expands the same way')
})

t.test('the plan size counts a dual-stack pair twice, before any check is built', async (t) => {
  const plan = buildPlan({ catalog, hosts, settings: {} })
  const size = planSize({ catalog, hosts, settings: {} })
  t.ok(size.checks >= plan.checks.length, `the count (${size.checks}) is an upper bound of the plan (${plan.checks.length})`)
  t.equal(size.checks, plan.checks.length, 'and exact without multi-role hosts')
  const one = planSize({ catalog, hosts: hosts.filter((x) => x.name === 'fed' || x.name === 'bed'), settings: {} })
  t.equal(one.checks, 1 + 2, 'users>fed, and fed>bed over both families')
})

t.test('re-running failed checks and reading old reports: the family keeps them apart', async (t) => {
  const plan = buildPlan({ catalog, hosts, settings: {} })
  const checks = plan.checks.map((c) => ({ ...c, status: c.from === 'fed' && c.family === 'ipv6' ? 'blocked' : 'pass', reason: null }))
  const report = { id: 'r1', catalog: 'fam', checks } as unknown as RunReport
  const again = rerunPlan(plan, report)
  t.same(again.plan.checks.map(checkKey), ['fed>bed tcp/5432 ipv6'], 'only the IPv6 check of the pair')

  // A report written before checks had a family: each check gets the one it had (one address per host then).
  const old = parseReport(JSON.stringify({
    id: 'old1',
    catalog: 'fam',
    checks: [
      { from: 'fe4', to: 'be4', fromRole: 'fe', toRole: 'be', fromAddress: '198.18.0.1', toAddress: '198.18.0.11', protocol: 'tcp', port: 5432, flowIds: ['F2'], required: true, status: 'blocked', reason: 'timeout', detail: null },
      { from: 'fe4', to: 'ben', fromRole: 'fe', toRole: 'be', fromAddress: '198.18.0.1', toAddress: 'be.example', protocol: 'tcp', port: 5432, flowIds: ['F2'], required: true, status: 'blocked', reason: 'timeout', detail: null },
      { from: null, to: 'fe4', fromRole: 'users', toRole: 'fe', fromAddress: null, toAddress: '198.18.0.1', protocol: 'tcp', port: 443, flowIds: ['F1'], required: true, status: 'skipped', reason: 'external', detail: null }
    ]
  }), 'old.json')
  t.same(old.checks.map((c) => [c.family, c.targetAddress]), [['ipv4', '198.18.0.11'], ['ipv4', null], [null, '198.18.0.1']])
  t.equal(old.dualStack, false)
  t.same(rerunPlan(plan, old).plan.checks.map(checkKey), ['fe4>be4 tcp/5432 ipv4', 'fe4>ben tcp/5432 ipv4'], 'an old report re-runs into a new plan')
  t.throws(() => parseReport(JSON.stringify({ id: 'x1', catalog: 'fam', checks: [{ ...old.checks[0], family: 'inet6' }] }), 'bad.json'), /checks\[0\]\.family: expected ipv4, ipv6 or null, not "inet6"/)
})

t.test('portcheck plan: the family of each check of a dual-stack inventory; a bad address list, named', async (t) => {
  const dir = t.testdir({
    'hosts.yaml': `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n` +
      '  - { name: app1, addresses: [198.18.0.1, "2001:2::1"], roles: [app] }\n' +
      '  - { name: db1, addresses: [198.18.0.2, "2001:2::2"], roles: [db] }\n' +
      '  - { name: db2, address: "2001:2::3", roles: [db] }\n' +
      '  - { name: db3, address: 198.18.0.4, roles: [db] }\n',
    'bad.yaml': `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n` +
      '  - { name: app1, address: 198.18.0.1, addresses: [198.18.0.1, "2001:2::1"], roles: [app] }\n'
  })
  const { stdout } = await run(process.execPath, ['packages/coordinator/bin/portcheck.js', 'plan', '-i', path.join(dir, 'hosts.yaml')])
  t.match(stdout, '  app1 -> db1  tcp/15432 IPv4  required  [DEMO-03]\n  app1 -> db1  tcp/15432 IPv6  required  [DEMO-03]\n  app1 -> db2  tcp/15432 IPv6  required  [DEMO-03]\n  app1 -> db3  tcp/15432 IPv4  required  [DEMO-03]\n')
  t.match(stdout, '  db2 -> db3  tcp/15433  required, no common family  [DEMO-05]\n', 'a pair of no common family is planned, and marked')
  const bad = await run(process.execPath, ['packages/coordinator/bin/portcheck.js', 'plan', '-i', path.join(dir, 'bad.yaml')]).then(() => null, (err: { code: number, stderr: string }) => err)
  t.equal(bad?.code, 2, 'bad input: exit 2')
  t.match(bad?.stderr, /bad\.yaml:3:\d+: hosts\[0\]\.addresses: give either address \(198\.18\.0\.1\) or addresses, not both/, 'the file, line, column and field')
})
