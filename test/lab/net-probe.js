#!/usr/bin/env node
// Measurements taken from inside a lab host with real sockets (field-lab.test.ts):
//   net-probe.js handshakes HOST PORT COUNT  prints the JSON array of COUNT TCP handshake times (ms), one after another
//   net-probe.js udp-send HOST PORT COUNT    sends COUNT numbered datagrams, paced, then prints "sent COUNT"
//   net-probe.js udp-count PORT              prints "ready" once bound, counts datagrams, prints "count N" whenever N changed
//                                            (at most every 50 ms), and "received N reordered M" on SIGTERM (M: datagrams
//                                            numbered lower than one received before)
//   net-probe.js lookup NAME                 prints JSON {address} or {code} from dns.lookup, with {ms} it took
import dgram from 'node:dgram'
import dns from 'node:dns/promises'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const [mode, ...args] = process.argv.slice(2)

if (mode === 'handshakes') {
  const [host, port, count] = args
  const times = []
  for (let i = 0; i < Number(count); i++) {
    const start = process.hrtime.bigint()
    await new Promise((resolve, reject) => {
      const sock = net.connect({ host, port: Number(port) }, () => {
        times.push(Number(process.hrtime.bigint() - start) / 1e6)
        sock.destroy()
        resolve()
      })
      sock.once('error', reject)
    })
  }
  process.stdout.write(JSON.stringify(times) + '\n')
} else if (mode === 'udp-send') {
  const [host, port, count] = args
  const sock = dgram.createSocket('udp4')
  let seq = 0
  const send = () => new Promise((resolve, reject) => {
    const payload = Buffer.alloc(64)
    payload.writeUInt32BE(seq++)
    sock.send(payload, Number(port), host, (err) => err ? reject(err) : resolve())
  })
  // One datagram first, to resolve the neighbour: a burst queued behind an unresolved
  // neighbour entry overflows its queue (unres_qlen), which would count as loss.
  await send()
  await sleep(200)
  // Bursts of 50 every 5 ms: no queue on the way (socket, veth, receiver's buffer) overflows.
  for (let sent = 1; sent < Number(count); sent++) {
    await send()
    if (sent % 50 === 0) await sleep(5)
  }
  sock.close()
  process.stdout.write(`sent ${count}\n`)
} else if (mode === 'udp-count') {
  const [port] = args
  let received = 0
  let reordered = 0
  let last = -1
  const sock = dgram.createSocket('udp4')
  sock.on('message', (msg) => {
    received++
    const seq = msg.length >= 4 ? msg.readUInt32BE(0) : 0
    if (seq < last) reordered++
    else last = seq
  })
  sock.bind(Number(port), () => {
    sock.setRecvBufferSize(4 * 1024 * 1024)
    process.stdout.write('ready\n')
  })
  let told = 0
  setInterval(() => { if (received !== told) { told = received; process.stdout.write(`count ${received}\n`) } }, 50)
  process.once('SIGTERM', () => {
    process.stdout.write(`received ${received} reordered ${reordered}\n`)
    process.exit(0)
  })
} else if (mode === 'lookup') {
  const [name] = args
  const start = Date.now()
  const result = await dns.lookup(name, { family: 4 }).then(({ address }) => ({ address }), (err) => ({ code: err.code }))
  process.stdout.write(JSON.stringify({ ...result, ms: Date.now() - start }) + '\n')
} else {
  process.stderr.write('usage: net-probe.js handshakes|udp-send|udp-count|lookup ...\n')
  process.exit(2)
}
