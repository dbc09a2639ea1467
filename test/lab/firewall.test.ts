import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { NftablesRule } from '../../packages/coordinator/src/report/drop-site.js'
import type { CheckReport, RunReport } from '../../packages/coordinator/src/report/report.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { joinArgs } from '../support/join.js'
import { Lab, filterRules, listNamespaces, redirectRules, type LabProcess } from './lab.js'

// Six hosts of the demo catalog on one bridge, a coordinator in its own namespace, and a
// firewall rule (or a stray process, or a DNAT) behind every way a flow can fail. db3 is in
// the inventory, but its agent never starts.
const HOSTS: Array<[string, string, string]> = [
  ['lb1', '198.18.1.11', 'lb'],
  ['app1', '198.18.1.12', 'app'],
  ['app2', '198.18.1.13', 'app'],
  ['db1', '198.18.1.14', 'db'],
  ['db2', '198.18.1.15', 'db'],
  ['db3', '198.18.1.16', 'db']
]
const COORD = '198.18.0.1'
const TOKEN = 'lab-token-5b1d0c9e'

const filter = filterRules
const redirect = redirectRules

/** The exact verdict expected of every check; anything not listed must not exist. */
const EXPECTED: Record<string, string> = {
  'users>lb1 tcp/8443': 'skipped external',
  'lb1>app1 tcp/18080': 'blocked timeout', // egress drop on lb1 (TCP)
  'lb1>app2 tcp/18080': 'blocked timeout', // TCP drop on app2
  'app1>db1 tcp/15432': 'blocked refused', // TCP reject with reset on db1
  'app2>db1 tcp/15432': 'blocked refused',
  'app1>db2 tcp/15432': 'blocked timeout', // per-source drop on db2: app1 only
  'app2>db2 tcp/15432': 'pass -',
  'app1>db3 tcp/15432': 'inconclusive agent-missing',
  'app2>db3 tcp/15432': 'inconclusive agent-missing',
  'app1>app2 tcp/17946': 'pass -',
  'app1>app2 udp/17946': 'pass -',
  'app2>app1 tcp/17946': 'blocked intercepted', // DNAT on app1 to a plain process
  'app2>app1 udp/17946': 'blocked refused', // UDP reject on app1
  'db1>db2 tcp/15433': 'blocked intercepted', // DNAT on db2 to the agent's own 15432 listener
  'db1>db2 udp/15405': 'blocked timeout', // UDP drop on db2
  'db2>db1 tcp/15433': 'pass counted', // another process holds tcp/15433 on db1: its agent (root) sees the SYN of db2's connection
  'db2>db1 udp/15405': 'pass counted', // another process holds udp/15405 on db1: its agent (root) counts the probe's datagrams
  'db1>db3 tcp/15433': 'inconclusive agent-missing',
  'db1>db3 udp/15405': 'inconclusive agent-missing',
  'db3>db1 tcp/15433': 'inconclusive agent-missing',
  'db3>db1 udp/15405': 'inconclusive agent-missing',
  'db2>db3 tcp/15433': 'inconclusive agent-missing',
  'db2>db3 udp/15405': 'inconclusive agent-missing',
  'db3>db2 tcp/15433': 'inconclusive agent-missing',
  'db3>db2 udp/15405': 'inconclusive agent-missing',
  'app1>db1 udp/18125': 'blocked unreachable', // ICMP admin-prohibited from db1
  'app1>db2 udp/18125': 'pass -',
  'app1>db3 udp/18125': 'inconclusive agent-missing',
  'app2>db1 udp/18125': 'blocked egress-denied', // egress drop on app2 (UDP: EPERM)
  'app2>db2 udp/18125': 'blocked egress-denied',
  'app2>db3 udp/18125': 'inconclusive agent-missing'
}

const nft = (chain: 'input' | 'output', handle: number, text: string): NftablesRule => ({ text, family: 'inet', table: 'pctest', chain, handle })

/** Where each blocked check was dropped, and by which rule, as drop localization finds it (the intercepted ones are not drops). */
const DROPPED: Record<string, Pick<CheckReport, 'droppedAt' | 'rule'>> = {
  'lb1>app1 tcp/18080': { droppedAt: 'source', rule: nft('output', 2, 'ip daddr 198.18.1.12 tcp dport 18080 drop') },
  'lb1>app2 tcp/18080': { droppedAt: 'target', rule: nft('input', 2, 'tcp dport 18080 drop') },
  'app1>db1 tcp/15432': { droppedAt: 'target', rule: nft('input', 2, 'tcp dport 15432 reject with tcp reset') },
  'app2>db1 tcp/15432': { droppedAt: 'target', rule: nft('input', 2, 'tcp dport 15432 reject with tcp reset') },
  'app1>db2 tcp/15432': { droppedAt: 'target', rule: nft('input', 2, 'ip saddr 198.18.1.12 tcp dport 15432 drop') },
  'app2>app1 tcp/17946': {},
  'app2>app1 udp/17946': { droppedAt: 'target', rule: nft('input', 2, 'udp dport 17946 reject') },
  'db1>db2 tcp/15433': {},
  'db1>db2 udp/15405': { droppedAt: 'target', rule: nft('input', 3, 'udp dport 15405 drop') },
  'app1>db1 udp/18125': { droppedAt: 'target', rule: nft('input', 3, 'udp dport 18125 reject with icmpx admin-prohibited') },
  'app2>db1 udp/18125': { droppedAt: 'source', rule: nft('output', 4, 'udp dport 18125 drop') },
  'app2>db2 udp/18125': { droppedAt: 'source', rule: nft('output', 4, 'udp dport 18125 drop') }
}

for (const [mode, timeout] of [['a fixed 1500 ms timeout', '1500'], ['--timeout auto', 'auto']] as const) {
  t.test(`namespace lab, ${mode}: every verdict, exactly`, async (t) => {
    if (!labReady(t)) return
    const { lab, dir } = await Lab.forTest(t, 'portcheck-lab-')

    await lab.addHost('coord', COORD)
    for (const [name, address] of HOSTS) await lab.addHost(name, address)

    await lab.nft('lb1', filter('output', '    ip daddr 198.18.1.12 tcp dport 18080 drop'))
    await lab.nft('app2', filter('input', '    tcp dport 18080 drop'))
    await lab.nft('app2', filter('output', '    udp dport 18125 drop'))
    await lab.nft('db1', filter('input', '    tcp dport 15432 reject with tcp reset\n    udp dport 18125 reject with icmpx admin-prohibited'))
    await lab.nft('db2', filter('input', '    ip saddr 198.18.1.12 tcp dport 15432 drop\n    udp dport 15405 drop'))
    await lab.nft('db2', redirect('    tcp dport 15433 redirect to :15432'))
    await lab.nft('app1', filter('input', '    udp dport 17946 reject'))
    await lab.nft('app1', redirect('    tcp dport 17946 redirect to :19000'))
    const holders = [
      lab.spawn('db1', 'node', ['test/lab/port-holder.js', 'tcp:15433', 'udp:15405']),
      lab.spawn('app1', 'node', ['test/lab/port-holder.js', 'tcp-answer:19000'])
    ]
    await Promise.all(holders.map((h) => h.waitFor(/ready/)))

    const inventory = path.join(dir, 'inventory.yaml')
    writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
    const reportFile = path.join(dir, 'report.json')
    const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--include-optional', '--listen', `${COORD}:7070`,
      '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--wait', '5', '--timeout', timeout, '--format', 'json', '--output', reportFile, '--log-format', 'json'])
    await coordinator.waitFor(/Waiting up to/)

    const agents = new Map<string, LabProcess>()
    for (const [name] of HOSTS.filter(([n]) => n !== 'db3')) {
    // Each node runs the join command the coordinator printed for it, verbatim: TLS, the pin, its own credential.
      agents.set(name, lab.spawn(name, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), name), '--log-format', 'json']))
    }
    const code = await coordinator.exited
    t.equal(code, 1, 'exit code 1: required flows are blocked')
    const logLines = [coordinator.stderr(), ...[...agents.values()].map((a) => a.stderr())].join('\n').split('\n').filter((l) => l.startsWith('{'))
    t.ok(logLines.length > 10, 'logs are pino JSON lines')
    t.notOk(logLines.some((l) => l.includes(TOKEN)), 'the token is never logged (only printed once in the join instructions)')
    const credentials = [...agents.keys()].map((n) => joinArgs(coordinator.stderr(), n)[joinArgs(coordinator.stderr(), n).indexOf('--token') + 1] as string)
    t.notOk(logLines.some((l) => credentials.some((c) => l.includes(c))), 'nor is any host\'s credential')
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport

    const actual: Record<string, string> = {}
    for (const c of report.checks) actual[`${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`] = `${c.status ?? 'none'} ${c.reason ?? '-'}`
    t.same(actual, EXPECTED, 'the exact status and reason of every check')
    const dropped = Object.fromEntries(report.checks.filter((c) => c.status === 'blocked').map((c) => [`${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`, { ...(c.droppedAt !== undefined ? { droppedAt: c.droppedAt } : {}), ...(c.rule !== undefined ? { rule: c.rule } : {}) }]))
    t.same(dropped, DROPPED, 'where every blocked check was dropped, and by which rule')
    t.match(report.localization, { candidates: 10, localized: 10, unavailable: [] })

    const by = new Map(report.checks.map((c) => [`${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`, c]))
    t.match(by.get('db1>db2 tcp/15433'), { detail: /arrived at db2 on tcp\/15432/, observedSource: '198.18.1.14' }, 'the DNAT is named')
    t.match(by.get('app2>app1 tcp/17946'), { echo: 'other' }, 'the plain process answered')
    t.match(by.get('db2>db1 tcp/15433'), { detail: /^another process holds tcp\/15433 on db1; db1's agent saw the SYN of [1-9]\d* of db2's completed connection\(s\) to it getting past db1's firewall$/ }, 'the TCP port another process holds: its connection proven by the SYN db1 counted')
    for (const c of report.checks.filter((x) => x.status === 'pass' && x.reason === null)) {
      t.equal(c.observedSource, c.fromAddress, `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}: seen from the source's own address`)
    }
    t.match(report, { verdict: 'blocked', exitCode: 1, agents: { expected: 6, joined: 5, missing: ['db3'] } })
    t.ok(report.durationMs < 10_000, `the run took ${report.durationMs} ms with ${mode}`)

    // The run is over: the agents are still connected, and must hold no socket at all but their control connection.
    for (const [name, agent] of agents) {
      const pid = agent.child.pid as number
      const mine = (await lab.sockets(name)).filter((l) => l.includes(`pid=${pid},`))
      t.same(mine, [], `${name}: no listener left open by the agent`)
    }
    for (const agent of agents.values()) agent.child.kill('SIGTERM')
    const codes = await Promise.all([...agents.values()].map((a) => a.exited))
    t.same(codes, codes.map(() => 0), 'agents stop cleanly on SIGTERM')

    await lab.destroy()
    t.same(lab.remainingNamespaces(), [], 'no namespace left behind')
    t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'really none')
  })
}
