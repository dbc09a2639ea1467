import t from 'tap'
import {
  MAX_AGENT_FRAME_BYTES, MessageError, encodeAck, encodeProbe, parseAck, parseAgentMessage, parseCoordinatorMessage, parseProbe
} from '../src/index.js'

const NONCE = 'AbCdEfGhIjKlMnOp'

t.test('valid agent messages parse to their typed form', async (t) => {
  const hello = { type: 'hello', protocol: 1, name: 'db-1.example', instance: 'x1', version: '0.1.0', hostname: 'h', platform: 'linux', pid: 12, bind: null }
  t.same(parseAgentMessage(JSON.stringify(hello)), hello)
  const ready = { type: 'run-ready', runId: 'r1', listeners: [{ protocol: 'udp', port: 9638, state: 'in-use', error: 'EADDRINUSE' }] }
  t.same(parseAgentMessage(Buffer.from(JSON.stringify(ready))), ready)
  const results = { type: 'probe-results', runId: 'r1', results: [{ id: 3, outcome: 'connected', latencyMs: 0.4, attempts: 1, echo: 'ours' }] }
  t.same(parseAgentMessage(JSON.stringify(results)), results)
  const received = { type: 'received', runId: 'r1', items: [{ protocol: 'tcp', port: 22, nonce: NONCE, address: '198.18.0.1', remotePort: 40000 }] }
  t.same(parseAgentMessage(JSON.stringify(received)), received)
})

t.test('malformed, unknown and oversized agent frames are refused with the field named', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['[]', /message: must be an object/],
    ['{"type":"launch-missiles"}', /unknown agent message type "launch-missiles"/],
    ['{"type":"flushed","runId":"r1","seq":1,"extra":true}', /extra: is not a known field/],
    ['{"type":"run-ready","runId":"r 1","listeners":[]}', /runId: must match/],
    ['{"type":"run-ready","runId":"r1","listeners":[{"protocol":"tcp","port":70000,"state":"open"}]}', /listeners\[0\]\.port: must be between 1 and 65535/],
    ['{"type":"run-ready","runId":"r1","listeners":[{"protocol":"sctp","port":1,"state":"open"}]}', /listeners\[0\]\.protocol: must be one of tcp, udp/],
    ['{"type":"received","runId":"r1","items":[{"protocol":"tcp","port":1,"nonce":"short","address":"a","remotePort":1}]}', /items\[0\]\.nonce: must match/],
    ['{"type":"probe-results","runId":"r1","results":[{"id":1,"outcome":"pass","latencyMs":null,"attempts":1,"echo":"none"}]}', /results\[0\]\.outcome: must be one of/],
    ['{"type":"hello","protocol":1,"name":"../etc","instance":"x","version":"1","hostname":"h","platform":"p","pid":1,"bind":null}', /name: must match/]
  ]
  for (const [raw, re] of bad) {
    t.throws(() => parseAgentMessage(raw), { name: 'MessageError', message: re }, raw.slice(0, 60))
  }
  const big = JSON.stringify({ type: 'flushed', runId: 'r1', seq: 1, pad: 'x'.repeat(MAX_AGENT_FRAME_BYTES) })
  t.throws(() => parseAgentMessage(big), MessageError, 'oversized frame')
})

t.test('coordinator messages are validated by the agent too', async (t) => {
  const probe = { type: 'probe', runId: 'r1', concurrency: 8, probes: [{ id: 0, protocol: 'udp', host: '198.18.0.2', port: 5405, nonce: NONCE, timeoutMs: 1000 }] }
  t.same(parseCoordinatorMessage(JSON.stringify(probe)), probe)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ ...probe, probes: [{ ...probe.probes[0], host: 'evil host; rm -rf' }] })), /probes\[0\]\.host: must match/)
  t.throws(() => parseCoordinatorMessage(JSON.stringify({ type: 'run-start', runId: 'r1', ttlMs: 0, listeners: [] })), /ttlMs: must be between/)
  t.throws(() => parseCoordinatorMessage('{"type":"hello"}'), /unknown coordinator message type "hello"/)
})

t.test('the probe wire format', async (t) => {
  t.equal(parseProbe(encodeProbe(NONCE)), NONCE)
  t.equal(parseProbe(Buffer.from(`PCHK1 ${NONCE}`)), NONCE, 'a datagram without newline')
  t.equal(parseAck(encodeAck(NONCE)), NONCE)
  t.equal(parseProbe(encodeAck(NONCE)), null, 'an ack is not a probe')
  t.equal(parseProbe(Buffer.from('GET / HTTP/1.1\r\n')), null)
  t.equal(parseProbe(Buffer.from(`PCHK1 ${NONCE} trailing\n`)), null)
  t.equal(parseProbe(Buffer.alloc(500, 0x41)), null, 'long input is not ours')
})
