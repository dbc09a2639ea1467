import { execFile, execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { CheckReport, RunReport } from '../../packages/coordinator/src/report/report.js'
import { equalsExpected } from '../../packages/coordinator/test/expected-output.js'
import { joinArgs } from '../support/join.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { Lab, type LabProcess } from './lab.js'

// The closed loop of issue 13: a run finds the blocked flows and where each was dropped, `portcheck
// fix` writes the rules, each host applies its own (nftables with `nft -f`, iptables with
// `iptables-restore --noflush`), and a second run finds every flow a host firewall blocked open,
// the drop in the network still there, and nothing else changed.
//
// Five hosts of the demo catalog on one bridge, the coordinator on a sixth, and a fault of every
// kind drop localization tells apart: nftables drops and rejects on targets (a rule, and a chain's
// policy), egress drops on sources (TCP and UDP), iptables (nft backend) rules on db2, and a
// bridge-level rule in the switch that drops app2 → db2 tcp/15432 between the hosts. db1 also has
// a process holding udp/15405: its agent counts db2's probe datagrams there (pass `counted`).
const run = promisify(execFile)

const HOSTS: Array<[string, string, string]> = [
  ['lb1', '198.18.1.11', 'lb'],
  ['app1', '198.18.1.12', 'app'],
  ['app2', '198.18.1.13', 'app'],
  ['db1', '198.18.1.14', 'db'],
  ['db2', '198.18.1.15', 'db']
]
const COORD = '198.18.0.1'
const TOKEN = 'lab-token-closed-loop-1'

/** Each host's nftables ruleset: a `table inet filter`, as most hosts have, holding its faults. */
const NFT: Record<string, string> = {
  lb1: 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n    ip daddr 198.18.1.12 tcp dport 18080 drop\n  }\n}\n',
  app1: 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n    ip daddr 198.18.1.13 udp dport 17946 drop\n  }\n}\n' +
    // A strict table whose policy drops what no rule accepts: here only app2's TCP to 17946.
    'table inet strict {\n  chain input {\n    type filter hook input priority 10; policy drop;\n    ip saddr != 198.18.1.13 accept\n    meta l4proto != tcp accept\n    tcp dport != 17946 accept\n  }\n}\n',
  app2: 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 18080 reject with tcp reset\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n  }\n}\n',
  db1: 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr 198.18.1.12 tcp dport 15432 drop\n    ip saddr 198.18.1.13 udp dport 18125 reject\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n  }\n}\n'
}
/** db2's firewall is iptables (Debian's, nft backend). */
const IPTABLES_DB2 = [
  ['-A', 'INPUT', '-s', '198.18.1.14', '-p', 'tcp', '--dport', '15433', '-j', 'DROP'],
  ['-A', 'INPUT', '-p', 'udp', '--dport', '15405', '-j', 'REJECT']
]
/** In the network: the switch drops app2's database connections to db2. */
const BRIDGE = 'table bridge pcnet {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    ip saddr 198.18.1.13 ip daddr 198.18.1.15 tcp dport 15432 drop\n  }\n}\n'

/** db2's firewall is Debian's iptables: without it, the loop cannot close. */
function iptablesUnavailable (): string | null {
  try {
    execFileSync('iptables-restore', ['--version'], { stdio: 'ignore' })
    return null
  } catch {
    return 'the closed loop needs `iptables-restore` (Debian package iptables)'
  }
}

const key = (c: CheckReport): string => `${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`

/** The exact finding of every check of the first run: status, reason, and for a blocked one where it was dropped and by which rule. */
const FIRST: Record<string, Pick<CheckReport, 'status' | 'reason' | 'droppedAt' | 'rule'>> = {
  'users>lb1 tcp/8443': { status: 'skipped', reason: 'external' },
  'lb1>app1 tcp/18080': { status: 'blocked', reason: 'timeout', droppedAt: 'source', rule: { text: 'ip daddr 198.18.1.12 tcp dport 18080 drop', family: 'inet', table: 'filter', chain: 'output', handle: 3 } },
  'lb1>app2 tcp/18080': { status: 'blocked', reason: 'refused', droppedAt: 'target', rule: { text: 'tcp dport 18080 reject with tcp reset', family: 'inet', table: 'filter', chain: 'input', handle: 3 } },
  'app1>db1 tcp/15432': { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { text: 'ip saddr 198.18.1.12 tcp dport 15432 drop', family: 'inet', table: 'filter', chain: 'input', handle: 3 } },
  'app1>db2 tcp/15432': { status: 'pass', reason: null },
  'app2>db1 tcp/15432': { status: 'pass', reason: null },
  'app2>db2 tcp/15432': { status: 'blocked', reason: 'timeout', droppedAt: 'network' },
  'app1>app2 tcp/17946': { status: 'pass', reason: null },
  'app1>app2 udp/17946': { status: 'blocked', reason: 'egress-denied', droppedAt: 'source', rule: { text: 'ip daddr 198.18.1.13 udp dport 17946 drop', family: 'inet', table: 'filter', chain: 'output', handle: 3 } },
  'app2>app1 tcp/17946': { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { text: 'policy drop', family: 'inet', table: 'strict', chain: 'input' } },
  'app2>app1 udp/17946': { status: 'pass', reason: null },
  'db1>db2 tcp/15433': { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { table: 'filter', chain: 'INPUT', text: 'ip saddr 198.18.1.14 tcp dport 15433 drop' } },
  'db1>db2 udp/15405': { status: 'blocked', reason: 'refused', droppedAt: 'target', rule: { table: 'filter', chain: 'INPUT', text: 'udp dport 15405 reject' } },
  'db2>db1 tcp/15433': { status: 'pass', reason: null },
  'db2>db1 udp/15405': { status: 'pass', reason: 'counted' },
  'app1>db1 udp/18125': { status: 'pass', reason: null },
  'app1>db2 udp/18125': { status: 'pass', reason: null },
  'app2>db1 udp/18125': { status: 'blocked', reason: 'refused', droppedAt: 'target', rule: { text: 'ip saddr 198.18.1.13 udp dport 18125 reject with icmp port-unreachable', family: 'inet', table: 'filter', chain: 'input', handle: 4 } },
  'app2>db2 udp/18125': { status: 'pass', reason: null }
}

/** What a check found, as compared between runs. */
function finding (c: CheckReport): Pick<CheckReport, 'status' | 'reason' | 'droppedAt' | 'rule'> {
  return { status: c.status, reason: c.reason, ...(c.droppedAt !== undefined ? { droppedAt: c.droppedAt } : {}), ...(c.rule !== undefined ? { rule: c.rule } : {}) }
}

t.test('the closed loop: run, apply `portcheck fix` on each host, run again', async (t) => {
  if (!labReady(t, iptablesUnavailable)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-loop-')

  await lab.addHost('coord', COORD)
  for (const [name, address] of HOSTS) await lab.addHost(name, address)
  for (const [host, ruleset] of Object.entries(NFT)) await lab.nft(host, ruleset)
  for (const rule of IPTABLES_DB2) await lab.exec('db2', 'iptables', rule)
  await lab.nftSwitch(BRIDGE)
  const holder = lab.spawn('db1', 'node', ['test/lab/port-holder.js', 'udp:15405'])
  await holder.waitFor(/ready/)

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
  const agents = new Map<string, LabProcess>()
  /** One `portcheck run`; the agents, started on the first, rejoin the next (same state directory). */
  const check = async (name: string): Promise<RunReport> => {
    const file = path.join(dir, `${name}.json`)
    const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--include-optional', '--listen', `${COORD}:7070`,
      '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--wait', '30', '--timeout', '1500', '--format', 'json', '--output', file, '--log-format', 'json'])
    await coordinator.waitFor(/Waiting up to/)
    for (const [host] of HOSTS) {
      if (!agents.has(host)) agents.set(host, lab.spawn(host, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), host), '--log-format', 'json']))
    }
    t.equal(await coordinator.exited, 1, `${name}: exit 1, something required is blocked`)
    return JSON.parse(readFileSync(file, 'utf8')) as RunReport
  }

  const first = await check('first')
  const found = Object.fromEntries(first.checks.map((c) => [key(c), finding(c)]))
  t.same(found, FIRST, 'first run: the exact status, reason, droppedAt and rule of every check')
  t.match(first.localization, { limit: 64, candidates: 9, traced: 9, localized: 9, overLimit: 0, unavailable: [], text: 'localization: 9 of 9 blocked check(s) localized' })
  t.match(first.checks.find((c) => key(c) === 'db2>db1 udp/15405'), { detail: /db1's agent counted \d+ probe datagram\(s\) of this check from db2/ }, 'the UDP port another process holds is proven by counting')
  for (const [host] of HOSTS) {
    const tables = await lab.exec(host, 'nft', ['list', 'tables'])
    t.notMatch(tables, /portcheck_/, `${host}: the agent's temporary tables are gone`)
  }

  // The report as the docs show it: fixed id and start, the rest as found.
  const shown = path.join(dir, 'report.json')
  writeFileSync(shown, JSON.stringify({ ...first, id: 'labrun01', startedAt: '2026-02-02T09:00:00.000Z' }))
  const fix = async (format: string, host?: string): Promise<string> => {
    const { stdout } = await run(process.execPath, [CLI_BIN, 'fix', shown, '--format', format, ...(host !== undefined ? ['--host', host] : [])])
    return stdout
  }
  for (const format of ['nftables', 'iptables', 'firewalld', 'ufw', 'aws', 'azure', 'gcp', 'csv']) equalsExpected(t, await fix(format), `lab/closed-loop.${format}.txt`)
  const dropped = first.checks.filter((c) => c.status === 'blocked').map((c) => JSON.stringify({ from: c.from, to: c.to, protocol: c.protocol, port: c.port, reason: c.reason, droppedAt: c.droppedAt, ...(c.rule !== undefined ? { rule: c.rule } : {}) }))
  equalsExpected(t, `[\n  ${dropped.join(',\n  ')}\n]\n`, 'lab/closed-loop.dropped.json')

  // Each host applies its own rules, with the tool its firewall is made with.
  for (const host of ['lb1', 'app1', 'app2', 'db1']) {
    const file = path.join(dir, `${host}.nft`)
    writeFileSync(file, await fix('nftables', host))
    await lab.exec(host, 'nft', ['-f', file])
  }
  const rules = path.join(dir, 'db2.rules')
  writeFileSync(rules, await fix('iptables', 'db2'))
  equalsExpected(t, readFileSync(rules, 'utf8'), 'lab/closed-loop.db2.iptables.txt')
  await lab.exec('db2', 'sh', ['-c', 'iptables-restore --noflush < "$1"', 'sh', rules])

  const second = await check('second')
  const now = new Map(second.checks.map((c) => [key(c), c]))
  for (const before of first.checks) {
    const k = key(before)
    const after = now.get(k)
    if (before.status === 'blocked' && (before.droppedAt === 'source' || before.droppedAt === 'target')) {
      t.match(after, { status: 'pass', reason: null }, `${k}: a host firewall blocked it; open now`)
    } else {
      t.same(after === undefined ? undefined : finding(after), finding(before), `${k}: unchanged (${before.status ?? ''} ${before.reason ?? ''}${before.droppedAt !== undefined ? `, dropped in the ${before.droppedAt}` : ''})`)
    }
  }
  t.equal(second.checks.length, first.checks.length, 'the same checks')
  t.match(second.localization, { candidates: 1, localized: 1, text: 'localization: 1 of 1 blocked check(s) localized' })

  for (const agent of agents.values()) agent.child.kill('SIGTERM')
  t.same(await Promise.all([...agents.values()].map((a) => a.exited)), [...agents.keys()].map(() => 0), 'agents stop cleanly')
})
