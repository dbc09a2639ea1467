import t from 'tap'
import { RefusalLog, SUMMARY_INTERVAL_MS } from '../src/security/refusal-log.js'
import { captureLog } from '../../../test/support/log-lines.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const lines = (log: ReturnType<typeof captureLog>): Array<Record<string, unknown>> =>
  log.records.map(({ time: _t, pid: _p, hostname: _h, ...rest }) => rest)

t.test('the first refusal of each kind at once, then one line per kind with the count per interval, nothing per refusal', async (t) => {
  const log = captureLog()
  const INTERVAL = 200
  const refusals = new RefusalLog(log.logger, INTERVAL)
  t.teardown(() => refusals.stop())

  refusals.note('connection refused: too many connections from one address', { remote: '198.18.0.1' })
  t.same(lines(log), [{ level: 40, remote: '198.18.0.1', msg: 'connection refused: too many connections from one address' }], 'the first is logged at once, with its fields')
  const counting = Date.now()
  for (let i = 2; i <= 250; i++) refusals.note('connection refused: too many connections from one address', { remote: `198.18.0.${i}` })
  refusals.note('request refused: cross-origin requests are refused', { path: '/api/runs' })
  refusals.note('request refused: cross-origin requests are refused', { path: '/api/events' })
  t.equal(log.records.length, 2, 'the first of the second kind too, and none of the 249 + 1 that followed')

  while (log.records.length < 4 && Date.now() - counting < 5000) await sleep(10)
  t.ok(Date.now() - counting >= INTERVAL - 5, 'the summary comes one interval after the first counted refusal')
  t.same(lines(log).slice(2), [
    { level: 40, remote: '198.18.0.2', refused: 249, inLastMs: INTERVAL, msg: 'connection refused: too many connections from one address (249 more)' },
    { level: 40, path: '/api/events', refused: 1, inLastMs: INTERVAL, msg: 'request refused: cross-origin requests are refused (1 more)' }
  ], 'one summary line per kind: the exact count, the first counted refusal\'s fields')

  await sleep(INTERVAL * 2)
  t.equal(log.records.length, 4, 'nothing more while no refusal comes')
  refusals.note('request refused: cross-origin requests are refused', { path: '/api/agents' })
  t.equal(log.records.length, 4, 'a kind already seen is only counted, however late it comes again')
  while (log.records.length < 5 && Date.now() - counting < 5000) await sleep(10)
  t.same(lines(log).slice(4), [{ level: 40, path: '/api/agents', refused: 1, inLastMs: INTERVAL, msg: 'request refused: cross-origin requests are refused (1 more)' }], 'the count restarts after each summary')
})

t.test('by default the counts are summed up every 10 s', async (t) => {
  const log = captureLog()
  const refusals = new RefusalLog(log.logger)
  t.teardown(() => refusals.stop())
  t.equal(SUMMARY_INTERVAL_MS, 10_000)
  refusals.note('agent connection closed: no hello in time')
  refusals.note('agent connection closed: no hello in time')
  await sleep(300)
  t.equal(log.records.length, 1, 'no summary before the interval')
  refusals.flush()
  t.match(log.records[1], { refused: 1, inLastMs: 10_000, msg: 'agent connection closed: no hello in time (1 more)' })
})

t.test('stopping logs the refusals counted since the last summary, with the time they cover', async (t) => {
  const log = captureLog()
  const refusals = new RefusalLog(log.logger, 60_000)
  refusals.note('agent connection closed: no hello in time', { remote: '198.18.0.9' })
  refusals.note('agent connection closed: no hello in time', { remote: '198.18.0.10' })
  refusals.note('agent connection closed: no hello in time', { remote: '198.18.0.11' })
  await sleep(50)
  t.equal(log.records.length, 1, 'only the first, before stopping')
  refusals.stop()
  t.equal(log.records.length, 2, 'the counted ones, at once')
  t.match(log.records[1], { remote: '198.18.0.10', refused: 2, msg: 'agent connection closed: no hello in time (2 more)' })
  const covered = Number(log.records[1]?.inLastMs)
  t.ok(covered >= 45 && covered < 60_000, `the window it covers, not the whole interval (${covered} ms)`)
  refusals.stop()
  t.equal(log.records.length, 2, 'a second stop logs nothing again')
})
