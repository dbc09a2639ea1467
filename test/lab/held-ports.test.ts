import t from 'tap'
import { ExitCodes } from '@portcheck/protocol'
import { listNamespaces, redirectRules } from './lab.js'
import { runTwoHosts, twoHostsLab, type TwoHosts } from './two-hosts.js'

// Ports another process already holds on the target, as on a cluster that runs (a re-check
// after the install, `serve --every`): the target's agent (root) cannot listen there, so it
// counts the SYNs that arrive past its firewall instead, by the port they were sent to.
// - tcp/15433: the product's process holds it; the SYN of the source's connection reaches it:
//   pass counted;
// - tcp/15434: held too, and the target's own redirect hands what arrives for it to another
//   local process (tcp/19000): the SYN still reached the target, past its firewall: pass counted;
// - tcp/15435: held too, and the target DNATs it to a process on another host (a container's
//   published port, as Docker does it): the SYN crossed the target's forward hook: pass counted;
// - tcp/15436: held too, but the source's own NAT sends its connections to a stand-in on another
//   host, which answers in the target's place: the handshake completes and the target saw none of
//   its SYNs: not a pass, inconclusive port-in-use, and the detail says what may have answered;
// - udp/15405: held; its probe datagrams are counted by nonce: pass counted;
// - udp/15406: held too, and the target DNATs it to another host: counted in forward: pass counted;
// - udp/15407: held too, and the target does not track it (`notrack`, as busy DNS servers do), so
//   it has no original port: counted by its own port: pass counted;
// - tcp/18080: nothing holds it: our own listener, the nonce: pass.
const HOSTS: TwoHosts = { coord: '198.18.4.1', src: '198.18.4.11', dst: '198.18.4.12', token: 'held-ports-token-9c3e', tcp: [15433, 15434, 15435, 15436, 18080], udp: [15405, 15406, 15407] }

t.test('ports another process holds: counted by their SYN or datagrams, wherever the target delivers them; a stand-in on the way is no pass', async (t) => {
  const staged = await twoHostsLab(t, HOSTS)
  if (staged === null) return
  const { lab, dir } = staged
  await lab.nft('dst', redirectRules('    tcp dport 15434 redirect to :19000\n    tcp dport 15435 dnat to ' + HOSTS.coord + '\n    udp dport 15406 dnat to ' + HOSTS.coord))
  await lab.nft('dst', `table ip pcmasq {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    ip daddr ${HOSTS.coord} tcp dport 15435 masquerade\n  }\n}\n`)
  await lab.nft('dst', 'table inet pcraw {\n  chain prerouting {\n    type filter hook prerouting priority raw; policy accept;\n    udp dport 15407 notrack\n  }\n}\n')
  await lab.exec('dst', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  await lab.nft('src', `table ip pcstandin {\n  chain output {\n    type nat hook output priority -100; policy accept;\n    ip daddr ${HOSTS.dst} tcp dport 15436 dnat to ${HOSTS.coord}\n  }\n}\n`)
  const holder = lab.spawn('dst', 'node', ['test/lab/port-holder.js', 'tcp:15433', 'tcp:15434', 'tcp:15435', 'tcp:15436', 'udp:15405', 'udp:15406', 'udp:15407', 'tcp:19000'])
  const elsewhere = lab.spawn('coord', 'node', ['test/lab/port-holder.js', 'tcp:15435', 'tcp:15436', 'udp:15406'])
  await holder.waitFor(/ready/)
  await elsewhere.waitFor(/ready/)

  const { code, report, by } = await runTwoHosts(lab, dir, HOSTS)
  t.equal(code, ExitCodes.inconclusive, 'exit 3: nothing blocked, one check unproven')
  t.same(Object.fromEntries(report.checks.map((c) => [`${c.protocol}/${c.port}`, `${c.status ?? 'none'} ${c.reason ?? '-'}`])), {
    'tcp/15433': 'pass counted',
    'tcp/15434': 'pass counted',
    'tcp/15435': 'pass counted',
    'tcp/15436': 'inconclusive port-in-use',
    'tcp/18080': 'pass -',
    'udp/15405': 'pass counted',
    'udp/15406': 'pass counted',
    'udp/15407': 'pass counted'
  }, 'the exact status and reason of every check')
  for (const port of [15433, 15434, 15435]) {
    t.match(by.get(`tcp/${port}`), { detail: new RegExp(`^another process holds tcp/${port} on dst; dst's agent saw the SYN of [1-9]\\d* of src's completed connection\\(s\\) to it getting past dst's firewall$`) })
  }
  t.equal(by.get('tcp/15436')?.detail, "another process holds tcp/15436 on dst; a connection to it completed, but dst's agent saw none of its SYNs arrive from src: something else may have answered in dst's place (a DNAT, a proxy or another host on the way), or a NAT changed src's address; stop that process and re-run, or check this port once it is free", 'the stand-in is named as a possibility')
  for (const port of [15405, 15406, 15407]) t.match(by.get(`udp/${port}`), { detail: /dst's agent counted [1-9]\d* probe datagram\(s\) of this check from src/ })
  const tables = await lab.exec('dst', 'nft', ['list', 'tables'])
  t.notMatch(tables, /portcheck_count/, 'the agent deleted its counting table at the end of the run')
  await lab.destroy()
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
})

// A target that tracks no connection (no NAT, no stateful rule) cannot NAT either: its agent
// counts by the SYN's own port, without a `ct` rule, which would make its kernel start tracking
// every connection of the host for the run.
const PLAIN: TwoHosts = { coord: '198.18.4.21', src: '198.18.4.31', dst: '198.18.4.32', token: 'held-ports-plain-5d1a', tcp: [15433], udp: [] }

t.test('a held port on a target that tracks no connection: counted by the SYN\'s own port, and the target still tracks none', async (t) => {
  const staged = await twoHostsLab(t, PLAIN)
  if (staged === null) return
  const { lab, dir } = staged
  const tracked = async (): Promise<number> => Number((await lab.exec('dst', 'cat', ['/proc/sys/net/netfilter/nf_conntrack_count'])).trim())
  t.equal(await tracked(), 0, 'the target tracks no connection before the run')
  const holder = lab.spawn('dst', 'node', ['test/lab/port-holder.js', 'tcp:15433'])
  await holder.waitFor(/ready/)
  const { code, by } = await runTwoHosts(lab, dir, PLAIN)
  t.equal(code, ExitCodes.ok, 'exit 0')
  t.match(by.get('tcp/15433'), { status: 'pass', reason: 'counted', detail: /dst's agent saw the SYN of [1-9]\d* of src's completed connection\(s\)/ })
  t.equal(await tracked(), 0, 'nor after it: the counting table had no ct rule')
  await lab.destroy()
})
