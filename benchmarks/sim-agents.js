// Simulated agents: many WebSocket clients in one process that speak the real agent protocol,
// but answer probes instantly instead of sending packets. When a source is told to probe, the
// simulator reports the probe result on the source's connection and the nonce's receipt on the
// target's connection, exactly as two real agents would, so the coordinator does all its work:
// planning, scheduling, listener bookkeeping, receipts, the barrier, verdicts and the report.
// Each simulated host joins as a real one does: its own credential, derived from the join token
// the way a provisioning tool computes it (docs/reference/security.md). Over wss:// the simulator
// accepts any key: it runs beside the coordinator, and does not check the pin a real agent would.
import WebSocket from 'ws'
import { randomBytes } from 'node:crypto'
import { MAX_ITEMS_PER_FRAME, PROTOCOL_VERSION } from '@portcheck/protocol'
import { agentCredential } from '../packages/coordinator/dist/security/credentials.js'

/**
 * Silent attempts reported for a probe to a blocked port (or the probe's `need`, if more): enough
 * to be evidence of a drop on a path with no loss measured, since no path figures are reported.
 */
const BLOCKED_ATTEMPTS = 10

/**
 * The address simulated host `i` connects from, when the coordinator is on loopback: its own
 * (127.200.0.1, 127.200.0.2, …; Linux routes all of 127.0.0.0/8 to loopback), as real agents
 * each come from their own node. The coordinator takes at most 32 agent connections from one
 * address, so a thousand from 127.0.0.1 would be refused.
 */
const sourceAddress = (url, i) => /^wss?:\/\/127\./.test(url) ? `127.200.${Math.floor(i / 250)}.${(i % 250) + 1}` : undefined

/**
 * @param {{ url: string, token: string, hosts: Array<{ name: string, address: string }>, blockedPorts?: Set<number> }} opts
 *   token: the coordinator's join token, from which each host's credential is derived
 *   blockedPorts: probes to these ports get a timeout result and no receipt
 * @returns {Promise<{ close: () => Promise<void>, frames: () => number }>} rejects, naming the host and the coordinator's reason, if one is refused
 */
export async function startSimAgents ({ url, token, hosts, blockedPorts = new Set() }) {
  const byAddress = new Map()
  const sockets = []
  let frames = 0
  const connectOne = (host, index) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/agent`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, rejectUnauthorized: false, localAddress: sourceAddress(url, index) })
    const agent = { host, ws, receipts: [], results: [], scheduled: false, runId: null }
    byAddress.set(host.address, agent)
    sockets.push(ws)
    /** The coordinator's `rejected` message, if it sent one before closing. */
    let rejected = null
    ws.once('error', reject)
    ws.once('close', (code, reason) => reject(new Error(`simulated agent ${host.name} was not let in: ${rejected ?? `connection closed ${code} ${String(reason)}`}`)))
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, name: host.name, credential: agentCredential(token, host.name), instance: randomBytes(6).toString('base64url'), version: 'sim', hostname: host.name, platform: 'sim', pid: 1, bind: [host.address], addresses: [`${host.address}/32`] }))
    })
    ws.on('message', (data) => {
      frames++
      const msg = JSON.parse(data)
      switch (msg.type) {
        case 'welcome': resolve(); break
        case 'rejected': rejected = `${msg.code}: ${msg.message}`; break
        case 'run-start': {
          agent.runId = msg.runId
          const states = msg.listeners.map((l) => ({ ...l, state: 'open' }))
          for (let i = 0; i < states.length || i === 0; i += MAX_ITEMS_PER_FRAME) {
            const more = i + MAX_ITEMS_PER_FRAME < states.length
            ws.send(JSON.stringify({ type: 'run-ready', runId: msg.runId, listeners: states.slice(i, i + MAX_ITEMS_PER_FRAME), refPort: null, ...(more ? { more: true } : {}) }))
          }
          break
        }
        case 'probe':
          for (const p of msg.probes) {
            if (blockedPorts.has(p.port)) {
              const silent = Math.max(BLOCKED_ATTEMPTS, p.need ?? 0)
              queue(agent, 'results', { id: p.id, outcome: 'timeout', latencyMs: null, attempts: silent, unanswered: silent, echo: 'none' })
              continue
            }
            const target = byAddress.get(p.host)
            queue(target, 'receipts', { protocol: p.protocol, port: p.port, nonce: p.nonce, address: host.address, remotePort: 40000 })
            queue(agent, 'results', { id: p.id, outcome: p.protocol === 'tcp' ? 'connected' : 'replied', latencyMs: 0.05, attempts: 1, answered: 1, unanswered: 0, echo: 'ours' })
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
    for (let i = 0; i < agent.receipts.length; i += MAX_ITEMS_PER_FRAME) agent.ws.send(JSON.stringify({ type: 'received', runId, items: agent.receipts.slice(i, i + MAX_ITEMS_PER_FRAME) }))
    for (let i = 0; i < agent.results.length; i += MAX_ITEMS_PER_FRAME) agent.ws.send(JSON.stringify({ type: 'probe-results', runId, results: agent.results.slice(i, i + MAX_ITEMS_PER_FRAME) }))
    agent.receipts = []
    agent.results = []
  }
  // Connect in waves so the coordinator's accept queue is not flooded.
  for (let i = 0; i < hosts.length; i += 100) await Promise.all(hosts.slice(i, i + 100).map((host, j) => connectOne(host, i + j)))
  return {
    frames: () => frames,
    close: async () => { for (const ws of sockets) ws.terminate() }
  }
}

// As a separate process: node benchmarks/sim-agents.js URL JOIN_TOKEN COUNT [BLOCKED_PORT,…]
// Prints "ready" once every host joined; exits 1, saying why, if one is refused.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, token, count, blocked = ''] = process.argv.slice(2)
  const hosts = Array.from({ length: Number(count) }, (_, i) => ({ name: `n${i}`, address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` }))
  const blockedPorts = new Set(blocked.split(',').filter((p) => p !== '').map(Number))
  const sims = await startSimAgents({ url, token, hosts, blockedPorts }).catch((err) => {
    process.stderr.write(`sim-agents: ${err.message}\n`)
    process.exit(1)
  })
  process.stdout.write('ready\n')
  process.on('SIGTERM', async () => { await sims.close(); process.exit(0) })
}
