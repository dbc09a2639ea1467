import t from 'tap'
import { MIN_ADAPTIVE_MS, RttTable, watchDeadline } from '../src/probes/timing.js'

t.test('adaptive deadlines come from measured round trips, bounded both ways', async (t) => {
  const rtt = new RttTable()
  t.equal(rtt.deadline('198.18.0.2', 3000), 3000, 'nothing known: the full timeout')
  rtt.hint('198.18.0.2', 40)
  t.equal(rtt.deadline('198.18.0.2', 3000), 150, 'a small hint: the floor')
  rtt.hint('198.18.0.3', 400)
  t.equal(rtt.deadline('198.18.0.3', 3000), 800, 'twice the coordinator\'s upper estimate')
  rtt.add('198.18.0.4', 100)
  t.equal(rtt.deadline('198.18.0.4', 3000), 2 * (100 + 4 * 50), 'its own RTO (SRTT + 4 RTTVAR), doubled')
  t.equal(rtt.deadline('198.18.0.3', 3000), 1800, 'another host: six times the agent-wide RTO beats its hint')
  t.equal(rtt.deadline('198.18.0.9', 1000), 1000, 'never above the order\'s timeout')
  for (let i = 0; i < 20; i++) rtt.add('198.18.0.5', 0.2)
  t.equal(rtt.deadline('198.18.0.5', 3000), MIN_ADAPTIVE_MS, 'a LAN host: the floor')
})

t.test('a deadline fires only after pending I/O had its turn, and follows a moving deadline', async (t) => {
  let deadline = 1000
  const start = performance.now()
  const fired = new Promise<number>((resolve) => watchDeadline(start, () => deadline, true, () => resolve(performance.now() - start)))
  setTimeout(() => { deadline = 100 }, 20)
  const at = await fired
  t.ok(at >= 100 && at < 400, `fired at ${Math.round(at)} ms after the deadline moved to 100 ms`)

  const cancelled = watchDeadline(performance.now(), () => 10, false, () => t.fail('cancelled watch fired'))
  cancelled()
  await new Promise((resolve) => setTimeout(resolve, 50))
})
