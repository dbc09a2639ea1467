import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { fixtureReport } from '../../packages/coordinator/test/report-fixture.js'
import { CLI_BIN, labReady } from './guard.js'
import { Lab } from './lab.js'

// The fixture report's hosts on one bridge, with the firewalls it describes: on db1, an
// unlocalized drop (table inet filter) of app1 (and of lb1, which has no flow to db1) and the
// nftables reject of app2 the report localized (table inet pctest, handle 2); on lb1, an egress
// drop to app2. `portcheck fix` must write rules each tool accepts, and on db1 and lb1 the
// nftables rules must open exactly the blocked flows, from their sources only.
const run = promisify(execFile)

const HOSTS: Array<[string, string]> = [['lb1', '198.18.1.11'], ['app1', '198.18.1.12'], ['app2', '198.18.1.13'], ['db1', '198.18.1.14'], ['db2', '198.18.1.15'], ['db3', '198.18.1.16']]

/** Every host's base ruleset: an inet filter table with input and output chains, as most hosts have. */
const BASE: Record<string, string> = {
  lb1: 'table inet filter {\n  chain input { type filter hook input priority 0; policy accept; }\n  chain output { type filter hook output priority 0; policy accept; ip daddr 198.18.1.13 tcp dport 18080 drop; }\n}\n',
  db1: 'table inet filter {\n  chain input { type filter hook input priority 0; policy accept; ip saddr { 198.18.1.11, 198.18.1.12 } tcp dport 15432 drop; }\n  chain output { type filter hook output priority 0; policy accept; }\n}\n' +
    'table inet pctest {\n  chain input { type filter hook input priority 0; policy accept; ip saddr 198.18.1.13 tcp dport 15432 reject with tcp reset; }\n}\n',
  db2: 'table inet filter {\n  chain input { type filter hook input priority 0; policy accept; }\n  chain output { type filter hook output priority 0; policy accept; }\n}\n',
  db3: 'table inet filter {\n  chain input { type filter hook input priority 0; policy accept; }\n  chain output { type filter hook output priority 0; policy accept; }\n}\n'
}

const LISTEN = "const s = require('net').createServer((c) => c.end()); s.listen(Number(process.argv[1]), process.argv[2], () => console.log('listening'))"
const CONNECT = "const c = require('net').connect({ port: Number(process.argv[1]), host: process.argv[2], timeout: 1000 }, () => { console.log('open'); c.destroy() }); c.on('timeout', () => { console.log('dropped'); c.destroy() }); c.on('error', (e) => console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code))"

t.test('portcheck fix: rules the firewall tools accept, that open exactly the blocked flows', async (t) => {
  if (!labReady(t)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-fix-')
  const report = path.join(dir, 'report.json')
  writeFileSync(report, JSON.stringify(await fixtureReport()))
  for (const [name, address] of HOSTS) await lab.addHost(name, address)
  for (const [host, ruleset] of Object.entries(BASE)) await lab.nft(host, ruleset)
  t.match(await lab.exec('db1', 'nft', ['-a', 'list', 'chain', 'inet', 'pctest', 'input']), /reject with tcp reset # handle 2\n/, 'the reject the report names is handle 2')

  const fix = async (format: string, host: string): Promise<string> => {
    const file = path.join(dir, `${host}.${format}`)
    await run(process.execPath, [CLI_BIN, 'fix', report, '--format', format, '--host', host, '--output', file])
    return file
  }
  await t.test('nft -c -f and iptables-restore --test accept every host\'s rules', async (t) => {
    for (const host of ['lb1', 'db1', 'db2', 'db3']) {
      const nft = await fix('nftables', host)
      await t.resolves(lab.exec(host, 'nft', ['-c', '-f', nft]), `${host}: nft -c -f`)
      const rules = await fix('iptables', host)
      await t.resolves(lab.exec(host, 'sh', ['-c', 'iptables-restore --test --noflush < "$1"', 'sh', rules]), `${host}: iptables-restore --test --noflush`)
    }
    const v6 = await fix('iptables', 'db1')
    await t.resolves(lab.exec('db1', 'sh', ['-c', "sed -n 's/^#6 //p' \"$1\" | ip6tables-restore --test --noflush", 'sh', v6]), 'db1: the #6 lines, for ip6tables-restore --test --noflush')
  })

  await t.test('applied with nft -f on db1 and lb1, they open the blocked flows, from their sources only', async (t) => {
    for (const [host, port, address] of [['db1', 15432, '198.18.1.14'], ['app2', 18080, '198.18.1.13']] as const) {
      const listener = lab.spawn(host, 'node', ['-e', LISTEN, String(port), address])
      await listener.waitFor(/listening/)
    }
    const connect = async (from: string, address: string, port: number): Promise<string> => (await lab.exec(from, 'node', ['-e', CONNECT, String(port), address])).trim()
    const before = { app1: await connect('app1', '198.18.1.14', 15432), app2: await connect('app2', '198.18.1.14', 15432), lb1: await connect('lb1', '198.18.1.14', 15432), egress: await connect('lb1', '198.18.1.13', 18080) }
    t.same(before, { app1: 'dropped', app2: 'refused', lb1: 'dropped', egress: 'dropped' }, 'before: what the report found (a TCP egress drop keeps the SYN from leaving: a timeout)')
    await lab.exec('db1', 'nft', ['-f', await fix('nftables', 'db1')])
    await lab.exec('lb1', 'nft', ['-f', await fix('nftables', 'lb1')])
    const after = { app1: await connect('app1', '198.18.1.14', 15432), app2: await connect('app2', '198.18.1.14', 15432), lb1: await connect('lb1', '198.18.1.14', 15432), egress: await connect('lb1', '198.18.1.13', 18080) }
    t.same(after, { app1: 'open', app2: 'open', lb1: 'dropped', egress: 'open' }, 'after: app1 and app2 reach db1 (unlocalized drop and localized reject), lb1 still does not, lb1 reaches app2')
    t.match(await lab.exec('db1', 'nft', ['list', 'chain', 'inet', 'filter', 'portcheck-fix-input']), /ip saddr 198\.18\.1\.12 tcp dport 15432 accept comment "portcheck DEMO-03 app1->db1 tcp\/15432"/)
  })
})
