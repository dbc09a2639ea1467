import { execFile } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { browserReady, CHROMIUM, launchBrowser, watchPage } from '../browser/browser.js'
import { joinArgs } from '../support/join.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { Lab, filterRules, listNamespaces, type LabProcess } from './lab.js'

// The demo catalog over a dual-stack inventory: hosts with an IPv4 address (198.18.0.0/15) and an
// IPv6 one (2001:2::/48), one with IPv6 only (app3), one with IPv4 only (db3), and one whose
// IPv6 address in the inventory is not on the host (lb2). Firewall rules that hold for one family
// only: db1 drops the database port over IPv6, db2 over IPv4, app2 rejects gossip over UDP/IPv6,
// app1 drops its metrics over IPv6 on the way out. db2's agent binds one address per family.
// Every flow is checked once per family both ends have, and each check's verdict is exact.
const run = promisify(execFile)

const COORD = ['198.18.0.1', '2001:2::1']
const TOKEN = 'lab-token-ipv6-5b1d0c9e'

interface Host { name: string, roles: string[], inventory: string[], configured: string[] }
const host = (name: string, roles: string[], inventory: string[], configured = inventory): Host => ({ name, roles, inventory, configured })
const HOSTS: Host[] = [
  host('lb1', ['lb'], ['198.18.2.11', '2001:2::11']),
  host('lb2', ['lb'], ['198.18.2.19', '2001:2::19'], ['198.18.2.19']),
  host('app1', ['app'], ['198.18.2.12', '2001:2::12']),
  host('app2', ['app'], ['198.18.2.13', '2001:2::13']),
  host('app3', ['app'], ['2001:2::16']),
  host('db1', ['db'], ['198.18.2.14', '2001:2::14']),
  host('db2', ['db'], ['198.18.2.15', '2001:2::15']),
  host('db3', ['db'], ['198.18.2.17'])
]

/** The verdict expected of every check, per family (`-`: a check without one); anything not listed must not exist. */
const EXPECTED: Record<string, Partial<Record<'ipv4' | 'ipv6' | '-', string>>> = {
  'users>lb1 tcp/8443': { '-': 'skipped external' },
  'users>lb2 tcp/8443': { '-': 'skipped external' },
  'lb1>app1 tcp/18080': { ipv4: 'pass -', ipv6: 'pass -' },
  'lb1>app2 tcp/18080': { ipv4: 'pass -', ipv6: 'pass -' },
  'lb1>app3 tcp/18080': { ipv6: 'pass -' },
  // lb2's IPv6 address is not on lb2: its IPv6 checks prove nothing, its IPv4 ones pass.
  'lb2>app1 tcp/18080': { ipv4: 'pass -', ipv6: 'inconclusive agent-misplaced' },
  'lb2>app2 tcp/18080': { ipv4: 'pass -', ipv6: 'inconclusive agent-misplaced' },
  'lb2>app3 tcp/18080': { ipv6: 'inconclusive agent-misplaced' },
  'app1>db1 tcp/15432': { ipv4: 'pass -', ipv6: 'blocked timeout' }, // ip6 drop on db1
  'app2>db1 tcp/15432': { ipv4: 'pass -', ipv6: 'blocked timeout' },
  'app3>db1 tcp/15432': { ipv6: 'blocked timeout' },
  'app1>db2 tcp/15432': { ipv4: 'blocked timeout', ipv6: 'pass -' }, // ip drop on db2
  'app2>db2 tcp/15432': { ipv4: 'blocked timeout', ipv6: 'pass -' },
  'app3>db2 tcp/15432': { ipv6: 'pass -' },
  'app1>db3 tcp/15432': { ipv4: 'pass -' },
  'app2>db3 tcp/15432': { ipv4: 'pass -' },
  'app3>db3 tcp/15432': { '-': 'inconclusive no-common-family' }, // IPv6 only to IPv4 only
  'app1>db1 udp/18125': { ipv4: 'pass -', ipv6: 'blocked egress-denied' }, // ip6 egress drop on app1
  'app1>db2 udp/18125': { ipv4: 'pass -', ipv6: 'blocked egress-denied' },
  'app1>db3 udp/18125': { ipv4: 'pass -' },
  'app2>db1 udp/18125': { ipv4: 'pass -', ipv6: 'pass -' },
  'app2>db2 udp/18125': { ipv4: 'pass -', ipv6: 'pass -' },
  'app2>db3 udp/18125': { ipv4: 'pass -' },
  'app3>db1 udp/18125': { ipv6: 'pass -' },
  'app3>db2 udp/18125': { ipv6: 'pass -' },
  'app3>db3 udp/18125': { '-': 'inconclusive no-common-family' },
  'app1>app2 tcp/17946': { ipv4: 'pass -', ipv6: 'pass -' },
  'app2>app1 tcp/17946': { ipv4: 'pass -', ipv6: 'pass -' },
  'app1>app3 tcp/17946': { ipv6: 'pass -' },
  'app3>app1 tcp/17946': { ipv6: 'pass -' },
  'app2>app3 tcp/17946': { ipv6: 'pass -' },
  'app3>app2 tcp/17946': { ipv6: 'pass -' },
  'app1>app2 udp/17946': { ipv4: 'pass -', ipv6: 'blocked refused' }, // UDP reject over IPv6 on app2 (ICMPv6 port unreachable)
  'app2>app1 udp/17946': { ipv4: 'pass -', ipv6: 'pass -' },
  'app1>app3 udp/17946': { ipv6: 'pass -' },
  'app3>app1 udp/17946': { ipv6: 'pass -' },
  'app2>app3 udp/17946': { ipv6: 'pass -' },
  'app3>app2 udp/17946': { ipv6: 'blocked refused' },
  'db1>db2 tcp/15433': { ipv4: 'pass -', ipv6: 'pass -' },
  'db2>db1 tcp/15433': { ipv4: 'pass -', ipv6: 'pass -' },
  'db1>db3 tcp/15433': { ipv4: 'pass -' },
  'db3>db1 tcp/15433': { ipv4: 'pass -' },
  'db2>db3 tcp/15433': { ipv4: 'pass -' },
  'db3>db2 tcp/15433': { ipv4: 'pass -' },
  'db1>db2 udp/15405': { ipv4: 'pass -', ipv6: 'pass -' },
  'db2>db1 udp/15405': { ipv4: 'pass -', ipv6: 'pass -' },
  'db1>db3 udp/15405': { ipv4: 'pass -' },
  'db3>db1 udp/15405': { ipv4: 'pass -' },
  'db2>db3 udp/15405': { ipv4: 'pass -' },
  'db3>db2 udp/15405': { ipv4: 'pass -' }
}

const expected = (): Record<string, string> =>
  Object.fromEntries(Object.entries(EXPECTED).flatMap(([k, byFamily]) => Object.entries(byFamily).map(([f, v]) => [`${k} ${f}`, v])))
const keyOf = (c: RunReport['checks'][number]): string => `${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port} ${c.family ?? '-'}`
const byKey = (report: RunReport): Map<string, RunReport['checks'][number]> => new Map(report.checks.map((c) => [keyOf(c), c]))

/** The join command the coordinator printed for a host, as the host runs it: a v6-only host reaches the coordinator at its IPv6 address. */
function agentArgs (output: string, h: Host): string[] {
  const args = joinArgs(output, h.name)
  if (h.configured.every((a) => a.includes(':'))) args[args.indexOf('--coordinator') + 1] = (args[args.indexOf('--coordinator') + 1] as string).replace(COORD[0] as string, `[${COORD[1] as string}]`)
  // db2's agent listens and probes on its two addresses only.
  if (h.name === 'db2') args.push('--bind', h.configured[0] as string, '--bind', h.configured[1] as string)
  return [AGENT_BIN, ...args, '--log-format', 'json']
}

/** The dashboard of the first run, in Chromium in the coordinator's namespace: each port's families apart. */
async function dashboard (t: Test, lab: Lab, dir: string, url: string): Promise<void> {
  if (!browserReady(t)) return
  const wrapper = path.join(dir, 'chromium-in-netns.sh')
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.host('coord').ns} ${CHROMIUM} "$@"\n`)
  chmodSync(wrapper, 0o755)
  const browser = await launchBrowser(t, { executablePath: wrapper })
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ignoreHTTPSErrors: true })
  const page = await context.newPage()
  const watch = watchPage(page, `https://${COORD[0] as string}:7070`)
  await page.goto(url)
  await page.waitForSelector('td.rc[data-from="app"][data-to="db"]')
  const ports = page.locator('td.rc[data-from="app"][data-to="db"] button.port[data-port="15432"]')
  t.same(await ports.evaluateAll((els) => els.map((e) => `${e.querySelector('.port-id')?.textContent ?? ''} ${(e as HTMLElement).dataset.worst ?? ''}`)), [
    '15432/tcp inconclusive', // app3 → db3: no family in common
    '15432/tcp IPv4 blocked',
    '15432/tcp IPv6 blocked'
  ], 'app → db, tcp/15432: one entry per family, each with its own state')
  t.match(await ports.nth(2).textContent(), /blocked on 3 of 6 pairs/, 'IPv6: dropped on db1, from each of the three apps')
  await ports.nth(2).click()
  await page.waitForFunction(() => document.querySelectorAll('#detail-list li.check').length === 6)
  t.match(await page.locator('#detail-title').textContent(), 'app → db · 15432/tcp IPv6')
  t.same([...new Set(await page.locator('#detail-list li.check .port-id').allTextContents())], ['15432/tcp IPv6'], 'the details are the IPv6 checks only, and say so')
  t.same(watch.errors, [], 'no script error')
  await context.close()
}

t.test('dual-stack lab: every flow checked once per family both ends have, every verdict exact', async (t) => {
  if (!labReady(t)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-lab-v6-')

  await lab.addHost('coord', COORD)
  for (const h of HOSTS) await lab.addHost(h.name, h.configured)
  await lab.nft('db1', filterRules('input', '    ip6 saddr 2001:2::/48 tcp dport 15432 drop'))
  await lab.nft('db2', filterRules('input', '    ip saddr 198.18.0.0/15 tcp dport 15432 drop'))
  await lab.nft('app2', filterRules('input', '    ip6 saddr 2001:2::/48 udp dport 17946 reject'))
  await lab.nft('app1', filterRules('output', '    ip6 daddr 2001:2::/48 udp dport 18125 drop'))

  const inventory = path.join(dir, 'inventory.yaml')
  const line = (h: Host): string => `  - { name: ${h.name}, ${h.inventory.length === 1 ? `address: "${h.inventory[0] as string}"` : `addresses: [${h.inventory.map((a) => `"${a}"`).join(', ')}]`}, roles: [${h.roles.join(', ')}] }`
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(line).join('\n')}\n`)
  const state = path.join(dir, 'state')
  const agents: LabProcess[] = []
  const stopAgents = async (): Promise<void> => {
    for (const a of agents) a.child.kill('SIGTERM')
    await Promise.all(agents.map((a) => a.exited))
    agents.length = 0
  }
  /**
   * One `portcheck run` with an agent on every host; resolves with its exit code and JSON report.
   * With `--dashboard`, once the report is written, it first lets `whileUp` look at the dashboard.
   */
  const runOnce = async (file: string, extra: string[] = [], whileUp?: (url: string) => Promise<void>): Promise<{ code: number | string, report: RunReport }> => {
    const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--include-optional', '--listen', '[::]:7070',
      '--token', TOKEN, '--state-dir', state, '--wait', '10', '--timeout', '1500', '--format', 'json', '--output', file, '--log-format', 'json', ...extra])
    await coordinator.waitFor(/Waiting up to/)
    for (const h of HOSTS) agents.push(lab.spawn(h.name, 'node', agentArgs(coordinator.stderr(), h)))
    if (whileUp !== undefined) {
      await coordinator.waitFor(/\nDashboard: https:\/\/\S+/, 60_000)
      await whileUp(/\nDashboard: (https:\/\/\S+)/.exec(coordinator.stderr())?.[1] ?? '')
      coordinator.child.kill('SIGINT')
    }
    const code = await coordinator.exited
    await stopAgents()
    return { code, report: JSON.parse(readFileSync(file, 'utf8')) as RunReport }
  }

  const first = path.join(dir, 'report.json')
  const { report } = await runOnce(first, ['--dashboard'], async (url) => { await dashboard(t, lab, dir, url) })
  t.match(report, { verdict: 'blocked', exitCode: 1 }, 'exit code 1: required flows are blocked (over one family)')
  const actual = Object.fromEntries(report.checks.map((c) => [keyOf(c), `${c.status ?? 'none'} ${c.reason ?? '-'}`]))
  t.same(actual, expected(), 'the exact status and reason of every check, per family')
  t.equal(report.dualStack, true, 'the report says it is of a dual-stack inventory')

  const checks = byKey(report)
  for (const c of report.checks.filter((x) => x.status === 'pass')) {
    const src = HOSTS.find((h) => h.name === c.from) as Host
    const dst = HOSTS.find((h) => h.name === c.to) as Host
    const want = c.family === 'ipv6' ? (a: string): boolean => a.includes(':') : (a: string): boolean => !a.includes(':')
    t.same([c.observedSource, c.fromAddress, c.toAddress, c.targetAddress], [src.inventory.find(want), src.inventory.find(want), dst.inventory.find(want), dst.inventory.find(want)],
      `${keyOf(c)}: proven from the source's ${c.family ?? ''} address (an IPv4 peer of a dual-stack listener is not reported as ::ffff:…), to the target's`)
  }
  t.match(checks.get('app3>db3 tcp/15432 -'), { family: null, fromAddress: '2001:2::16', toAddress: '198.18.2.17', detail: /app3 has only an IPv6 address in the inventory \(2001:2::16\) and db3 only an IPv4 one \(198\.18\.2\.17\)/ }, 'no common family, said plainly')
  t.match(checks.get('lb2>app1 tcp/18080 ipv6'), { agentHosts: ['lb2'], detail: /lb2's agent does not have lb2's inventory IPv6 address 2001:2::19/ }, 'the missing IPv6 address is named')
  t.match(checks.get('app1>db1 tcp/15432 ipv6'), { detail: /silently dropped between app1 and db1/, toAddress: '2001:2::14' })
  t.match(checks.get('app1>app2 udp/17946 ipv6'), { reason: 'refused', targetAddress: '2001:2::13' })

  // Every text names the family of each check; fixes match the family's addresses.
  const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI_BIN, ...args])).stdout
  const nft = await cli('fix', first, '--format', 'nftables', '--nft-input', 'inet pctest input', '--nft-output', 'inet pctest output')
  t.match(nft, /ip6 saddr 2001:2::12 tcp dport 15432 accept comment "portcheck DEMO-03 app1->db1 tcp\/15432 IPv6"/, 'nftables: ip6 saddr for an IPv6 drop')
  t.match(nft, /ip saddr 198\.18\.2\.12 tcp dport 15432 accept comment "portcheck DEMO-03 app1->db2 tcp\/15432 IPv4"/, 'nftables: ip saddr for an IPv4 drop')
  t.match(nft, /ip6 daddr 2001:2::14 udp dport 18125 accept/, 'nftables: an IPv6 egress accept on the source')
  t.notMatch(nft, /ip saddr 198\.18\.2\.12 tcp dport 15432 accept comment "portcheck DEMO-03 app1->db1/, 'nothing opened over the family that passed')
  const ipt = await cli('fix', first, '--format', 'iptables', '--host', 'db1')
  t.match(ipt, /#6 -A PORTCHECK-FIX-INPUT -s 2001:2::12\/128 -p tcp -m tcp --dport 15432/, 'iptables: the IPv6 rule is for ip6tables')
  t.notMatch(ipt, /^-A PORTCHECK-FIX-INPUT -s 198/m, 'and no iptables rule on db1, whose IPv4 passes')
  const aws = JSON.parse(await cli('fix', first, '--format', 'aws', '--host', 'db1')) as { IpPermissions: Array<{ Ipv6Ranges?: unknown[], IpRanges?: unknown[] }> }
  t.ok(aws.IpPermissions.every((p) => (p.Ipv6Ranges?.length ?? 0) > 0 && (p.IpRanges ?? []).length === 0), 'aws: db1 opens Ipv6Ranges only')

  // Fixed as `portcheck fix` says, the re-run of the failed checks finds exactly them, family by family.
  for (const h of ['db1', 'db2', 'app1', 'app2']) {
    const file = path.join(dir, `${h}.nft`)
    await run(process.execPath, [CLI_BIN, 'fix', first, '--format', 'nftables', '--host', h, '--nft-input', 'inet pctest input', '--nft-output', 'inet pctest output', '--output', file])
    await lab.exec(h, 'nft', ['-f', file])
  }
  const second = path.join(dir, 'rerun.json')
  const rerun = await runOnce(second, ['--rerun-failed', first])
  const failed = report.checks.filter((c) => c.status === 'blocked' || c.status === 'inconclusive').map(keyOf).sort()
  t.same(rerun.report.checks.map(keyOf).sort(), failed, 'the re-run repeats the failed checks, each over its own family')
  t.same(rerun.report.checks.filter((c) => c.status !== 'pass').map((c) => `${keyOf(c)} ${c.reason ?? '-'}`).sort(),
    failed.filter((k) => EXPECTED[k.slice(0, k.lastIndexOf(' '))]?.[k.slice(k.lastIndexOf(' ') + 1) as 'ipv4']?.startsWith('inconclusive') === true).map((k) => `${k} ${k.includes('lb2') ? 'agent-misplaced' : 'no-common-family'}`).sort(),
    'every blocked check passes once fixed; what no rule fixes stays inconclusive')
  t.equal(rerun.code, 3, 'exit 3: nothing blocked, some not proven')
  const diff = await cli('diff', first, second)
  t.match(diff, /app1 → db1 +tcp\/15432 IPv6 +blocked timeout +→ pass/, 'diff names the family of each check')

  // A coordinator on an IPv6-only machine prints join commands with its IPv6 address.
  const v6only = lab.spawn('app3', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--listen', '[::]:7070', '--token', TOKEN,
    '--state-dir', path.join(dir, 'state-v6'), '--wait', '1', '--format', 'json', '--output', path.join(dir, 'v6only.json')])
  await v6only.waitFor(/Waiting up to/)
  t.match(v6only.stderr(), /--coordinator wss:\/\/\[2001:2::16\]:7070 --token \S+ --name lb1/, 'the join commands name the coordinator by its IPv6 address')
  v6only.child.kill('SIGINT')
  await v6only.exited

  await lab.destroy()
  t.same(lab.remainingNamespaces(), [], 'no namespace left behind')
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'really none')
})
