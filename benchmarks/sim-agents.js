// Simulated agents: many WebSocket clients in one process that speak the real agent protocol,
// but answer probes instantly instead of sending packets. When a source is told to probe, the
// simulator reports the probe result on the source's connection and the nonce's receipt on the
// target's connection, exactly as two real agents would, so the coordinator does all its work:
// planning, scheduling, listener bookkeeping, receipts, the barrier, verdicts and the report.
import WebSocket from 'ws'
import { randomBytes } from 'node:crypto'
import { PROTOCOL_VERSION } from '@portcheck/protocol'
import { agentCredential } from '../packages/coordinator/dist/security/credentials.js'

/**
 * @param {{ url: string, token: string, hosts: Array<{ name: string, address: string }>, blockedPorts?: Set<number> }} opts
 *   token: the join token (each simulated agent presents its host's credential, as a join command gives it);
 *   blockedPorts: probes to these ports get a timeout result and no receipt
 * @returns {Promise<{ close: () => Promise<void>, frames: () => number }>}
 */
export async function startSimAgents ({ url, token, hosts, blockedPorts = new Set() }) {
  const byAddress = new Map()
  const sockets = []
  let frames = 0
  const connectOne = (host, i) => new Promise((resolve, reject) => {
    // Each from its own loopback address, as agents on their own nodes: the coordinator bounds
    // connections per address. Linux routes all of 127.0.0.0/8 to the loopback interface.
    const localAddress = new URL(url).hostname.startsWith('127.') ? `127.90.${Math.floor(i / 250)}.${(i % 250) + 1}` : undefined
    const ws = new WebSocket(`${url}/agent`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, ...(localAddress !== undefined ? { localAddress } : {}) })
    const agent = { host, ws, receipts: [], results: [], scheduled: false, runId: null }
    byAddress.set(host.address, agent)
    sockets.push(ws)
    ws.once('error', reject)
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, name: host.name, credential: agentCredential(token, host.name), instance: randomBytes(6).toString('base64url'), version: 'sim', hostname: host.name, platform: 'sim', pid: 1, bind: host.address, addresses: [] }))
    })
    ws.on('message', (data) => {
      frames++
      const msg = JSON.parse(data)
      switch (msg.type) {
        case 'welcome': resolve(); break
        case 'run-start':
          agent.runId = msg.runId
          ws.send(JSON.stringify({ type: 'run-ready', runId: msg.runId, listeners: msg.listeners.map((l) => ({ ...l, state: 'open' })), refPort: null }))
          break
        case 'probe':
          for (const p of msg.probes) {
            if (blockedPorts.has(p.port)) {
              queue(agent, 'results', { id: p.id, outcome: 'timeout', latencyMs: null, attempts: 10, unanswered: 10, echo: 'none' })
              continue
            }
            const target = byAddress.get(p.host)
            queue(target, 'receipts', { protocol: p.protocol, port: p.port, nonce: p.nonce, address: host.address, remotePort: 40000 })
            queue(agent, 'results', { id: p.id, outcome: p.protocol === 'tcp' ? 'connected' : 'replied', latencyMs: 0.05, attempts: 1, unanswered: 0, answered: 1, echo: 'ours' })
          }
          break
        case 'flush':
          flushAgent(agent)
          ws.send(JSON.stringify({ type: 'flushed', runId: msg.runId, seq: msg.seq, paths: [] }))
          break
        case 'run-end':
          ws.send(JSON.stringify({ type: 'run-closed', runId: msg.runId }))
          break
      }
    })
  })
  const queue = (agent, kind, item) => {
    agent[kind].push(item)
    if (!agent.scheduled) {
      agent.scheduled = true
      setImmediate(() => flushAgent(agent))
    }
  }
  const flushAgent = (agent) => {
    agent.scheduled = false
    const runId = agent.runId
    // Receipts before results, as on a real network the target sees the nonce before the source hears back.
    for (let i = 0; i < agent.receipts.length; i += 4000) agent.ws.send(JSON.stringify({ type: 'received', runId, items: agent.receipts.slice(i, i + 4000) }))
    for (let i = 0; i < agent.results.length; i += 4000) agent.ws.send(JSON.stringify({ type: 'probe-results', runId, results: agent.results.slice(i, i + 4000) }))
    agent.receipts = []
    agent.results = []
  }
  // Connect in waves so the coordinator's accept queue is not flooded.
  for (let i = 0; i < hosts.length; i += 100) await Promise.all(hosts.slice(i, i + 100).map((h, j) => connectOne(h, i + j)))
  return {
    frames: () => frames,
    close: async () => { for (const ws of sockets) ws.terminate() }
  }
}

// As a separate process: node benchmarks/sim-agents.js URL TOKEN COUNT
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, token, count] = process.argv.slice(2)
  const hosts = Array.from({ length: Number(count) }, (_, i) => ({ name: `n${i}`, address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` }))
  const sims = await startSimAgents({ url, token, hosts })
  process.stdout.write('ready\n')
  process.on('SIGTERM', async () => { await sims.close(); process.exit(0) })
}
