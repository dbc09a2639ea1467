import t from 'tap'
import { dropKey, parseUdpTable } from '../../packages/agent/src/listeners/udp-drops.js'
import { filterRules, listNamespaces } from './lab.js'
import { runTwoHosts, twoHostsLab, type TwoHosts } from './two-hosts.js'

// A UDP flood on a target's temporary listener: a third host sends it datagrams that are no
// probe as fast as it can, so the listener's socket buffer overflows and the kernel drops what
// arrives, the probe's datagrams among them. That silence is no evidence of a firewall: the
// check is a pass (a probe got in) or inconclusive listener-flooded, never blocked. Beside it,
// a port the target's firewall really drops stays blocked timeout, and an open one passes.
const HOSTS: TwoHosts = { coord: '198.18.3.1', src: '198.18.3.11', dst: '198.18.3.12', token: 'udp-flood-token-51a2', tcp: [18080], udp: [15405, 15406, 15407] }
const FLOODER = '198.18.3.30'
/** Senders of the flood, each as fast as one core sends: together faster than the agent reads. */
const FLOODERS = 3

t.test('a UDP flood on a listener: pass or listener-flooded, never blocked; a real drop beside it stays blocked', async (t) => {
  const staged = await twoHostsLab(t, HOSTS)
  if (staged === null) return
  const { lab, dir } = staged
  await lab.addHost('flooder', FLOODER)
  await lab.nft('dst', filterRules('input', '    udp dport 15406 drop'))
  const floods = Array.from({ length: FLOODERS }, () => lab.spawn('flooder', 'python3', ['test/lab/udp-flood.py', HOSTS.dst, '15405']))
  await Promise.all(floods.map(async (f) => await f.waitFor(/flooding/)))

  // What the flood does to the listener's socket, as the kernel counts it, while the run goes on.
  let socketDrops = 0
  let polling = true
  const poll = (async () => {
    while (polling) {
      const table = new Map<string, number>()
      parseUdpTable(await lab.exec('dst', 'cat', ['/proc/net/udp', '/proc/net/udp6']).catch(() => ''), table)
      // The agent's listener, on whatever address it bound (the wildcard, without --bind).
      const drops = [...table].filter(([key]) => key.endsWith(dropKey('', 15405))).reduce((sum, [, n]) => sum + n, 0)
      socketDrops = Math.max(socketDrops, drops)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  const { code, by, agents } = await runTwoHosts(lab, dir, HOSTS)
  polling = false
  await poll
  t.ok(socketDrops > 0, `the flood overflowed the listener's socket: the kernel dropped ${socketDrops} datagrams there`)
  const flooded = by.get('udp/15405')
  t.comment(`udp/15405 under the flood: ${flooded?.status ?? 'none'} ${flooded?.reason ?? '-'}: ${flooded?.detail ?? ''}`)
  t.ok(flooded?.status === 'pass' || (flooded?.status === 'inconclusive' && flooded.reason === 'listener-flooded'), `the flooded port is a pass or listener-flooded, never blocked: ${flooded?.status ?? 'none'} ${flooded?.reason ?? '-'}`)
  if (flooded?.status === 'inconclusive') t.match(flooded.detail, /dst's listener dropped \d+ datagram\(s\) because its receive buffer was full \(it read \d+ datagram\(s\) that were no probe\)/, 'the detail gives the socket\'s drops and the strangers\' datagrams')
  t.match(by.get('udp/15406'), { status: 'blocked', reason: 'timeout' }, 'the port the firewall drops: blocked timeout')
  t.match(by.get('udp/15407'), { status: 'pass' }, 'an open UDP port beside the flood passes')
  t.match(by.get('tcp/18080'), { status: 'pass' }, 'an open TCP port passes')
  t.equal(code, 1, 'exit 1: a required flow is blocked')
  const sent = floods.reduce((sum, f) => sum + Math.max(0, ...[...f.stdout().matchAll(/sent (\d+)/g)].map((m) => Number(m[1]))), 0)
  t.ok(sent > 100_000, `the flood sent ${sent} datagrams`)
  for (const [i, agent] of agents.entries()) t.equal(agent.child.exitCode, null, `${i === 0 ? 'src' : 'dst'}: its agent is still running`)
  await lab.destroy()
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
})
