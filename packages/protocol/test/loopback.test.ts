import t from 'tap'
import { isLoopback, isUnspecified } from '../src/loopback.js'

t.test('loopback and unspecified addresses, in any spelling', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', 'localhost']) t.equal(isLoopback(a), true, a)
  for (const a of ['0.0.0.0', '::', '198.18.0.1', '2001:2::1', '::ffff:198.18.0.1', '128.0.0.1', 'db1.lab.test', '']) t.equal(isLoopback(a), false, `${a}: not loopback (an unspecified address listens on every interface)`)
  for (const a of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0']) t.equal(isUnspecified(a), true, a)
  for (const a of ['127.0.0.1', '::1', '198.18.0.1', 'localhost']) t.equal(isUnspecified(a), false, a)
})
