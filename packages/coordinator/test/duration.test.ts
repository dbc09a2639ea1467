import t from 'tap'
import { formatDuration, parseDuration } from '../src/schedule/duration.js'
import { expectError } from './helpers.js'

t.test('--every takes whole hours, minutes and seconds, in that order, from 1s to 7 days', async (t) => {
  const ok: Array<[string, number]> = [['1s', 1000], ['30s', 30_000], ['5m', 300_000], ['1h', 3_600_000], ['1h30m', 5_400_000], ['2m30s', 150_000], ['1h0m1s', 3_601_000], ['90s', 90_000], ['168h', 604_800_000]]
  for (const [text, ms] of ok) t.equal(parseDuration(text), ms, text)
  for (const text of ['', '5', '0s', '500ms', '1.5h', '5 m', ' 5m', '5M', '5min', '1d', '30s5m', 'm', '-5m', '169h', '1h1h', '5m\n']) {
    const err = await expectError(async () => parseDuration(text))
    t.equal(err.code, 'PC_ERR_USAGE', `${JSON.stringify(text)} is refused`)
    t.match(err.message, `--every ${JSON.stringify(text)}: expected a duration such as 30s, 5m, 1h or 1h30m`)
  }
  t.match((await expectError(async () => parseDuration('x', '--period'))).message, /^--period "x"/, 'the message names the option it was given')
})

t.test('durations in words', async (t) => {
  t.same([1000, 30_000, 300_000, 5_400_000, 3_601_000, 0].map(formatDuration), ['1s', '30s', '5m', '1h30m', '1h1s', '0s'])
})
