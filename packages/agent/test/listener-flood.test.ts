import net from 'node:net'
import t from 'tap'
import { encodeProbe } from '@portcheck/protocol'
import { MAX_PENDING_CONNECTIONS } from '../src/listeners/pending-connections.js'
import { joinedAgent } from './fake-coordinator.js'

const NONCE = 'Zmxvb2RlZHByb2JlMTIz'
const FLOOD = 1024

/** Opens `n` connections from `from` to `port` that never send a byte; resolves once all are connected, with a count of those the listener closed since. */
async function idleFlood (n: number, from: string, to: string, port: number): Promise<{ sockets: net.Socket[], closed: () => number }> {
  let closed = 0
  const sockets: net.Socket[] = []
  await Promise.all(Array.from({ length: n }, async () => await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: to, port, localAddress: from })
    sockets.push(s)
    s.once('connect', () => resolve())
    s.once('error', (e: NodeJS.ErrnoException) => { if (e.code === 'ECONNRESET') resolve(); else reject(e) })
    s.once('close', () => { closed++ })
  })))
  return { sockets, closed: () => closed }
}

t.test(`under ${FLOOD} idle connections from a third party, a listener still takes an honest probe; the flood is cut to the bound`, async (t) => {
  const fake = await joinedAgent(t, 'n1', '127.51.0.21')
  fake.send({ type: 'run-start', runId: 'r1', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25031 }], peers: [] })
  t.match(await fake.next('run-ready'), { listeners: [{ port: 25031, state: 'open' }] })

  const flood = await idleFlood(FLOOD, '127.51.0.99', '127.51.0.21', 25031)
  t.teardown(() => { for (const s of flood.sockets) s.destroy() })
  const deadline = Date.now() + 10_000
  while (flood.closed() < FLOOD - MAX_PENDING_CONNECTIONS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(flood.closed(), FLOOD - MAX_PENDING_CONNECTIONS, `the listener keeps ${MAX_PENDING_CONNECTIONS} idle connections and closes the oldest of the rest`)

  const answer = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.51.0.21', port: 25031, localAddress: '127.51.0.22' })
    let got = ''
    s.on('data', (d) => { got += d.toString() })
    s.once('connect', () => s.write(encodeProbe(NONCE)))
    s.once('close', () => resolve(got))
    s.once('error', reject)
  })
  t.equal(answer, `PCOK1 ${NONCE}\n`, 'the honest probe is acknowledged')
  t.match(await fake.next('received'), { items: [{ protocol: 'tcp', port: 25031, nonce: NONCE, address: '127.51.0.22' }] }, 'and reported with its source')
  t.equal(flood.closed(), FLOOD - MAX_PENDING_CONNECTIONS + 1, 'room for the probe was made at the flood\'s expense: one more of its connections closed')

  fake.send({ type: 'run-end', runId: 'r1' })
  t.match(await fake.next('run-closed'), { runId: 'r1' })
})
