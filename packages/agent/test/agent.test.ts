import net from 'node:net'
import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import pino from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import { PROTOCOL_VERSION, encodeProbe, parseAgentMessage, type CoordinatorMessage } from '@portcheck/protocol'
import { startAgent } from '../src/index.js'
import { CRED, fakeCoordinator, joinedAgent, type FakeCoordinator } from './fake-coordinator.js'
import { until } from '../../../test/support/until.js'

const silent = pino({ level: 'silent' })
const NONCE = 'Zm9vYmFyYmF6cXV4MTIz'

function tcpAttempt (port: number, payload?: Buffer): Promise<{ code: string | null, received: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.51.0.1', port })
    let received = ''
    s.on('data', (d) => { received += d.toString() })
    s.once('connect', () => { if (payload !== undefined) s.write(payload); else s.end() })
    s.once('close', () => resolve({ code: null, received }))
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? 'error', received }))
  })
}

const joined = (t: Test): Promise<FakeCoordinator> => joinedAgent(t, 'n1', '127.51.0.1')

t.test('listeners speak only the nonce protocol and report what they saw', async (t) => {
  const fake = await joined(t)
  fake.send({ type: 'run-start', runId: 'r1', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25001 }, { protocol: 'udp', port: 25002 }], peers: [] })
  t.match(await fake.next('run-ready'), { runId: 'r1', listeners: [{ protocol: 'tcp', port: 25001, state: 'open' }, { protocol: 'udp', port: 25002, state: 'open' }] })

  const http = await tcpAttempt(25001, Buffer.from('GET / HTTP/1.0\r\n\r\n'))
  t.same(http, { code: null, received: '' }, 'anything else gets no byte in answer')
  const probe = await tcpAttempt(25001, encodeProbe(NONCE))
  t.equal(probe.received, `PCOK1 ${NONCE}\n`, 'a probe is acknowledged')
  t.match(await fake.next('received'), { runId: 'r1', items: [{ protocol: 'tcp', port: 25001, nonce: NONCE, address: '127.0.0.1' }] })

  const udp = dgram.createSocket('udp4')
  t.teardown(() => udp.close())
  const ack = new Promise<string>((resolve) => udp.once('message', (m) => resolve(m.toString())))
  udp.send(Buffer.from('hello?'), 25002, '127.51.0.1')
  udp.send(Buffer.from(`PCHK1 ${NONCE}`), 25002, '127.51.0.1')
  udp.send(Buffer.from(`PCHK1 ${NONCE}`), 25002, '127.51.0.1')
  t.equal(await ack, `PCOK1 ${NONCE}\n`)
  const got = await fake.next('received')
  t.match(got, { items: [{ protocol: 'udp', port: 25002, nonce: NONCE }] })
  t.equal((got as { items: unknown[] }).items.length, 1, 'a retried datagram is reported once')

  fake.send({ type: 'run-end', runId: 'r1' })
  t.match(await fake.next('run-closed'), { runId: 'r1' })
  t.equal((await tcpAttempt(25001)).code, 'ECONNREFUSED', 'closed at run end')
})

t.test('listeners close when the control connection drops', async (t) => {
  const fake = await joined(t)
  fake.send({ type: 'run-start', runId: 'r2', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25003 }], peers: [] })
  await fake.next('run-ready')
  t.equal((await tcpAttempt(25003)).code, null, 'open during the run')
  ;(await fake.agent()).terminate()
  let code: string | null = null
  await until(async () => (code = (await tcpAttempt(25003)).code) === 'ECONNREFUSED', 10_000, 20)
  t.equal(code, 'ECONNREFUSED', 'closed once the coordinator is gone')
})

t.test('listeners close by themselves when the run outlives its TTL', async (t) => {
  const fake = await joined(t)
  fake.send({ type: 'run-start', runId: 'r3', ttlMs: 300, listeners: [{ protocol: 'tcp', port: 25004 }], peers: [] })
  await fake.next('run-ready')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal((await tcpAttempt(25004)).code, 'ECONNREFUSED')
})

t.test('probes for a run the agent was not given are ignored; ports already held are reported', async (t) => {
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen(25005, '127.51.0.1', resolve))
  t.teardown(() => holder.close())
  const fake = await joined(t)
  fake.send({ type: 'probe', runId: 'ghost', round: 1, concurrency: 1, probes: [{ id: 0, protocol: 'tcp', host: '127.51.0.1', port: 25005, nonce: NONCE, timeoutMs: 500 }] })
  fake.send({ type: 'run-start', runId: 'r4', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25005 }, { protocol: 'tcp', port: 80 }], peers: [] })
  const ready = await fake.next('run-ready')
  const expected80 = process.getuid?.() === 0 ? { state: 'open' } : { state: 'denied', error: 'EACCES' }
  t.match(ready, { listeners: [{ port: 25005, state: 'in-use', error: 'EADDRINUSE' }, { port: 80, ...expected80 }] })
  fake.send({ type: 'flush', runId: 'r4', seq: 7 })
  t.match(await fake.next('flushed'), { seq: 7 })
  fake.send({ type: 'run-end', runId: 'r4' })
  await fake.next('run-closed')
  // Only now look for stray results: the ghost probe must not have produced any.
  const stray = await Promise.race([fake.next('probe-results').then(() => 'result'), new Promise((resolve) => setTimeout(() => resolve('none'), 300))])
  t.equal(stray, 'none', 'no probe was sent for the unknown run')
})

t.test('the agent reconnects with backoff when the coordinator drops it, as the same instance', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => wss.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  const hellos: Array<{ instance: string, at: number }> = []
  wss.on('connection', (ws) => {
    ws.on('message', (d: Buffer) => {
      const m = parseAgentMessage(d)
      if (m.type !== 'hello') return
      hellos.push({ instance: m.instance, at: Date.now() })
      ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, agentId: `a${hellos.length}`, heartbeatMs: 60_000 }))
      // Drop the first two connections right after welcoming them.
      if (hellos.length <= 2) setTimeout(() => ws.terminate(), 20)
    })
  })
  const agent = startAgent({ coordinator: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: CRED, insecure: true, name: 'n2', bind: '127.51.0.2', logger: silent, reconnectMinMs: 100, reconnectMaxMs: 400 })
  t.teardown(() => agent.close())
  const registrations: string[] = []
  agent.on('registered', (id: string) => registrations.push(id))
  while (hellos.length < 3) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(new Set(hellos.map((h) => h.instance)).size, 1, 'one instance id across reconnects: the coordinator can tell a reconnect from a second agent')
  const gaps = [(hellos[1]?.at ?? 0) - (hellos[0]?.at ?? 0), (hellos[2]?.at ?? 0) - (hellos[1]?.at ?? 0)]
  t.ok(gaps.every((g) => g >= 50 && g < 2000), `reconnected after ${gaps.join(' and ')} ms (backoff from 100 ms, with jitter)`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(registrations, ['a1', 'a2', 'a3'], 'registered again each time')
})

/** Server-to-client WebSocket text frames (unmasked), written in one TCP write: the agent reads them in one read. */
function oneRead (ws: WebSocket, msgs: CoordinatorMessage[]): void {
  const frames = msgs.map((m) => {
    const payload = Buffer.from(JSON.stringify(m))
    const head = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff])
    return Buffer.concat([head, payload])
  })
  ;(ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat(frames))
}

t.test('run-start and run-end in one read: the run is cancelled before any listener opens', async (t) => {
  const fake = await joined(t)
  oneRead(await fake.agent(), [
    { type: 'run-start', runId: 'r5', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25006 }, { protocol: 'udp', port: 25007 }], peers: [] },
    { type: 'run-end', runId: 'r5' }
  ])
  t.match(await fake.next('run-closed'), { runId: 'r5' })
  const ready = await Promise.race([fake.next('run-ready').then(() => 'run-ready'), new Promise((resolve) => setTimeout(() => resolve('none'), 300))])
  t.equal(ready, 'none', 'no run-ready for a cancelled run')
  t.equal((await tcpAttempt(25006)).code, 'ECONNREFUSED', 'and no listener left open')
})

t.test('two run-starts in one read: the first is closed, the second opens the same ports once they are free', async (t) => {
  const fake = await joined(t)
  oneRead(await fake.agent(), [
    { type: 'run-start', runId: 'r6', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25008 }], peers: [] },
    { type: 'run-start', runId: 'r7', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25008 }], peers: [] }
  ])
  const ready = await fake.next('run-ready')
  t.match(ready, { runId: 'r7', listeners: [{ protocol: 'tcp', port: 25008, state: 'open' }] }, 'the second run gets its port')
  const stray = await Promise.race([fake.next('run-ready').then((m) => (m as { runId: string }).runId), new Promise((resolve) => setTimeout(() => resolve('none'), 300))])
  t.equal(stray, 'none', 'the first run never opened anything')
  fake.send({ type: 'run-end', runId: 'r7' })
  await fake.next('run-closed')
  t.equal((await tcpAttempt(25008)).code, 'ECONNREFUSED', 'closed at the end of the second run: nothing orphaned')
})

t.test('a second run-start while the first run\'s listeners are open: the first is closed, the second takes the same port', async (t) => {
  const fake = await joined(t)
  fake.send({ type: 'run-start', runId: 'r10', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25010 }], peers: [] })
  t.match(await fake.next('run-ready'), { runId: 'r10', listeners: [{ port: 25010, state: 'open' }] })
  fake.send({ type: 'run-start', runId: 'r11', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25010 }], peers: [] })
  t.match(await fake.next('run-ready'), { runId: 'r11', listeners: [{ port: 25010, state: 'open' }] }, 'the port is the second run\'s, not held by the first')
  const probe = await tcpAttempt(25010, encodeProbe(NONCE))
  t.equal(probe.received, `PCOK1 ${NONCE}\n`)
  t.match(await fake.next('received'), { runId: 'r11', items: [{ port: 25010, nonce: NONCE }] }, 'what arrives is reported under the second run')
  fake.send({ type: 'run-end', runId: 'r11' })
  await fake.next('run-closed')
  t.equal((await tcpAttempt(25010)).code, 'ECONNREFUSED', 'and nothing of either run is left open')
})

t.test('run orders before welcome are ignored', async (t) => {
  const fake = await fakeCoordinator(t)
  const agent = startAgent({ coordinator: fake.url, token: CRED, insecure: true, name: 'n3', bind: '127.51.0.1', logger: silent, reconnectMinMs: 60_000 })
  t.teardown(() => agent.close())
  await fake.next('hello')
  fake.send({ type: 'run-start', runId: 'r8', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25009 }], peers: [] })
  const ready = await Promise.race([fake.next('run-ready').then(() => 'run-ready'), new Promise((resolve) => setTimeout(() => resolve('none'), 300))])
  t.equal(ready, 'none', 'no listener for a coordinator that has not welcomed the agent')
  t.equal((await tcpAttempt(25009)).code, 'ECONNREFUSED')
})
