#!/usr/bin/env node
// Opens COUNT idle TCP connections to HOST:PORT and holds them, like a client that exhausts a
// server's connections or file descriptors:
//   flood.js HOST PORT COUNT [--wait] [--keep]
// --wait: the port is not open yet; try every 5 ms until it is, then flood (a listener that a
// run opens). --keep: reopen every connection the server closes, so COUNT stay open.
// Prints "ready N made M" once every attempt is settled, N being the connections established
// and held (COUNT if all were), M all connections established so far; the first error, if any,
// goes to stderr. Then holds them until killed, and prints "open N" whenever one of them
// closes. From the first connection on, prints "made M" every 100 ms.
import net from 'node:net'

// Attempts in flight at once: a burst of thousands of SYNs would overflow the listener's SYN
// queue and turn into retransmissions one second later.
const PARALLEL = 128
const CONNECT_TIMEOUT_MS = 10_000

const [host, portText, countText, ...flags] = process.argv.slice(2)
const waitOpen = flags.includes('--wait')
const keep = flags.includes('--keep')
const port = Number(portText)
const count = Number(countText)
if (host === undefined || !Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: flood.js HOST PORT COUNT\n')
  process.exit(2)
}

const held = new Set()
let made = 0
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
        if (keep) void connectOne()
      })
      held.add(sock)
      made++
      resolve()
    })
  })
}

if (waitOpen) {
  for (;;) {
    const open = await new Promise((resolve) => {
      const s = net.connect({ host, port })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (open) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// How many connections were established so far, every 100 ms from the first one on.
const progress = setInterval(() => { if (made > 0) process.stdout.write(`made ${made}\n`) }, 100)
if (!keep) progress.unref()

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
process.stdout.write(`ready ${held.size} made ${made}\n`)
setInterval(() => {}, 1 << 30)
