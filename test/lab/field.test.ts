import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { joinArgs } from '../support/join.js'
import { Lab, filterRules, listNamespaces, redirectRules, type LabProcess } from './lab.js'
import { delayUnavailable } from './netem.js'

// Field conditions, each with its exact verdict, through the real CLI and real agents:
// - api2's join command was run on api1's node: its agent runs beside api1's, not on api2;
// - db1 sends tcp/15432 to a silent interceptor (a DNAT to a process that accepts, reads and
//   never answers) and drops udp/15405;
// - db2 is flooded by a third party with 1,024 idle connections to its temporary listener (and
//   every one db2 closes is reopened), while api1's probes reach db2 600 ms late: the flood is
//   in full swing when they arrive, and the coordinator is 600 ms nearer than db2 is;
// - db3 is named in the inventory (db3.lab.test), resolved by every host's /etc/hosts;
// - db4 is named too, but its name does not resolve (the hosts' DNS server never answers);
// - db5 is reached through NAT at an address no host has a route to (off the lab's /24, no
//   default route: an IPv6 one would be a family the sources do not have, no-common-family).
const COORD = '198.18.2.1'
const TOKEN = 'field-token-7e1c'
const HOSTS: Array<{ name: string, address: string, lab?: string, role: string, nat?: boolean }> = [
  { name: 'web1', address: '198.18.2.11', role: 'web' },
  { name: 'api1', address: '198.18.2.12', role: 'api' },
  { name: 'api2', address: '198.18.2.13', role: 'api' },
  { name: 'db1', address: '198.18.2.14', role: 'db' },
  { name: 'db2', address: '198.18.2.15', role: 'db' },
  { name: 'db3', address: 'db3.lab.test', lab: '198.18.2.16', role: 'db' },
  { name: 'db4', address: 'db4.lab.test', lab: '198.18.2.17', role: 'db' },
  { name: 'db5', address: '198.19.2.99', lab: '198.18.2.18', role: 'db', nat: true }
]
const FLOODER = '198.18.2.30'
const DEAD_DNS = '198.18.2.53'

const CATALOG = `id: field
title: Field conditions
roles:
  web: { title: Web }
  api: { title: API }
  db: { title: Databases }
flows:
  - { id: FC-01, from: web, to: api, tcp: [18080], purpose: web to api }
  - { id: FC-02, from: api, to: db, tcp: [15432], udp: [15405], purpose: api to databases }
`

const EXPECTED: Record<string, string> = {
  'web1>api1 tcp/18080': 'pass -',
  'web1>api2 tcp/18080': 'inconclusive agent-misplaced',
  'api1>db1 tcp/15432': 'blocked intercepted',
  'api1>db1 udp/15405': 'blocked timeout',
  'api1>db2 tcp/15432': 'pass -',
  'api1>db2 udp/15405': 'pass -',
  'api1>db3 tcp/15432': 'pass -',
  'api1>db3 udp/15405': 'pass -',
  'api1>db4 tcp/15432': 'inconclusive unresolved',
  'api1>db4 udp/15405': 'inconclusive unresolved',
  'api1>db5 tcp/15432': 'blocked unreachable',
  'api1>db5 udp/15405': 'blocked unreachable'
}
for (const db of ['db1', 'db2', 'db3', 'db4', 'db5']) {
  for (const p of ['tcp/15432', 'udp/15405']) EXPECTED[`api2>${db} ${p}`] = 'inconclusive agent-misplaced'
}

for (const [mode, timeout] of [['a fixed 1500 ms timeout', '1500'], ['--timeout auto', 'auto']] as const) {
  t.test(`field conditions, ${mode}: every verdict, exactly`, async (t) => {
    if (!labReady(t, delayUnavailable)) return
    const { lab, dir } = await Lab.forTest(t, 'portcheck-field-', 24)

    await lab.addHost('coord', COORD)
    for (const h of HOSTS) await lab.addHost(h.name, h.lab ?? h.address)
    await lab.addHost('flooder', FLOODER)
    const names = { 'db3.lab.test': '198.18.2.16' }
    for (const name of ['coord', ...HOSTS.map((h) => h.name)]) await lab.setResolver(name, { hosts: names, nameserver: DEAD_DNS, options: ['timeout:1', 'attempts:1'] })

    await lab.setDelay('api1', 600, { to: '198.18.2.15' })
    await lab.nft('db1', filterRules('input', '    udp dport 15405 drop'))
    await lab.nft('db1', redirectRules('    tcp dport 15432 redirect to :19001'))
    const holders = [lab.spawn('db1', 'node', ['test/lab/port-holder.js', 'tcp-silent:19001'])]
    await Promise.all(holders.map((h) => h.waitFor(/ready/)))
    // The flood starts as soon as db2's run listener is open, before any probe can get there.
    const flood = lab.spawn('flooder', 'node', ['test/lab/flood.js', '198.18.2.15', '15432', '1024', '--wait', '--keep'])

    const inventory = path.join(dir, 'inventory.yaml')
    writeFileSync(path.join(dir, 'catalog.yaml'), CATALOG)
    writeFileSync(inventory, `catalog: ./catalog.yaml\nhosts:\n${HOSTS.map((h) => `  - { name: ${h.name}, address: "${h.address}", roles: [${h.role}]${h.nat === true ? ', nat: true' : ''} }`).join('\n')}\n`)
    const reportFile = path.join(dir, 'report.json')
    const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--listen', `${COORD}:7070`,
      '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--wait', '10', '--timeout', timeout, '--format', 'json', '--output', reportFile, '--log-format', 'json'])
    await coordinator.waitFor(/Waiting up to/)

    const agents = new Map<string, LabProcess>()
    for (const h of HOSTS) {
    // api2's join command, run on api1's node.
      const where = h.name === 'api2' ? 'api1' : h.name
      agents.set(h.name, lab.spawn(where, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), h.name), '--log-format', 'json']))
    }
    const code = await coordinator.exited
    t.equal(code, 1, 'exit code 1: required flows are blocked')
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
    const actual: Record<string, string> = {}
    for (const c of report.checks) actual[`${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`] = `${c.status ?? 'none'} ${c.reason ?? '-'}`
    // The flooded listener: api1's connection gets in between the flood's (a pass, proven by its
    // nonce), or the flood keeps it out the whole time; never a firewall verdict.
    const flooded = actual['api1>db2 tcp/15432']
    t.ok(flooded === 'pass -' || flooded === 'inconclusive listener-flooded', `api1 → db2 tcp/15432 under the flood: ${String(flooded)}, a pass or listener-flooded, never blocked`)
    t.same({ ...actual, 'api1>db2 tcp/15432': 'pass -' }, EXPECTED, 'the exact status and reason of every other check')

    const by = new Map(report.checks.map((c) => [`${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`, c]))
    t.match(by.get('web1>api2 tcp/18080'), { detail: /api2's agent runs on a host whose addresses are 198\.18\.2\.12 \(api1's address in the inventory\), not on api2's inventory address 198\.18\.2\.13/ }, 'the misplaced agent: where it runs, and whose node that is')
    t.match(by.get('api1>db1 tcp/15432'), { detail: /completed \d+ time\(s\) but db1's listener never accepted one/ }, 'the silent interceptor: handshakes our listener never saw')
    t.match(by.get('api1>db1 udp/15405'), { detail: /no answer to \d+ attempt\(s\).*this path lost/ }, 'the drop, with the measured loss of the path')
    t.match(by.get('api1>db4 tcp/15432'), { detail: /could not resolve db4\.lab\.test \(E[A-Z_]+\)/ }, 'the unresolvable name')
    t.match(by.get('api1>db5 udp/15405'), { detail: /ENETUNREACH/ }, 'no route to the NAT address')
    t.match(by.get('api1>db3 tcp/15432'), { observedSource: '198.18.2.12' }, 'db3, by name')
    t.match(report, { agents: { expected: 8, joined: 8, missing: [], lost: [], misplaced: ['api2'] } })
    const made = [...flood.stdout().matchAll(/made (\d+)/g)].map((m) => Number(m[1]))
    const most = Math.max(0, ...made)
    t.ok(most >= 1024, `the flood opened ${most} connections to db2's listener during the run`)

    for (const [name, agent] of agents) {
      const pid = agent.child.pid as number
      const host = name === 'api2' ? 'api1' : name
      const mine = (await lab.sockets(host)).filter((l) => l.includes(`pid=${pid},`))
      t.same(mine, [], `${name}: no listener left open by the agent`)
      t.equal(agent.child.exitCode, null, `${name}: its agent is still running (no probe error crashed it)`)
    }
    await lab.destroy()
    t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
  })
}
