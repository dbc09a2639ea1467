import t from 'tap'
import type { CheckReport } from '../../packages/coordinator/src/report/report.js'
import { filterRules, listNamespaces, type Lab } from './lab.js'
import { runTwoHosts, twoHostsLab, type TwoHosts } from './two-hosts.js'

// Drops by the operator's netdev ingress chains, which a packet meets before anything else of
// the host's: the target's agent watches the interfaces those chains filter, so the drop is
// localized to the target with its rule. Where it cannot watch one (here: more interfaces with
// such chains than a trace watches, 8), a packet it never saw arrive is no proof of a network
// drop: nothing is localized, and the note says why. An inet input drop beside it is localized
// either way.
const HOSTS: TwoHosts = { coord: '198.18.5.1', src: '198.18.5.11', dst: '198.18.5.12', token: 'netdev-token-2f8a', tcp: [15432], udp: [15405] }

/** The operator's netdev table: a chain on each of `others` that accepts, then eth0's, which drops udp/15405 from the source. */
function netdevRules (others: string[]): string {
  const chains = others.map((d, i) => `  chain x${i} {\n    type filter hook ingress device "${d}" priority 0; policy accept;\n  }\n`).join('')
  return `table netdev operator {\n${chains}  chain uplink {\n    type filter hook ingress device "eth0" priority 0; policy accept;\n    ip saddr ${HOSTS.src} udp dport 15405 drop\n  }\n}\n`
}

/** One run, its checks by `protocol/port`; the agents are stopped after it (the next run starts its own). */
async function run (lab: Lab, dir: string, label: string): Promise<Map<string, CheckReport>> {
  const { code, by, agents } = await runTwoHosts(lab, dir, HOSTS, label)
  if (code !== 1) throw new Error(`${label}: the run exited ${String(code)}, not 1`)
  for (const a of agents) a.child.kill('SIGTERM')
  await Promise.all(agents.map(async (a) => await a.exited))
  return by
}

t.test('a drop by the operator\'s netdev ingress chain: localized with its rule, or, where it cannot be watched, not claimed for the network', async (t) => {
  const staged = await twoHostsLab(t, HOSTS)
  if (staged === null) return
  const { lab, dir } = staged
  // Eight more interfaces on dst (four veth pairs), as on a host with bridges and bonds.
  const others: string[] = []
  for (let i = 0; i < 4; i++) {
    await lab.exec('dst', 'ip', ['link', 'add', `xa${i}`, 'type', 'veth', 'peer', 'name', `xb${i}`])
    others.push(`xa${i}`, `xb${i}`)
  }
  await lab.nft('dst', filterRules('input', '    tcp dport 15432 drop'))

  await lab.nft('dst', netdevRules([]))
  const watched = await run(lab, dir, 'watched')
  t.match(watched.get('udp/15405'), { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { family: 'netdev', table: 'operator', chain: 'uplink', text: `ip saddr ${HOSTS.src} udp dport 15405 drop` } }, 'eth0\'s netdev chain watched: the drop is localized to dst, with its rule')
  t.match(watched.get('tcp/15432'), { status: 'blocked', reason: 'timeout', droppedAt: 'target', rule: { family: 'inet', chain: 'input' } }, 'the inet input drop: localized to dst')

  await lab.exec('dst', 'nft', ['delete', 'table', 'netdev', 'operator'])
  await lab.nft('dst', netdevRules(others))
  const blind = await run(lab, dir, 'blind')
  const udp = blind.get('udp/15405')
  t.match(udp, { status: 'blocked', reason: 'timeout' }, 'still blocked: the verdict does not depend on localization')
  t.equal(udp?.droppedAt, undefined, 'eth0 is the ninth interface with a netdev chain: not watched, so no network drop is claimed')
  t.ok(udp?.notes.some((n) => n === 'not localized: the re-probe left src and dst saw nothing arrive, but dst has netdev ingress chains on eth0 that its agent could not watch: the drop is there or in the network'), `the note says why: ${JSON.stringify(udp?.notes)}`)
  t.match(blind.get('tcp/15432'), { droppedAt: 'target', rule: { family: 'inet', chain: 'input' } }, 'the inet input drop: still localized to dst')
  const tables = await lab.exec('dst', 'nft', ['list', 'tables'])
  t.notMatch(tables, /portcheck_/, 'the agents left no table behind')
  await lab.destroy()
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
})
