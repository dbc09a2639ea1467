import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { tailNudger } from '../src/tail-nudge.js'

t.test('a burst gets one nudge once it is written, and one more after the late delay', async (t) => {
  let nudges = 0
  const after = tailNudger(() => { nudges++ }, 40)
  after(); after(); after()
  t.equal(nudges, 0, 'nothing while the burst is still being written')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(nudges, 1, 'one nudge for three messages of one turn')
  await sleep(120)
  t.equal(nudges, 2, 'the late nudge')
  await sleep(120)
  t.equal(nudges, 2, 'and nothing more while nothing is sent')
})

t.test('messages that keep coming push the late nudge back', async (t) => {
  let nudges = 0
  const after = tailNudger(() => { nudges++ }, 300)
  for (let i = 0; i < 4; i++) {
    after()
    await sleep(20)
  }
  t.equal(nudges, 4, 'one per burst, no late one while the bursts are closer than its delay')
  await sleep(700)
  t.equal(nudges, 5, 'the late nudge, once, after the last burst')
})
