import t from 'tap'
import { NUDGE_PAYLOAD } from '@portcheck/protocol/node'
import { joinedAgent } from './fake-coordinator.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('the agent follows its messages with nudges (unsolicited pongs), and answers each message with one', async (t) => {
  const fake = await joinedAgent(t, 'n1', '127.51.0.7')
  const ws = await fake.agent()
  await sleep(100) // the hello's own nudges go by
  const seen: string[] = []
  ws.on('pong', (d: Buffer) => seen.push(`pong ${d.toString()}`))
  ws.on('message', (d: Buffer) => seen.push(String((JSON.parse(d.toString()) as { type: string }).type)))

  // Orders for a run the agent was not given: it answers nothing, but acknowledges them.
  fake.send({ type: 'probe', runId: 'not-mine', round: 1, concurrency: 1, probes: [{ id: 0, protocol: 'tcp', host: '127.51.0.1', port: 25072, nonce: 'bm90LW1pbmUtcHJvYmUx', timeoutMs: 500 }] })
  await sleep(100)
  t.same(seen, [`pong ${NUDGE_PAYLOAD}`, `pong ${NUDGE_PAYLOAD}`], 'a message it does not answer: one nudge at once, one late')

  seen.length = 0
  fake.send({ type: 'run-start', runId: 'r1', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25071 }], peers: [] })
  t.match(await fake.next('run-ready'), { runId: 'r1' })
  await sleep(100)
  const after = seen.slice(seen.indexOf('run-ready') + 1)
  t.ok(seen.includes('run-ready') && after.length === 2 && after.every((e) => e === `pong ${NUDGE_PAYLOAD}`), `run-ready is followed by a nudge at once and a late one (${seen.join(', ')})`)
  t.ok(seen.length <= 4, 'and nothing more: nudges never answer nudges')
  fake.send({ type: 'run-end', runId: 'r1' })
  await fake.next('run-closed')
})
