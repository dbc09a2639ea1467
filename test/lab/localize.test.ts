import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { CheckReport, RunReport } from '../../packages/coordinator/src/report/report.js'
import { joinArgs } from '../support/join.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { Lab, type LabProcess } from './lab.js'

// Drop localization and arrival counting where some agents are not root: app1's and db2's run
// as nobody, db1's as root. Evidence from one end is used when it is evidence (db1 sees its own
// rule drop app1's packets, or its own packets to db2); a check neither end can trace is not
// localized, and the report says why in one line; a UDP port another process holds is counted
// on db1, not on db2. The agents add only their own tables, remove a stale one left by an agent
// that was killed, and leave the operator's ruleset exactly as it was.
const HOSTS: Array<[string, string, string, 'root' | 'nobody']> = [
  ['app1', '198.18.2.12', 'app', 'nobody'],
  ['db1', '198.18.2.14', 'db', 'root'],
  ['db2', '198.18.2.15', 'db', 'nobody']
]
const COORD = '198.18.2.1'
const TOKEN = 'lab-token-localize-1'

const DB1 = 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr 198.18.2.12 tcp dport 15432 drop\n  }\n  chain output {\n    type filter hook output priority 0; policy accept;\n    ip daddr 198.18.2.15 tcp dport 15433 drop\n  }\n}\n'
const DB2 = 'table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr 198.18.2.12 tcp dport 15432 drop\n  }\n}\n'
/** A table an agent killed outright left behind (its pid is gone), and one of the operator's that merely looks alike. */
const LEFTOVERS = 'table inet portcheck_trace_4194303_gone {\n  chain out {\n    type filter hook output priority -500; policy accept;\n  }\n}\ntable inet portcheck_fixes {\n}\n'

const key = (c: CheckReport): string => `${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`

t.test('localization with agents that are not root, and what agents leave behind: nothing', async (t) => {
  if (!labReady(t)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-localize-')
  await lab.addHost('coord', COORD)
  for (const [name, address] of HOSTS) await lab.addHost(name, address)
  await lab.nft('db1', DB1)
  await lab.nft('db2', DB2)
  const before = await lab.exec('db1', 'nft', ['list', 'ruleset'])
  await lab.nft('db1', LEFTOVERS)
  const holders = [lab.spawn('db1', 'node', ['test/lab/port-holder.js', 'udp:15405']), lab.spawn('db2', 'node', ['test/lab/port-holder.js', 'udp:15405'])]
  await Promise.all(holders.map((h) => h.waitFor(/ready/)))

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
  const agents: LabProcess[] = []
  const check = async (name: string, extra: string[]): Promise<RunReport> => {
    const file = path.join(dir, `${name}.json`)
    const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--include-optional', '--listen', `${COORD}:7070`, '--token', TOKEN,
      '--state-dir', path.join(dir, 'state'), '--wait', '30', '--timeout', '1500', '--format', 'json', '--output', file, '--log-format', 'json', ...extra])
    await coordinator.waitFor(/Waiting up to/)
    if (agents.length === 0) {
      for (const [host, , , user] of HOSTS) {
        const args = [AGENT_BIN, ...joinArgs(coordinator.stderr(), host), '--log-format', 'json']
        agents.push(user === 'root' ? lab.spawn(host, 'node', args) : lab.spawn(host, 'setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', ...args]))
      }
    }
    t.equal(await coordinator.exited, 1, `${name}: exit 1`)
    return JSON.parse(readFileSync(file, 'utf8')) as RunReport
  }

  const report = await check('first', [])
  const found = Object.fromEntries(report.checks.filter((c) => c.status !== 'pass' && c.status !== 'skipped').map((c) => [key(c), { status: c.status, reason: c.reason, droppedAt: c.droppedAt ?? null, rule: c.rule ?? null }]))
  t.same(found, {
    'app1>db1 tcp/15432': { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { text: 'ip saddr 198.18.2.12 tcp dport 15432 drop', family: 'inet', table: 'filter', chain: 'input', handle: 3 } },
    'app1>db2 tcp/15432': { status: 'blocked', reason: 'timeout', droppedAt: null, rule: null },
    'db1>db2 tcp/15433': { status: 'blocked', reason: 'timeout', droppedAt: 'source', rule: { text: 'ip daddr 198.18.2.15 tcp dport 15433 drop', family: 'inet', table: 'filter', chain: 'output', handle: 4 } },
    'db1>db2 udp/15405': { status: 'inconclusive', reason: 'port-in-use', droppedAt: null, rule: null }
  }, 'one end\'s evidence localizes a drop on that end; neither end tracing, nothing is claimed')
  t.match(report.checks.find((c) => key(c) === 'db2>db1 udp/15405'), { status: 'pass', reason: 'counted' }, 'db1\'s agent is root: it counts db2\'s probe datagrams')
  t.match(report.checks.find((c) => key(c) === 'db1>db2 udp/15405'), { detail: 'another process holds udp/15405 on db2; stop it, or check this port once it is free' }, 'db2\'s is not: that port stays unproven')
  t.same(report.localization, {
    limit: 64,
    candidates: 3,
    traced: 2,
    localized: 2,
    overLimit: 0,
    unavailable: [{ host: 'app1', why: 'not root' }, { host: 'db2', why: 'not root' }],
    text: 'localization: 2 of 3 blocked check(s) localized; unavailable on app1, db2 (not root)'
  }, 'the summary says where localization could not be done, and why')

  const tables = await lab.exec('db1', 'nft', ['list', 'tables'])
  t.notMatch(tables, /portcheck_trace_4194303_gone/, 'the stale table of an agent that is gone was removed at start-up')
  t.match(tables, /table inet portcheck_fixes/, 'a table of the operator\'s that merely looks alike is left alone')
  t.notMatch(tables, /portcheck_(trace|count)_/, 'and the agent\'s own tables are gone after the run')
  await lab.exec('db1', 'nft', ['delete', 'table', 'inet', 'portcheck_fixes'])
  t.equal(await lab.exec('db1', 'nft', ['list', 'ruleset']), before, 'the operator\'s ruleset is exactly as it was')

  const off = await check('off', ['--localize', '0'])
  t.same(off.checks.filter((c) => c.droppedAt !== undefined).map(key), [], '--localize 0: nothing localized')
  t.match(off.localization, { limit: 0, text: 'localization: off (--localize 0)' })

  for (const a of agents) a.child.kill('SIGTERM')
  await Promise.all(agents.map((a) => a.exited))
})
