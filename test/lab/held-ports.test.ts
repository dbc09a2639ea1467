import t from 'tap'
import { listNamespaces, redirectRules } from './lab.js'
import { runTwoHosts, twoHostsLab, type TwoHosts } from './two-hosts.js'

// Ports another process already holds on the target, as on a cluster that runs (a re-check
// after the install, `serve --every`): the target's agent (root) cannot listen there, so it
// counts what arrives past its firewall instead.
// - tcp/15433: the product's process holds it; the SYN of the source's connection reaches it:
//   pass counted;
// - tcp/15434: held too, but a local redirect sends what arrives for it to another process
//   (tcp/19000), which answers in the product's place: the handshake completes, and the target
//   saw none of its SYNs on 15434: existing-listener, and the detail says so;
// - udp/15405: held; its probe datagrams are counted by nonce: pass counted;
// - tcp/18080: nothing holds it: our own listener, the nonce: pass.
const HOSTS: TwoHosts = { coord: '198.18.4.1', src: '198.18.4.11', dst: '198.18.4.12', token: 'held-ports-token-9c3e', tcp: [15433, 15434, 18080], udp: [15405] }

t.test('ports another process holds: counted by their SYN or datagrams, and a stand-in that answers for one is named', async (t) => {
  const staged = await twoHostsLab(t, HOSTS)
  if (staged === null) return
  const { lab, dir } = staged
  await lab.nft('dst', redirectRules('    tcp dport 15434 redirect to :19000'))
  const holder = lab.spawn('dst', 'node', ['test/lab/port-holder.js', 'tcp:15433', 'tcp:15434', 'udp:15405', 'tcp:19000'])
  await holder.waitFor(/ready/)

  const { code, report, by } = await runTwoHosts(lab, dir, HOSTS)
  t.equal(code, 0, 'exit 0: every check passes')
  t.same(Object.fromEntries(report.checks.map((c) => [`${c.protocol}/${c.port}`, `${c.status ?? 'none'} ${c.reason ?? '-'}`])), {
    'tcp/15433': 'pass counted',
    'tcp/15434': 'pass existing-listener',
    'tcp/18080': 'pass -',
    'udp/15405': 'pass counted'
  }, 'the exact status and reason of every check')
  t.match(by.get('tcp/15433'), { detail: /^another process holds tcp\/15433 on dst; dst's agent saw the SYN of [1-9]\d* of src's completed connection\(s\) to it getting past dst's firewall$/ })
  t.equal(by.get('tcp/15434')?.detail, "another process holds tcp/15434 on dst; a connection to it completed, but dst's agent saw none of its SYNs arrive: NAT on the way, or something that answered in dst's place", 'the stand-in is named as a possibility')
  t.match(by.get('udp/15405'), { detail: /dst's agent counted [1-9]\d* probe datagram\(s\) of this check from src/ })
  const tables = await lab.exec('dst', 'nft', ['list', 'tables'])
  t.notMatch(tables, /portcheck_count/, 'the agent deleted its counting table at the end of the run')
  await lab.destroy()
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
})
