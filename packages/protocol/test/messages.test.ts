import t from 'tap'
import {
  MAX_AGENT_FRAME_BYTES, MessageError, PROTOCOL_VERSION, encodeAck, encodeProbe, parseAck, parseAgentMessage, parseCoordinatorMessage, parseProbe
} from '../src/index.js'

const NONCE = 'AbCdEfGhIjKlMnOp'

t.test('valid agent messages parse to their typed form', async (t) => {
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, name: 'db-1.example', credential: 'c'.repeat(43), instance: 'x1', version: '0.1.0', hostname: 'h', platform: 'linux', pid: 12, bind: [], addresses: ['198.18.1.5/15', '127.0.0.1/8', 'fe80::1/64', '2001:2::5/64'] }
  t.same(parseAgentMessage(JSON.stringify(hello)), hello)
  const bound = { ...hello, bind: ['198.18.1.5', '2001:2::5'] }
  t.same(parseAgentMessage(JSON.stringify(bound)), bound, 'an agent bound to one address per family')
  const ready = { type: 'run-ready', runId: 'r1', listeners: [{ protocol: 'udp', port: 9638, state: 'in-use', error: 'EADDRINUSE' }], refPort: 41234, more: true }
  t.same(parseAgentMessage(Buffer.from(JSON.stringify(ready))), ready)
  const results = { type: 'probe-results', runId: 'r1', results: [{ id: 3, outcome: 'connected', latencyMs: 0.4, attempts: 2, unanswered: 1, answered: 2, echo: 'ours' }, { id: 4, outcome: 'connected', latencyMs: null, attempts: 3, unanswered: 3, connected: [40001, 40002], echo: 'none', address: '198.18.0.9' }] }
  t.same(parseAgentMessage(JSON.stringify(results)), results)
  const received = { type: 'received', runId: 'r1', items: [{ protocol: 'tcp', port: 22, nonce: NONCE, address: '198.18.0.1', remotePort: 40000 }] }
  t.same(parseAgentMessage(JSON.stringify(received)), received)
  const accepted = { type: 'accepted', runId: 'r1', items: [{ port: 22, address: '198.18.0.1', remotePort: 40001 }] }
  t.same(parseAgentMessage(JSON.stringify(accepted)), accepted)
  const flushed = { type: 'flushed', runId: 'r1', seq: 3, paths: [{ host: '198.18.0.2', protocol: 'tcp', attempts: 40, failed: 2, rttMs: 0.31 }] }
  t.same(parseAgentMessage(JSON.stringify(flushed)), flushed)
})

t.test('malformed, unknown and oversized agent frames are refused with the field named', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['[]', /message: must be an object/],
    ['{"type":"launch-missiles"}', /unknown agent message type "launch-missiles"/],
    ['{"type":"flushed","runId":"r1","seq":1,"paths":[],"extra":true}', /extra: is not a known field/],
    ['{"type":"flushed","runId":"r1","seq":1,"paths":[{"host":"h","protocol":"tcp","attempts":1,"failed":2,"rttMs":null}]}', /paths\[0\]\.failed: must be between 0 and 1/],
    ['{"type":"run-ready","runId":"r 1","listeners":[],"refPort":null}', /runId: must match/],
    ['{"type":"run-ready","runId":"r1","listeners":[{"protocol":"tcp","port":70000,"state":"open"}],"refPort":null}', /listeners\[0\]\.port: must be between 1 and 65535/],
    ['{"type":"run-ready","runId":"r1","listeners":[{"protocol":"sctp","port":1,"state":"open"}],"refPort":null}', /listeners\[0\]\.protocol: must be one of tcp, udp/],
    ['{"type":"received","runId":"r1","items":[{"protocol":"tcp","port":1,"nonce":"short","address":"a","remotePort":1}]}', /items\[0\]\.nonce: must match/],
    ['{"type":"probe-results","runId":"r1","results":[{"id":1,"outcome":"pass","latencyMs":null,"attempts":1,"unanswered":0,"echo":"none"}]}', /results\[0\]\.outcome: must be one of/],
    ['{"type":"probe-results","runId":"r1","results":[{"id":1,"outcome":"timeout","latencyMs":null,"attempts":1,"unanswered":1,"echo":"none","connected":[0]}]}', /results\[0\]\.connected\[0\]: must be between 1 and 65535/],
    ['{"type":"hello","protocol":2,"name":"../etc","credential":"' + 'c'.repeat(43) + '","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":[],"addresses":[]}', /name: must match/],
    ['{"type":"hello","protocol":2,"name":"a","credential":"short","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":[],"addresses":[]}', /credential: must match/],
    ['{"type":"hello","protocol":2,"name":"a","credential":"' + 'c'.repeat(43) + '","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":[],"addresses":["not an address"]}', /addresses\[0\]: must match/],
    ['{"type":"hello","protocol":2,"name":"a","credential":"' + 'c'.repeat(43) + '","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":null,"addresses":[]}', /bind: must be an array/],
    ['{"type":"hello","protocol":2,"name":"a","credential":"' + 'c'.repeat(43) + '","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":["a","b","c"],"addresses":[]}', /bind: must have at most 2 items/]
  ]
  for (const [raw, re] of bad) {
    t.throws(() => parseAgentMessage(raw), { name: 'MessageError', message: re }, raw.slice(0, 60))
  }
  const big = JSON.stringify({ type: 'flushed', runId: 'r1', seq: 1, pad: 'x'.repeat(MAX_AGENT_FRAME_BYTES) })
  t.throws(() => parseAgentMessage(big), MessageError, 'oversized frame')
})

t.test('coordinator messages are validated by the agent too', async (t) => {
  const probe = { type: 'probe', runId: 'r1', round: 2, concurrency: 8, refs: [{ host: '198.18.0.2', port: 41234 }], probes: [{ id: 0, protocol: 'udp', host: '198.18.0.2', port: 5405, nonce: NONCE, timeoutMs: 1000, need: 12 }] }
  t.same(parseCoordinatorMessage(JSON.stringify(probe)), probe)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ ...probe, probes: [{ ...probe.probes[0], host: 'evil host; rm -rf' }] })), /probes\[0\]\.host: must match/)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ ...probe, probes: [{ ...probe.probes[0], need: 1000 }] })), /probes\[0\]\.need: must be between 1 and 40/)
  const named = { ...probe, probes: [{ ...probe.probes[0], host: 'db1.example', family: 'ipv6' }] }
  t.same(parseCoordinatorMessage(JSON.stringify(named)), named, 'a name to resolve in one family')
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ ...probe, probes: [{ ...probe.probes[0], family: 'inet6' }] })), /probes\[0\]\.family: must be one of ipv4, ipv6/)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ type: 'run-start', runId: 'r1', ttlMs: 0, listeners: [], peers: [] })), /ttlMs: must be between/)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ type: 'run-start', runId: 'r1', ttlMs: 1000, listeners: [] })), /peers: must be an array/, 'a run says which hosts the agent may probe')
  t.throws(() => parseCoordinatorMessage('{"type":"hello"}'), /unknown coordinator message type "hello"/)
})

t.test('the probe wire format', async (t) => {
  t.same(parseProbe(encodeProbe(NONCE)), { nonce: NONCE, seq: null })
  t.same(parseProbe(encodeProbe(NONCE, 3)), { nonce: NONCE, seq: 3 }, 'the attempt number')
  t.equal(encodeAck(NONCE, 3).toString(), `PCOK1 ${NONCE} 3\n`, 'echoed in the acknowledgement')
  t.same(parseProbe(Buffer.from(`PCHK1 ${NONCE}`)), { nonce: NONCE, seq: null }, 'a datagram without newline')
  t.same(parseAck(encodeAck(NONCE)), { nonce: NONCE, seq: null })
  t.equal(parseProbe(encodeAck(NONCE)), null, 'an ack is not a probe')
  t.equal(parseProbe(Buffer.from('GET / HTTP/1.1\r\n')), null)
  t.equal(parseProbe(Buffer.from(`PCHK1 ${NONCE} trailing\n`)), null)
  t.equal(parseProbe(Buffer.from(`PCHK1 ${NONCE} 0\n`)), null, 'attempts count from 1')
  t.equal(parseProbe(Buffer.from(`PCHK1 ${NONCE} 1 2\n`)), null)
  t.equal(parseProbe(Buffer.alloc(500, 0x41)), null, 'long input is not ours')
})

t.test('localization and counting messages, both ways', async (t) => {
  const start = { type: 'trace-start', runId: 'r1', items: [{ id: 3, role: 'source', protocol: 'tcp', port: 15432, host: '198.18.1.14' }, { id: 4, role: 'target', protocol: 'udp', port: 15405, from: ['198.18.1.15', '2001:2::15'] }] }
  t.same(parseCoordinatorMessage(JSON.stringify(start)), start)
  t.same(parseCoordinatorMessage('{"type":"trace-stop","runId":"r1"}'), { type: 'trace-stop', runId: 'r1' })
  const count = { type: 'count-start', runId: 'r1', items: [{ id: 5, port: 15405, from: ['198.18.1.15'], nonce: NONCE }] }
  t.same(parseCoordinatorMessage(JSON.stringify(count)), count)
  const bad: Array<[unknown, RegExp]> = [
    [{ ...start, items: [{ id: 3, role: 'source', protocol: 'tcp', port: 15432, host: '198.18.1.14', from: ['198.18.1.12'] }] }, /items\[0\]\.from: is not a field of a source order/],
    [{ ...start, items: [{ id: 3, role: 'target', protocol: 'tcp', port: 15432, from: [] }] }, /items\[0\]\.from: must not be empty/],
    [{ ...start, items: [{ id: 3, role: 'target', protocol: 'tcp', port: 15432, from: ['db1.example'] }] }, /items\[0\]\.from\[0\]: must match/],
    [{ ...start, items: [{ id: 3, role: 'target', protocol: 'tcp', port: 15432, from: Array(9).fill('198.18.1.1') }] }, /items\[0\]\.from: must have at most 8 items/],
    [{ ...start, items: Array(257).fill(start.items[0]) }, /items: must have at most 256 items/],
    [{ ...start, items: [{ ...start.items[0], role: 'bystander' }] }, /items\[0\]\.role: must be one of source, target/],
    [{ ...count, items: [{ ...count.items[0], nonce: 'x' }] }, /items\[0\]\.nonce: must match/],
    [{ ...count, items: [{ id: 6, protocol: 'tcp', port: 15433, from: ['198.18.1.15'], nonce: NONCE }] }, /items\[0\]\.nonce: is not a field of a TCP order/],
    [{ ...count, items: [{ id: 6, protocol: 'udp', port: 15405, from: ['198.18.1.15'] }] }, /items\[0\]\.nonce: must be a string/],
    [{ ...count, items: [{ id: 6, protocol: 'sctp', port: 15405, from: ['198.18.1.15'], nonce: NONCE }] }, /items\[0\]\.protocol: must be one of tcp, udp/]
  ]
  const tcpCount = { type: 'count-start', runId: 'r1', items: [{ id: 6, protocol: 'tcp', port: 15433, from: ['198.18.1.15', '2001:2::15'] }] }
  t.same(parseCoordinatorMessage(JSON.stringify(tcpCount)), tcpCount, 'a TCP count order: no nonce')
  for (const [m, re] of bad) t.throws(() => parseCoordinatorMessage(JSON.stringify(m)), { name: 'MessageError', message: re }, String(re))

  const result = { type: 'trace-result', runId: 'r1', items: [{ id: 3, role: 'target', seen: 3, passed: 0, dropped: 3, rule: { family: 'inet', table: 'filter', chain: 'input', handle: 3, text: 'tcp dport 15432 drop', owner: 'nftables' } }, { id: 4, role: 'source', seen: 2, passed: 2, dropped: 0, via: ['198.18.1.12'] }], truncated: true }
  t.same(parseAgentMessage(JSON.stringify(result)), result)
  const blind = { ...result, unwatched: ['eth9', 'bond0.100'] }
  t.same(parseAgentMessage(JSON.stringify(blind)), blind, 'interfaces the trace could not watch')
  t.throws(() => parseAgentMessage(JSON.stringify({ ...result, unwatched: ['eth 9'] })), /unwatched\[0\]: must match/, 'an interface name has no white space')
  t.throws(() => parseAgentMessage(JSON.stringify({ ...result, unwatched: ['a-very-long-interface'] })), /unwatched\[0\]/, 'nor more than 15 bytes')
  t.same(parseAgentMessage('{"type":"trace-ready","runId":"r1","error":"not root"}'), { type: 'trace-ready', runId: 'r1', error: 'not root' })
  t.same(parseAgentMessage('{"type":"count-ready","runId":"r1"}'), { type: 'count-ready', runId: 'r1' })
  const flushed = { type: 'flushed', runId: 'r1', seq: 2, paths: [], counts: [{ id: 5, packets: 3 }] }
  t.same(parseAgentMessage(JSON.stringify(flushed)), flushed)
  const hello = { type: 'hello', protocol: PROTOCOL_VERSION, name: 'db1', credential: 'c'.repeat(43), instance: 'x1', version: '0.1.0', hostname: 'h', platform: 'linux', pid: 12, bind: [], addresses: [], nftables: { usable: false, why: 'not root' } }
  t.same(parseAgentMessage(JSON.stringify(hello)), hello)
  t.throws(() => parseAgentMessage(JSON.stringify({ ...result, items: [{ ...result.items[0], rule: { ...result.items[0]?.rule, owner: 'pf' } }] })), /items\[0\]\.rule\.owner: must be one of nftables, iptables, firewalld/)
  t.throws(() => parseAgentMessage(JSON.stringify({ ...flushed, counts: [{ id: 5, packets: -1 }] })), /counts\[0\]\.packets: must be between/)
  t.throws(() => parseAgentMessage(JSON.stringify({ ...hello, nftables: { usable: 'yes' } })), /nftables\.usable: must be true or false/)

  const arrived = { type: 'arrived', runId: 'r1', items: [{ port: 15433, address: '198.18.1.15', remotePort: 40123 }, { port: 15433, address: '2001:2::15', remotePort: 40124 }] }
  t.same(parseAgentMessage(JSON.stringify(arrived)), arrived, 'SYNs counted on a TCP port another process holds')
  t.throws(() => parseAgentMessage(JSON.stringify({ ...arrived, items: [{ port: 15433, address: 'db2', remotePort: 1 }] })), /items\[0\]\.address: must match/, 'addresses are IP literals')
  t.throws(() => parseAgentMessage(JSON.stringify({ ...arrived, items: [{ port: 15433, address: '198.18.1.15', remotePort: 70000 }] })), /items\[0\]\.remotePort: must be between/)
  t.throws(() => parseAgentMessage(JSON.stringify({ ...arrived, items: Array(4001).fill(arrived.items[0]) })), /items: must have at most 4000 items/, 'a frame is bounded')

  const crowded = { ...flushed, crowded: [{ port: 15405, strangers: 250000, dropped: 41000 }, { port: 15406, strangers: 3, dropped: null }] }
  t.same(parseAgentMessage(JSON.stringify(crowded)), crowded, 'UDP listeners a flood reached')
  t.throws(() => parseAgentMessage(JSON.stringify({ ...flushed, crowded: [{ port: 15405, strangers: -1, dropped: 0 }] })), /crowded\[0\]\.strangers: must be between/)
  t.throws(() => parseAgentMessage(JSON.stringify({ ...flushed, crowded: [{ port: 15405, strangers: 1, dropped: 0, extra: 1 }] })), /crowded\[0\]\.extra: is not a known field/)
})
