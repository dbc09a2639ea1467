import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import pino from 'pino'
import { parseNotifyHeader, parseNotifyUrl } from '../src/notify/notify-options.js'
import { WebhookNotifier, type DeliveryOutcome } from '../src/notify/webhook.js'
import { expectError } from './helpers.js'

const silent = pino({ level: 'silent' })

/** A receiver that answers each POST with the next status of `statuses` (the last one repeats); `hold` keeps them waiting. */
async function receiver (t: Test, statuses: number[], opts: { hold?: boolean } = {}): Promise<{ url: URL, bodies: string[], headers: http.IncomingHttpHeaders[], release: () => void }> {
  const bodies: string[] = []
  const headers: http.IncomingHttpHeaders[] = []
  const held: http.ServerResponse[] = []
  let hold = opts.hold === true
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      bodies.push(body)
      headers.push(req.headers)
      const status = statuses[Math.min(bodies.length - 1, statuses.length - 1)] as number
      if (hold) { held.push(res); return }
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const release = (): void => { hold = false; for (const res of held.splice(0)) res.writeHead(200).end() }
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`), bodies, headers, release }
}

function outcomes (n: WebhookNotifier): DeliveryOutcome[] {
  const seen: DeliveryOutcome[] = []
  n.on('outcome', (o) => seen.push(o))
  return seen
}

async function until (test: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('a 503 is retried after a backoff, and the retry delivers the same message', async (t) => {
  const r = await receiver(t, [503, 204])
  const n = new WebhookNotifier({ url: r.url, logger: silent, minDelayMs: 200, headers: { Authorization: 'Bearer hook-secret' } })
  t.teardown(() => n.close())
  const seen = outcomes(n)
  const t0 = Date.now()
  n.notify({ hello: 'world' })
  await until(() => seen.length === 1)
  t.same(seen, ['delivered'])
  t.same(r.bodies, ['{"hello":"world"}', '{"hello":"world"}'], 'sent twice, the same body')
  t.ok(Date.now() - t0 >= 200, `the retry waited (${Date.now() - t0} ms: 200 to 400 ms with jitter)`)
  t.match(r.headers[1], { 'content-type': 'application/json', authorization: 'Bearer hook-secret', 'user-agent': 'portcheck' }, 'the header given is sent')
})

t.test('a 400 is final: not retried; an unreachable receiver is given up on within the attempts', async (t) => {
  const r = await receiver(t, [400])
  const n = new WebhookNotifier({ url: r.url, logger: silent, minDelayMs: 20 })
  t.teardown(() => n.close())
  const seen = outcomes(n)
  n.notify({ a: 1 })
  await until(() => seen.length === 1)
  t.same(seen, ['failed'])
  t.equal(r.bodies.length, 1, 'one attempt only')

  // A port nobody listens on: every attempt is refused.
  const closed = new WebhookNotifier({ url: new URL('http://127.0.0.1:9/hook'), logger: silent, minDelayMs: 20, maxDelayMs: 50, attempts: 4 })
  t.teardown(() => closed.close())
  const gone = outcomes(closed)
  const t0 = Date.now()
  closed.notify({ b: 2 })
  await until(() => gone.length === 1)
  t.same(gone, ['failed'], 'given up after 4 attempts')
  t.ok(Date.now() - t0 < 5000, `within ${Date.now() - t0} ms`)
})

t.test('the queue is bounded: past it the oldest message is dropped, and nothing waits for the receiver', async (t) => {
  const r = await receiver(t, [200], { hold: true })
  const n = new WebhookNotifier({ url: r.url, logger: silent, maxQueue: 3 })
  t.teardown(() => n.close())
  const seen = outcomes(n)
  const t0 = Date.now()
  for (let i = 0; i < 20; i++) n.notify({ i })
  t.ok(Date.now() - t0 < 100, 'notify() returns at once, whatever the receiver does')
  await until(() => r.bodies.length === 1)
  t.equal(n.pending, 3, 'three wait')
  t.equal(seen.filter((o) => o === 'dropped').length, 16, 'sixteen dropped: one in flight, three waiting')
  r.release()
  await until(() => seen.filter((o) => o === 'delivered').length === 4)
  t.same(r.bodies.map((b) => (JSON.parse(b) as { i: number }).i), [0, 17, 18, 19], 'the first, then the newest three, in order')
})

t.test('close() ends a retry wait at once', async (t) => {
  const r = await receiver(t, [503])
  const n = new WebhookNotifier({ url: r.url, logger: silent, minDelayMs: 20_000 })
  const seen = outcomes(n)
  n.notify({ x: 1 })
  await until(() => r.bodies.length === 1)
  const t0 = Date.now()
  await n.close()
  t.ok(Date.now() - t0 < 1000, `closed in ${Date.now() - t0} ms, not after the 20 s backoff`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(seen, [], 'neither delivered nor reported failed: stopped')
  n.notify({ y: 2 })
  t.equal(r.bodies.length, 1, 'nothing is sent after close')
})

t.test('--notify-url and --notify-header are checked', async (t) => {
  t.equal(parseNotifyUrl('https://hooks.example/x?a=1').href, 'https://hooks.example/x?a=1')
  t.same(parseNotifyHeader('Authorization:  Bearer abc '), ['Authorization', 'Bearer abc'])
  t.same(parseNotifyHeader('X-Team: net ops'), ['X-Team', 'net ops'])
  for (const [fn, arg, msg] of [
    [parseNotifyUrl, 'file:///etc/passwd', /only http:\/\/ and https:\/\//],
    [parseNotifyUrl, 'http://u:p@h/', /user name or password/],
    [parseNotifyHeader, 'X-A: b\r\nX-B: c', /on one line/],
    [parseNotifyHeader, 'X-A:', /1 to 4096 characters/],
    [parseNotifyHeader, 'Content-Length: 5', /set by the request itself/],
    [parseNotifyHeader, 'Bad Name: x', /expected "Name: value"/]
  ] as const) {
    const err = await expectError(async () => (fn as (s: string) => unknown)(arg))
    t.equal(err.code, 'PC_ERR_USAGE')
    t.match(err.message, msg, JSON.stringify(arg))
  }
})
