import t from 'tap'
import { classifySocketError } from '../src/probes/classify.js'
import { PathTable, MIN_WINDOW_MS, UNMEASURED_WINDOW_MS } from '../src/probes/path-table.js'
import { connectsToSelf } from '../src/probes/probe-runner.js'
import { Resolver } from '../src/probes/resolver.js'

t.test('every socket error maps to an outcome: network evidence, a local refusal, no name, or a local error', async (t) => {
  const expected: Record<string, string> = {
    ECONNREFUSED: 'refused',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    EHOSTDOWN: 'unreachable',
    ENETDOWN: 'unreachable',
    EPERM: 'egress-denied',
    EACCES: 'egress-denied',
    ETIMEDOUT: 'timeout',
    ENOTFOUND: 'unresolved',
    EAI_AGAIN: 'unresolved',
    EAI_FAIL: 'unresolved',
    ERESOLVETIMEOUT: 'unresolved',
    EINVAL: 'error',
    EMFILE: 'error',
    EADDRNOTAVAIL: 'error'
  }
  for (const [code, outcome] of Object.entries(expected)) t.equal(classifySocketError(code), outcome, code)
  t.equal(classifySocketError(undefined), 'error', 'no code at all')
})

t.test('names resolve once per run, outside any probe, and failures are outcomes', async (t) => {
  let lookups = 0
  const r = new Resolver(async (host) => {
    lookups++
    if (host === 'db1.lab.test') return '198.18.0.5'
    if (host === 'slow.lab.test') return await new Promise<string>(() => {})
    throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' })
  }, 50)
  t.same(await r.resolve('198.18.0.9'), { address: '198.18.0.9' }, 'an address passes through')
  t.same(await Promise.all([r.resolve('db1.lab.test'), r.resolve('db1.lab.test')]), [{ address: '198.18.0.5' }, { address: '198.18.0.5' }])
  t.same(await r.resolve('nowhere.lab.test'), { error: 'ENOTFOUND' })
  t.same(await r.resolve('slow.lab.test'), { error: 'ERESOLVETIMEOUT' }, 'a resolver that never answers is cut off')
  t.equal(lookups, 3, 'each name looked up once')
})

t.test('the answer window comes from the path itself; relayed round trips only lengthen an unmeasured one', async (t) => {
  const p = new PathTable()
  t.same(p.window('198.18.0.2', 'tcp'), { ms: UNMEASURED_WINDOW_MS, measured: false }, 'nothing measured')
  p.hint('198.18.0.2', 400)
  t.same(p.window('198.18.0.2', 'tcp'), { ms: 800, measured: false }, 'a relayed round trip lengthens it')
  p.hint('198.18.0.3', 1)
  t.same(p.window('198.18.0.3', 'udp'), { ms: UNMEASURED_WINDOW_MS, measured: false }, 'never shortens it')
  for (let i = 0; i < 10; i++) p.answered('198.18.0.4', 'tcp', 1, 0.3)
  t.same(p.window('198.18.0.4', 'tcp'), { ms: MIN_WINDOW_MS, measured: true }, 'a LAN path: the floor')
  t.same(p.window('198.18.0.4', 'udp'), { ms: MIN_WINDOW_MS, measured: true }, 'the other protocol of the same path borrows it')
  p.answered('198.18.0.5', 'udp', 1, 400)
  t.same(p.window('198.18.0.5', 'udp'), { ms: 1200, measured: true }, 'a far path, from its own sample (SRTT + 4 RTTVAR)')
  t.same(p.window('198.18.0.9', 'udp').ms, 4 * 1200, 'an unmeasured path waits at least four times the slowest RTO seen')
})

t.test('loss is measured from answered probes and reference datagrams; silence is evidence only on a measured path', async (t) => {
  const p = new PathTable()
  t.equal(p.sample('198.18.0.2', 'tcp'), null, 'nothing measured: no sample')
  for (let i = 0; i < 18; i++) p.answered('198.18.0.2', 'tcp', 1, 0.3)
  p.answered('198.18.0.2', 'udp', 3, 0.3)
  t.same(p.sample('198.18.0.2', 'udp'), { attempts: 21, failed: 2 }, 'both protocols of the path, the attempts before an answer counted as lost')
  for (let i = 0; i < 20; i++) p.record('198.18.0.2', i % 10 === 0 ? null : 0.4)
  t.same(p.sample('198.18.0.2', 'tcp'), { attempts: 41, failed: 4 }, 'reference datagrams: answered or lost')
  t.notOk(p.enough('198.18.0.2', 'tcp', 4), 'four silent attempts on a path that lost one in ten: not enough')
  t.ok(p.enough('198.18.0.2', 'tcp', 12), 'twelve are')
  t.notOk(p.enough('198.18.0.7', 'tcp', 40), 'on a path never measured, no amount of silence stops a probe early')
  t.match(p.figures().find((f) => f.protocol === 'udp'), { host: '198.18.0.2', protocol: 'udp', attempts: 23, failed: 4, rttMs: Number }, 'what the coordinator gets at the barrier')
})

t.test('loopback and unspecified addresses are recognized in every spelling', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '0.0.0.0', '::1', '0:0:0:0:0:0:0:1', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:0.0.0.0', 'localhost']) t.equal(connectsToSelf(a), true, a)
  for (const a of ['198.18.0.1', '2001:2::1', '::ffff:198.18.0.1', '128.0.0.1', 'db1.lab.test']) t.equal(connectsToSelf(a), false, a)
})
