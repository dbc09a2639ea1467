#!/usr/bin/env node
// A plain process that holds ports, standing in for "another process" in the lab:
//   port-holder.js tcp:15433 udp:15405 tcp-answer:19000 tcp-silent:19001
// tcp:P accepts and closes, tcp-answer:P answers any input with "HELLO\n" (a DNAT target
// that is not a portcheck agent), tcp-silent:P accepts, reads and never answers nor closes (a
// silent interceptor), udp:P binds and stays silent. Prints "ready" once bound.
import net from 'node:net'
import dgram from 'node:dgram'

const KINDS = ['tcp', 'tcp-answer', 'tcp-silent']
// Node's default backlog (511) would drop part of a burst of a thousand connections (flood.js).
const BACKLOG = 4096

const specs = process.argv.slice(2)
await Promise.all(specs.map((spec) => new Promise((resolve, reject) => {
  const [kind, portText] = spec.split(':')
  const port = Number(portText)
  if (kind === 'udp') {
    const s = dgram.createSocket({ type: 'udp6', ipv6Only: false })
    s.once('error', reject)
    s.bind(port, '::', resolve)
  } else if (KINDS.includes(kind)) {
    const server = net.createServer((sock) => {
      sock.on('error', () => {})
      sock.resume()
      if (kind === 'tcp-answer') sock.once('data', () => sock.end('HELLO\n'))
      else if (kind === 'tcp') sock.end()
    })
    server.once('error', reject)
    server.listen({ port, host: '::', ipv6Only: false, backlog: BACKLOG }, resolve)
  } else reject(new Error(`bad spec ${spec}`))
})))
process.stdout.write('ready\n')
setInterval(() => {}, 1 << 30)
