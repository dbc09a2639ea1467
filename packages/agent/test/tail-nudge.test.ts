import t from 'tap'
import { NUDGE_PAYLOAD } from '@portcheck/protocol/node'
import { joinedAgent } from './fake-coordinator.js'

t.test('the agent follows its messages with a nudge (an unsolicited pong), so a lost last segment is repaired fast', async (t) => {
  const fake = await joinedAgent(t, 'n1', '127.51.0.7')
  const ws = await fake.agent()
  await new Promise((resolve) => setTimeout(resolve, 100)) // the hello's own nudges go by
  const pongs: string[] = []
  ws.on('pong', (d: Buffer) => pongs.push(d.toString()))
  fake.send({ type: 'run-start', runId: 'r1', ttlMs: 60_000, listeners: [{ protocol: 'tcp', port: 25071 }], peers: [] })
  t.match(await fake.next('run-ready'), { runId: 'r1' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(pongs, [NUDGE_PAYLOAD, NUDGE_PAYLOAD], 'one right after run-ready, one late')
  fake.send({ type: 'run-end', runId: 'r1' })
  await fake.next('run-closed')
})
