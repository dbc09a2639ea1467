#!/usr/bin/env node
// Opens COUNT idle TCP connections to HOST:PORT and holds them, like a client that exhausts a
// server's connections or file descriptors:
//   flood.js HOST PORT COUNT
// Prints "ready N" once every attempt is settled, N being the connections established (COUNT
// if all were); the first error, if any, goes to stderr. Then holds them until killed, and
// prints "open N" whenever one of them closes.
import net from 'node:net'

// Attempts in flight at once: a burst of thousands of SYNs would overflow the listener's SYN
// queue and turn into retransmissions one second later.
const PARALLEL = 128
const CONNECT_TIMEOUT_MS = 10_000

const [host, portText, countText] = process.argv.slice(2)
const port = Number(portText)
const count = Number(countText)
if (host === undefined || !Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: flood.js HOST PORT COUNT\n')
  process.exit(2)
}

const held = new Set()
let firstError = null
let ready = false

function connectOne () {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port })
    sock.setTimeout(CONNECT_TIMEOUT_MS)
    const fail = (err) => {
      firstError ??= err
      sock.destroy()
      resolve()
    }
    sock.once('timeout', () => fail(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`)))
    sock.once('error', fail)
    sock.once('connect', () => {
      sock.setTimeout(0)
      sock.removeAllListeners('timeout')
      sock.removeListener('error', fail)
      sock.on('error', () => {})
      sock.once('close', () => {
        held.delete(sock)
        if (ready) process.stdout.write(`open ${held.size}\n`)
      })
      held.add(sock)
      resolve()
    })
  })
}

let next = 0
async function worker () {
  while (next < count) {
    next++
    await connectOne()
  }
}
await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker))
ready = true
if (firstError !== null) process.stderr.write(`${count - held.size} of ${count} failed, first: ${firstError.message}\n`)
process.stdout.write(`ready ${held.size}\n`)
setInterval(() => {}, 1 << 30)
