#!/usr/bin/env node
// `npm run demo`: a full portcheck run on this machine, without root. A coordinator (the real
// `portcheck run` CLI) and five agents (real `portcheck-agent` processes), each bound to its own
// loopback address, check the demo product of examples/demo/.
//
// So that there is something to find, two faults are staged with plain sockets, the way they
// look on a real network:
//  - db2 is reached through NAT at 127.0.0.15 (`nat: true` in the inventory) and its agent runs
//    on 127.0.0.25, but nothing forwards .15 to it: every flow to db2 is refused, like a host
//    firewall rejecting it;
//  - a stray process answers on 127.0.0.15:15432, like a DNAT sending the database port elsewhere;
//  - a stray process holds udp/15405 on db1, so that port cannot be proven there.
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cli = path.join(root, 'packages/coordinator/bin/portcheck.js')
const agentBin = path.join(root, 'packages/agent/bin/portcheck-agent.js')
const inventory = path.join(root, 'examples/demo/inventory.yaml')
const token = 'demo-token-not-secret'
// In a terminal, the demo keeps the dashboard up after the report, until Ctrl-C; run by a script
// (no terminal), it exits after the report. --dashboard / --no-dashboard override.
const dashboard = process.argv.includes('--dashboard') || (process.stdin.isTTY === true && !process.argv.includes('--no-dashboard'))

if (process.platform !== 'linux') {
  process.stderr.write('The demo binds agents to 127.0.0.11-25, which only Linux routes to loopback out of the box.\n')
}

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer()
  s.once('error', reject)
  s.listen({ host: '127.0.0.1', port: 0 }, () => {
    const { port } = s.address()
    s.close(() => resolve(port))
  })
})

// The staged faults sit on fixed addresses: a second demo on the same machine finds them taken.
// Say which, and what to do, rather than die with a stack trace.
const cannotStage = (proto, host, port, err) => {
  if (err.code === 'EADDRINUSE') {
    process.stderr.write(`demo: ${proto} ${host}:${port} is already in use (EADDRINUSE); the demo stages a fault on it.\n` +
      'demo: another `npm run demo` is probably running on this machine (in a terminal it keeps its dashboard up until Ctrl-C): stop it, then run the demo again.\n' +
      `demo: to see what holds the port: ss -${proto === 'tcp' ? 't' : 'u'}lnp 'sport = :${port}'\n`)
  } else {
    process.stderr.write(`demo: cannot stage a fault on ${proto} ${host}:${port}: ${err.code ?? err.message}\n`)
  }
  process.exit(2)
}
const hold = (proto, host, port, socket) => new Promise((resolve) => {
  socket.once('error', (err) => cannotStage(proto, host, port, err))
  if (proto === 'tcp') socket.listen({ host, port }, resolve)
  else socket.bind(port, host, resolve)
})
const decoy = net.createServer((sock) => {
  sock.on('error', () => {})
  sock.once('data', () => sock.end('HTTP/1.0 400 Bad Request\r\n\r\n'))
})
await hold('tcp', '127.0.0.15', 15432, decoy)
const stray = dgram.createSocket('udp4')
await hold('udp', '127.0.0.14', 15405, stray)

const port = await freePort()
// The coordinator serves TLS with a key of its own, kept in a state directory of the demo's.
const stateDir = mkdtempSync(path.join(tmpdir(), 'portcheck-demo-'))
const args = ['run', '--inventory', inventory, '--listen', `127.0.0.1:${port}`, '--token', token, '--state-dir', stateDir, '--wait', '15', '--include-optional', '--log-level', 'warn']
if (dashboard) args.push('--dashboard')
const coordinator = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'pipe'] })

const agents = []
/** The agent's arguments in the join command the coordinator printed for a host (from `--coordinator` on). */
const joinArgs = (output, name) => {
  const line = output.split('\n').find((l) => l.includes(' --coordinator ') && l.includes(` --name ${name} `))
  if (line === undefined) throw new Error(`no join command for ${name}`)
  return line.slice(line.indexOf(' --coordinator ') + 1).trim().split(/\s+/)
}
const startAgents = (output) => {
  const hosts = [['lb1', '127.0.0.11'], ['app1', '127.0.0.12'], ['app2', '127.0.0.13'], ['db1', '127.0.0.14'], ['db2', '127.0.0.25']]
  for (const [name, bind] of hosts) {
    // Each agent runs its host's join command as printed (TLS, the pin, its own credential), bound to its loopback address.
    agents.push(spawn(process.execPath, [agentBin, ...joinArgs(output, name), '--bind', bind, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] }))
  }
  process.stderr.write('demo: started 5 agents (lb1, app1, app2, db1 on their inventory addresses; db2 on 127.0.0.25)\n\n')
}

let started = false
let printed = ''
coordinator.stderr.on('data', (chunk) => {
  process.stderr.write(chunk)
  printed += chunk.toString()
  if (!started && printed.includes('Waiting up to')) {
    started = true
    startAgents(printed)
  }
})

const stopAll = () => {
  for (const a of agents) a.kill('SIGTERM')
  decoy.close()
  stray.close()
  rmSync(stateDir, { recursive: true, force: true })
}
process.on('SIGINT', () => coordinator.kill('SIGINT'))

const code = await new Promise((resolve) => coordinator.on('close', (c) => resolve(c ?? 130)))
stopAll()
const meaning = { 0: 'every required flow passed', 1: 'required flows are blocked', 2: 'bad input, or it could not listen', 3: 'some required flows could not be verified', 130: 'stopped' }[code] ?? 'stopped'
process.stderr.write(`\ndemo: \`portcheck run\` exited with ${code} (${meaning}). In a pre-install pipeline, that exit code is the gate.\n`)
process.stderr.write('demo: the staged faults are described at the top of scripts/demo.js.\n')
if (!dashboard) process.stderr.write('demo: run `npm run demo` in a terminal (or add `-- --dashboard`) to keep the dashboard open after the report.\n')
