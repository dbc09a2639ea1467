import t from 'tap'
import { AcceptedIndex, MAX_ACCEPTED_PER_RUN } from '../src/scheduler/accepted-index.js'

t.test('connections without a nonce: the source\'s own, and those of others crowding the listener', async (t) => {
  const idx = new AcceptedIndex()
  const src = new Set(['198.18.0.1'])
  for (let i = 0; i < 100; i++) idx.add('db2', { port: 15432, address: '198.18.0.30', remotePort: 50000 + i })
  idx.add('db2', { port: 15432, address: '198.18.0.1', remotePort: 40001 })
  idx.add('db2', { port: 15433, address: '198.18.0.30', remotePort: 50200 })
  t.equal(idx.fromOthers('db2', 15432, src), 100, 'the flooder\'s, not the source\'s')
  t.equal(idx.fromOthers('db2', 15433, src), 1, 'per listener')
  t.equal(idx.fromOthers('db1', 15432, src), 0, 'another host\'s listener: none')
  t.equal(idx.reached('db2', 15432, src, [40001, 40002], () => true), 1, 'the source\'s own handshake reached the listener')
})

t.test('the index stops growing at its bound, counts included', async (t) => {
  const idx = new AcceptedIndex()
  for (let i = 0; i < MAX_ACCEPTED_PER_RUN + 10; i++) idx.add('db2', { port: 15432, address: '198.18.0.30', remotePort: i % 65536 })
  t.equal(idx.fromOthers('db2', 15432, new Set()), MAX_ACCEPTED_PER_RUN)
})
