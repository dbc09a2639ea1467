import dgram from 'node:dgram'
import { existsSync } from 'node:fs'
import t from 'tap'
import { dropKey, parseUdpTable } from '../src/listeners/udp-drops.js'
import { ListenerSet } from '../src/listeners/listener-set.js'
import { until } from '../../../test/support/until.js'

// Two lines of /proc/net/udp and two of /proc/net/udp6 as a little-endian kernel prints them.
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0C0312C6:3C3D 00000000:0000 07 00000000:00034100 00:00000000 00000000     0        0 4242 2 0000000000000000 41000
  124: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 4243 2 0000000000000000 0
`
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  200: 02000120000000000000000001000000:3C3D 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5000 2 0000000000000000 7
  201: 0000000000000000FFFF00000C0312C6:3C3E 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5001 2 0000000000000000 3
  202: 00000000000000000000000000000000:3C3F 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5002 2 0000000000000000 0
`

t.test('/proc/net/udp tables: each socket\'s local address and port, and its drops', async (t) => {
  const out = new Map<string, number>()
  parseUdpTable(UDP, out, true)
  parseUdpTable(UDP6, out, true)
  t.same([...out], [
    [dropKey('198.18.3.12', 15421), 41000],
    [dropKey('127.0.0.1', 53), 0],
    [dropKey('2001:2::1', 15421), 7],
    [dropKey('::ffff:198.18.3.12', 15422), 3],
    [dropKey('::', 15423), 0]
  ], 'addresses written as Node writes a bound socket\'s')
  const big = new Map<string, number>()
  parseUdpTable(UDP.replace('0C0312C6', 'C612030C'), big, false)
  t.ok(big.has(dropKey('198.18.3.12', 15421)), 'a big-endian kernel prints the bytes in order')
  const junk = new Map<string, number>()
  parseUdpTable('header\n  1: nonsense\n  2: ZZ:1 00:0 07 0 0 0 0 0 0 0 0 0 x\n\n', junk, true)
  t.same([...junk], [], 'lines it cannot read are skipped')
})

t.test('a listener\'s socket that overflows: its drops and the datagrams that were no probe', { skip: existsSync('/proc/net/udp') ? false : 'no /proc/net/udp on this system' }, async (t) => {
  const port = await freeUdpPort()
  const set = new ListenerSet([{ address: '127.0.0.1', ipv6Only: false }], { receipt: () => {}, accepted: () => {} })
  t.teardown(() => set.closeAll())
  const { states } = await set.openAll([{ protocol: 'udp', port }, { protocol: 'tcp', port }])
  t.match(states, [{ state: 'open' }, { state: 'open' }])
  t.same(await set.crowding(), [], 'nothing reached it yet: nothing reported')
  const sender = dgram.createSocket('udp4')
  t.teardown(() => sender.close())
  await new Promise<void>((resolve) => sender.connect(port, '127.0.0.1', resolve))
  // Sent in one turn of the event loop, which the listener (in this process) cannot read in:
  // far more than its receive buffer holds, so the kernel drops most of them.
  const junk = Buffer.from('not a probe\n')
  for (let i = 0; i < 5000; i++) sender.send(junk)
  // Until the queue is read out (each datagram read or dropped), however busy the machine.
  let crowded = await set.crowding()
  await until(async () => { crowded = await set.crowding(); return (crowded[0]?.strangers ?? 0) + (crowded[0]?.dropped ?? 0) >= 5000 }, 10_000, 20)
  t.equal(crowded.length, 1, 'one UDP listener reported, not the TCP one')
  const [c] = crowded
  t.equal(c?.port, port)
  t.ok((c?.strangers ?? 0) > 0, `it read ${c?.strangers ?? 0} datagrams that were no probe`)
  t.ok((c?.dropped ?? 0) > 0, `its socket dropped ${String(c?.dropped)} for want of buffer space`)
  t.equal((c?.strangers ?? 0) + (c?.dropped ?? 0), 5000, 'every datagram was read or dropped')
})

/** A UDP port free on 127.0.0.1 now. */
async function freeUdpPort (): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
