import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import net, { type AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { encodeAck, parseProbe, type ProbeOrder, type ProbeResult } from '@portcheck/protocol'
import { CRED, fakeCoordinator, joinedAgent, welcome, type FakeCoordinator } from './fake-coordinator.js'

// A coordinator is trusted with the run, not with the node: whatever it orders, the agent probes
// only the run's peers, never its own loopback through a name, and opens no more listeners than
// its descriptors allow. Each refusal is checked against what reached the refused target.

const NONCE = 'cmVmdXNhbHMtbm9uY2Ux'

/** What a probe to the refused target would have had to reach: a TCP and a UDP port on 127.0.0.1 that count what arrives. */
async function refusedTarget (t: Test): Promise<{ tcp: number, udp: number, arrived: () => number }> {
  let arrived = 0
  const server = net.createServer((s) => { arrived++; s.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const udp = dgram.createSocket('udp4')
  udp.on('message', () => { arrived++ })
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close(); udp.close() })
  return { tcp: (server.address() as AddressInfo).port, udp: udp.address().port, arrived: () => arrived }
}

/** A peer's port that acknowledges probes as a listener of ours would: the control that probing works. */
async function ackingPeer (t: Test, host: string): Promise<{ port: number, nonces: string[] }> {
  const nonces: string[] = []
  const server = net.createServer((s) => s.on('error', () => {}).once('data', (d) => {
    const line = parseProbe(d)
    if (line !== null) { nonces.push(line.nonce); s.end(encodeAck(line.nonce, line.seq)) } else s.destroy()
  }))
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  t.teardown(() => server.close())
  return { port: (server.address() as AddressInfo).port, nonces }
}

/** Sends `orders` in run `runId` and collects the agent's results until every order has one. */
async function probe (fake: FakeCoordinator, runId: string, orders: ProbeOrder[]): Promise<Map<number, ProbeResult>> {
  fake.send({ type: 'probe', runId, round: 1, concurrency: 8, probes: orders })
  const results = new Map<number, ProbeResult>()
  while (results.size < orders.length) for (const r of (await fake.next('probe-results')).results) results.set(r.id, r)
  return results
}

const order = (id: number, protocol: 'tcp' | 'udp', host: string, port: number): ProbeOrder => ({ id, protocol, host, port, nonce: NONCE, timeoutMs: 1000 })
const refusal = (id: number, error: string): ProbeResult => ({ id, outcome: 'error', error, latencyMs: null, attempts: 0, unanswered: 0, echo: 'none' })

/**
 * Runs `refused` orders (to hosts that lead to a counting port on 127.0.0.1) and one to `control`
 * (a peer that acknowledges) in one frame: each refused order must come back as an error `code`
 * with no attempt, nothing may reach 127.0.0.1's port, and the control must be probed.
 */
async function refusedOrders (t: Test, o: { name: string, bind: string, peers: string[], refused: Array<['tcp' | 'udp', string]>, control: string, code: string }): Promise<void> {
  const target = await refusedTarget(t)
  const control = await ackingPeer(t, o.control)
  const fake = await joinedAgent(t, o.name, o.bind)
  fake.send({ type: 'run-start', runId: 'r1', ttlMs: 60_000, listeners: [], peers: o.peers })
  await fake.next('run-ready')
  const orders = o.refused.map(([protocol, host], id) => order(id, protocol, host, protocol === 'tcp' ? target.tcp : target.udp))
  const last = orders.length
  const results = await probe(fake, 'r1', [...orders, order(last, 'tcp', o.control, control.port)])
  t.same(orders.map((x) => results.get(x.id)), orders.map((x) => refusal(x.id, o.code)), `each refused order is an error ${o.code}, with no attempt`)
  t.match(results.get(last), { id: last, outcome: 'connected', echo: 'ours', attempts: 1, answered: 1 }, `the order to ${o.control} in the same frame was probed`)
  t.same(control.nonces, [NONCE])
  // The control's answer came after the refused orders were dealt with: anything sent for them would have arrived by now.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(target.arrived(), 0, 'no connection and no datagram reached the refused port')
}

t.test('a probe to a host that is not a peer of the run is refused (ENOTPEER) and sends nothing', (t) =>
  refusedOrders(t, { name: 'n31', bind: '127.51.0.30', peers: ['127.51.0.31'], refused: [['tcp', '127.0.0.1'], ['udp', '127.0.0.1'], ['tcp', 'localhost']], control: '127.51.0.31', code: 'ENOTPEER' }))

t.test('a name that resolves to the agent\'s own loopback is refused (ELOOPBACK) and sends nothing; a loopback address named as a peer is probed', async (t) => {
  // `127.1` and `2130706433` are not IP addresses as written (net.isIP says 0): they are names,
  // which the system's resolver (inet_aton's forms) turns into 127.0.0.1.
  t.equal(net.isIP('127.1') + net.isIP('2130706433'), 0)
  await refusedOrders(t, { name: 'n32', bind: '127.51.0.32', peers: ['127.1', '2130706433', '127.0.0.1'], refused: [['tcp', '127.1'], ['udp', '2130706433']], control: '127.0.0.1', code: 'ELOOPBACK' })
})

t.test('listeners beyond the agent\'s bound fail with ELIMIT and are never opened', async (t) => {
  const fake = await fakeCoordinator(t)
  // 1088 open files leave 64 listeners (the floor) after the 1024 kept for everything else.
  const child = spawn('/bin/sh', ['-c', 'ulimit -n 1088 && exec "$0" "$@"', process.execPath, 'packages/agent/bin/portcheck-agent.js',
    '--coordinator', fake.url, '--insecure', '--token', CRED, '--name', 'n33', '--bind', '127.51.0.33', '--no-nftables', '--log-level', 'silent'], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('close', resolve))
  t.teardown(async () => { child.kill('SIGKILL'); await exited })
  await Promise.race([welcome(t, fake, 'n33', '127.51.0.33'), exited.then((code) => { throw new Error(`the agent exited (${String(code)}) before joining`) })])
  const ports = Array.from({ length: 67 }, (_, i) => 25100 + i)
  fake.send({ type: 'run-start', runId: 'p3', ttlMs: 60_000, listeners: ports.map((port) => ({ protocol: 'tcp' as const, port })), peers: [] })
  const ready = await fake.next('run-ready')
  t.same(ready.listeners, ports.map((port, i) => i < 64 ? { protocol: 'tcp', port, state: 'open' } : { protocol: 'tcp', port, state: 'failed', error: 'ELIMIT' }), '64 open, the 3 beyond ELIMIT')
  const reached = await Promise.all(ports.map((port) => new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.51.0.33', port }, () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })))
  t.same(reached, ports.map((_, i) => i < 64), 'only the 64 open ports accept a connection')
  fake.send({ type: 'run-end', runId: 'p3' })
  await fake.next('run-closed')
})
