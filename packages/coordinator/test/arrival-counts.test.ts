import t from 'tap'
import pino from 'pino'
import type { CountOrder } from '@portcheck/protocol'
import type { Plan, PlannedCheck } from '../src/plan/expand.js'
import { ArrivalCounts, type CountingRun } from '../src/scheduler/arrival-counts.js'

const check = (index: number, protocol: 'tcp' | 'udp', from: string, to: string, port: number): PlannedCheck => ({
  index, flowIds: ['F'], from, to, fromRole: 'x', toRole: 'y', fromAddress: null, toAddress: null, family: 'ipv4', protocol, port, required: true, skip: null
} as unknown as PlannedCheck)

/** A run of three hosts whose every checked port another process holds on the target, each target's agent root. */
function fakeRun (checks: PlannedCheck[], sent: Array<{ to: string, items: CountOrder[] }>): { run: CountingRun, counts: ArrivalCounts } {
  const counts = new ArrivalCounts()
  const addresses: Record<string, string> = { a: '198.18.0.1', b: '198.18.0.2', c: '198.18.0.3' }
  const participant = (name: string): unknown => ({
    name,
    state: 'ok',
    addresses: new Set([addresses[name]]),
    listenerState: () => ({ state: 'in-use' }),
    conn: { open: true, record: { nftables: { usable: true }, bind: [] }, send: (m: { items: CountOrder[] }) => { sent.push({ to: name, items: m.items }); queueMicrotask(() => counts.ready(name, undefined)); return true } }
  })
  const run = {
    id: 'r1',
    plan: { checks } as unknown as Plan,
    logger: pino({ level: 'silent' }),
    participants: { get: (name: string) => participant(name) },
    checks: { isProbed: () => true, status: () => null, receipts: () => [], nonceFor: () => 'AbCdEfGhIjKlMnOpQrSt' },
    aborted: false,
    wait: async (test: () => boolean) => { while (!test()) await new Promise((resolve) => setImmediate(resolve)) }
  } as unknown as CountingRun
  return { run, counts }
}

t.test('TCP ports another process holds: the SYNs the target counted, matched to the source\'s handshakes', async (t) => {
  const ab = check(0, 'tcp', 'a', 'b', 15433)
  const cb = check(1, 'tcp', 'c', 'b', 15433)
  const udp = check(2, 'udp', 'a', 'b', 15405)
  const sent: Array<{ to: string, items: CountOrder[] }> = []
  const { run, counts } = fakeRun([ab, cb, udp], sent)
  await counts.start(run)
  t.same(sent, [{
    to: 'b',
    items: [
      { id: 0, protocol: 'tcp', port: 15433, from: ['198.18.0.1'] },
      { id: 1, protocol: 'tcp', port: 15433, from: ['198.18.0.3'] },
      { id: 2, port: 15405, from: ['198.18.0.1'], nonce: 'AbCdEfGhIjKlMnOpQrSt' }
    ]
  }], 'one count-start to the target: TCP orders without a nonce, UDP with')
  t.equal(counts.synsOf(ab, [40001]), 0, 'counted, nothing arrived yet')
  t.equal(counts.count(ab.index), null, 'a TCP check has no datagram count')
  t.equal(counts.count(udp.index), 0, 'a UDP one has')

  counts.arrived('b', [{ port: 15433, address: '198.18.0.1', remotePort: 40001 }, { port: 15433, address: '198.18.0.3', remotePort: 40002 }])
  t.equal(counts.synsOf(ab, [40001, 40009]), 1, 'the SYN of one of a\'s two handshakes')
  t.equal(counts.synsOf(ab, [40002]), 0, 'c\'s SYN on that port is not a\'s')
  t.equal(counts.synsOf(cb, [40002]), 1)
  counts.arrived('c', [{ port: 15433, address: '198.18.0.1', remotePort: 40003 }])
  t.equal(counts.synsOf(ab, [40003]), 0, 'a host that was not asked to count: ignored')
  counts.arrived('b', [{ port: 22, address: '198.18.0.1', remotePort: 40004 }])
  t.equal(counts.synsOf({ ...ab, port: 22 } as PlannedCheck, [40004]), 0, 'a port b was not asked to count: its SYNs are not kept')
  t.equal(counts.synsOf({ ...ab, index: 7 } as PlannedCheck, [40001]), null, 'a check that is not counted')
  t.equal(counts.synsOf(udp, [40001]), null, 'a UDP check has no SYNs')
})

t.test('the SYNs a run remembers are bounded, per target and in all; a target past its bound is marked', async (t) => {
  const ab = check(0, 'tcp', 'a', 'b', 15433)
  const ac = check(1, 'tcp', 'a', 'c', 15433)
  const { run, counts } = fakeRun([ab, ac], [])
  await counts.start(run)
  const flood = Array.from({ length: 4000 }, (_, i) => ({ port: 15433, address: '198.18.0.1', remotePort: i }))
  for (let i = 0; i < 60; i++) counts.arrived('b', flood)
  t.equal(counts.synsOf(ab, [1]), 1, 'what came first is kept')
  const later = Array.from({ length: 10 }, (_, i) => ({ port: 15433, address: '198.18.0.1', remotePort: 50000 + i }))
  counts.arrived('b', later)
  t.equal(counts.synsOf(ab, [50000]), 0, 'past 131,070 from one target, nothing more of its is kept')
  t.ok(counts.synsOverflowed('b'), 'and that target is marked: its none-seen proves nothing')
  t.notOk(counts.synsOverflowed('c'), 'another target is not')
  counts.arrived('c', later)
  t.equal(counts.synsOf(ac, [50000]), 1, "one target's flood does not take another's share")
  for (let i = 0; i < 20; i++) counts.arrived('c', flood.map((x) => ({ ...x, remotePort: x.remotePort + 4000 * (i % 15) })))
  t.ok(counts.synsOverflowed('c'), 'past 200,000 in all, the next target is marked too')
})
