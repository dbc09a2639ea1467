import dgram from 'node:dgram'
import net from 'node:net'
import t from 'tap'
import { PortcheckError, encodeAck, encodeProbe, parseProbe, type Receipt } from '@portcheck/protocol'
import { parseBinds } from '../src/agent.js'
import { bindListenHosts, defaultListenHosts, localAddressFor, type ListenHost } from '../src/listeners/listen-hosts.js'
import { ListenerSet } from '../src/listeners/listener-set.js'
import { SocketBudget } from '../src/probes/attempt-clock.js'
import { PathTable } from '../src/probes/path-table.js'
import { ProbeRunner } from '../src/probes/probe-runner.js'
import { Resolver } from '../src/probes/resolver.js'
import { udpProbe } from '../src/probes/udp-probe.js'

/** Whether this machine has IPv6 loopback: the tests below need `::1`. */
function hasIpv6 (): boolean {
  const s = net.createServer()
  try {
    s.listen({ host: '::1', port: 0 })
    return true
  } catch {
    return false
  } finally {
    s.close()
  }
}

/** Sends one probe to a TCP and a UDP listener at `address`, and resolves once both were reported. */
async function probeBoth (address: string, tcpPort: number, udpPort: number, nonce: string, receipts: Receipt[]): Promise<void> {
  const before = receipts.length
  await new Promise<void>((resolve, reject) => {
    const c = net.connect({ host: address, port: tcpPort }, () => c.write(encodeProbe(`${nonce}tcp`, 1)))
    c.on('data', () => { c.destroy(); resolve() })
    c.on('error', reject)
  })
  const u = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4')
  await new Promise<void>((resolve) => {
    u.on('message', () => { u.close(); resolve() })
    u.send(encodeProbe(`${nonce}udp`, 1), udpPort, address)
  })
  await new Promise((resolve) => setImmediate(resolve))
  if (receipts.length !== before + 2) throw new Error(`expected 2 more receipts, got ${receipts.length - before}`)
}

t.test('--bind: IP addresses, at most one per family, repeated or comma-separated', async (t) => {
  t.same(parseBinds(undefined), [])
  t.same(parseBinds(['198.18.1.5', '2001:2::5']), ['198.18.1.5', '2001:2::5'])
  t.same(parseBinds('198.18.1.5, 2001:2::5'), ['198.18.1.5', '2001:2::5'])
  t.throws(() => parseBinds(['198.18.1.5', '198.18.1.6']), new PortcheckError('PC_ERR_OPTION_INVALID', '--bind 198.18.1.6: a second IPv4 address (the first is 198.18.1.5): give at most one address per family'))
  t.throws(() => parseBinds('db1.example'), /--bind db1\.example: not an IP address/)
  t.same(bindListenHosts(['198.18.1.5', '2001:2::5']), [{ address: '198.18.1.5', ipv6Only: false }, { address: '2001:2::5', ipv6Only: true }])
  t.equal(localAddressFor(['198.18.1.5', '2001:2::5'], '2001:2::9'), '2001:2::5', 'probes to an IPv6 target leave from the IPv6 bind')
  t.equal(localAddressFor(['198.18.1.5', '2001:2::5'], '198.18.1.9'), '198.18.1.5')
  t.equal(localAddressFor([], '198.18.1.9'), undefined, 'no bind: the system picks')
})

t.test('a name resolves in the family asked for, each family once', async (t) => {
  const asked: string[] = []
  const r = new Resolver(async (host, family) => {
    asked.push(`${host} ${family ?? 'any'}`)
    return family === 'ipv6' ? '2001:2::5' : '198.18.1.5'
  })
  t.same(await r.resolve('db1.lab.test', 'ipv6'), { address: '2001:2::5' })
  t.same(await r.resolve('db1.lab.test', 'ipv4'), { address: '198.18.1.5' })
  t.same(await r.resolve('db1.lab.test', 'ipv6'), { address: '2001:2::5' })
  t.same(asked, ['db1.lab.test ipv6', 'db1.lab.test ipv4'])
})

t.test('listeners take both families: one dual-stack socket, or one socket per family on one port', async (t) => {
  if (!hasIpv6()) { t.plan(0, 'no IPv6 loopback on this machine'); return }
  const modes: Array<[string, ListenHost[]]> = [
    ['the default of this machine', await defaultListenHosts()],
    ['a socket per family', [{ address: '::', ipv6Only: true }, { address: '0.0.0.0', ipv6Only: false }]]
  ]
  for (const [mode, hosts] of modes) {
    await t.test(mode, async (t) => {
      const receipts: Receipt[] = []
      const set = new ListenerSet(hosts, { receipt: (r) => receipts.push(r), accepted: () => {} })
      t.teardown(() => set.closeAll())
      const tcp = 26000 + Math.floor(Math.random() * 2000)
      const { states, refPort } = await set.openAll([{ protocol: 'tcp', port: tcp }, { protocol: 'udp', port: tcp }])
      t.same(states.map((s) => s.state), ['open', 'open'])
      t.ok(refPort !== null, 'the reference listener too')
      await probeBoth('127.0.0.1', tcp, tcp, 'AbCdEfGhIjKlMnOp4', receipts)
      await probeBoth('::1', tcp, tcp, 'AbCdEfGhIjKlMnOp6', receipts)
      t.same(receipts.map((r) => [r.protocol, r.nonce.slice(-5), r.address]).sort(), [
        ['tcp', 'p4tcp', '127.0.0.1'], ['tcp', 'p6tcp', '::1'], ['udp', 'p4udp', '127.0.0.1'], ['udp', 'p6udp', '::1']
      ].sort(), 'an IPv4 peer is reported as such (not ::ffff:127.0.0.1), an IPv6 one as IPv6')
    })
  }
})

t.test('a port held in one family is held: the listener is in-use, and nothing stays bound', async (t) => {
  if (!hasIpv6()) { t.plan(0, 'no IPv6 loopback on this machine'); return }
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen({ host: '::', port: 0, ipv6Only: true }, resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as net.AddressInfo).port
  const set = new ListenerSet([{ address: '0.0.0.0', ipv6Only: false }, { address: '::', ipv6Only: true }], { receipt: () => {}, accepted: () => {} })
  t.teardown(() => set.closeAll())
  const { states } = await set.openAll([{ protocol: 'tcp', port }])
  t.match(states, [{ state: 'in-use', error: 'EADDRINUSE' }])
  const free = net.createServer()
  await new Promise<void>((resolve, reject) => { free.once('error', reject); free.listen({ host: '0.0.0.0', port, exclusive: true }, resolve) })
  free.close()
  t.pass('the IPv4 socket bound before the failure was closed')
})

t.test('a UDP probe to a name that resolves to IPv6 goes out of an IPv6 socket to that address', { skip: hasIpv6() ? false : 'this machine has no IPv6 loopback (::1)' }, async (t) => {
  // The runner resolves the order's name (once) and hands the probe the address, not the name:
  // the socket's family follows that address (a name used to get a udp4 socket, whatever it resolved to).
  const given: string[] = []
  await new Promise<void>((resolve) => {
    const runner = new ProbeRunner({
      binds: [],
      peers: ['db6.lab.test'],
      lookup: async () => '2001:2::6',
      probe: async (order, address) => { given.push(address); return { id: order.id, outcome: 'replied', latencyMs: 1, attempts: 1, unanswered: 0, echo: 'ours', answered: 1 } },
      onResult: () => resolve()
    })
    runner.add([{ id: 0, protocol: 'udp', host: 'db6.lab.test', port: 9, nonce: 'bmFtZWQtdjYtcHJvYmUx', timeoutMs: 1000 }], 1)
  })
  t.same(given, ['2001:2::6'], 'the probe is given the resolved IPv6 address')

  const listener = dgram.createSocket('udp6')
  t.teardown(() => listener.close())
  await new Promise<void>((resolve) => listener.bind(0, '::1', () => resolve()))
  const seen: string[] = []
  listener.on('message', (m, rinfo) => {
    const line = parseProbe(m)
    if (line === null) return
    seen.push(rinfo.address)
    listener.send(encodeAck(line.nonce, line.seq), rinfo.port, rinfo.address)
  })
  const order = { id: 1, protocol: 'udp' as const, host: 'db6.lab.test', port: listener.address().port, nonce: 'bmFtZWQtdjYtcHJvYmUy', timeoutMs: 2000 }
  const result = await udpProbe(order, '::1', undefined, new AbortController().signal, { adaptive: false, paths: new PathTable(), sockets: new SocketBudget(), measure: () => {} })
  t.match(result, { id: 1, outcome: 'replied', echo: 'ours' }, 'answered over IPv6')
  t.equal(seen[0], '::1', 'from an IPv6 socket')
})
