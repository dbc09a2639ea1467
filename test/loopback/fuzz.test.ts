import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { PROTOCOL_VERSION } from '@portcheck/protocol'
import { startAgent } from '../../packages/agent/src/index.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { confine, mutate, rng } from '../support/mutate.js'
import { silent, startAgents, startCoordinator } from '../support/loopback.js'

// Loopback addresses 127.75.0.x belong to this file. 10,000 mutated frames each way.
const FRAMES = 10_000
const SEED = Number(process.env.PORTCHECK_FUZZ_SEED ?? 20261129)

const CATALOG = `id: fuzz
title: Fuzz
roles:
  app: { title: App }
  db: { title: DB }
  spare: { title: Spare, description: "hosts with no flow, for the fuzzing connections" }
flows:
  - { id: Z-1, from: app, to: db, tcp: [25432], udp: [25405], purpose: test }
`

t.test(`the coordinator survives ${FRAMES} mutated agent frames, closing each bad connection with a code, while an honest run passes`, async (t) => {
  t.comment(`seed ${SEED} (PORTCHECK_FUZZ_SEED to replay)`)
  const dir = t.testdir()
  writeFileSync(path.join(dir, 'catalog.yaml'), CATALOG)
  const spares = Array.from({ length: 8 }, (_, i) => ({ name: `s${i}`, address: `127.75.0.${100 + i}`, roles: ['spare'] }))
  const hosts = [{ name: 'app1', address: '127.75.0.12', roles: ['app'] }, { name: 'db1', address: '127.75.0.14', roles: ['db'] }, ...spares]
  const c = await startCoordinator(t, { catalogFile: path.join(dir, 'catalog.yaml'), hosts })
  const r = rng(SEED)
  const valid = (name: string): Array<Record<string, unknown>> => [
    { type: 'hello', protocol: PROTOCOL_VERSION, name, credential: agentCredential(c.token, name), instance: 'i1', version: '1', hostname: 'h', platform: 'p', pid: 1, bind: [], addresses: ['127.75.0.1/8'] },
    { type: 'run-ready', runId: 'r1', listeners: [{ protocol: 'tcp', port: 25432, state: 'open' }], refPort: 40000 },
    { type: 'probe-results', runId: 'r1', results: [{ id: 0, outcome: 'timeout', latencyMs: null, attempts: 3, unanswered: 3, echo: 'none', connected: [40001] }] },
    { type: 'received', runId: 'r1', items: [{ protocol: 'tcp', port: 25432, nonce: 'AAAAAAAAAAAAAAAA', address: '127.75.0.12', remotePort: 40001 }] },
    { type: 'accepted', runId: 'r1', items: [{ port: 25432, address: '127.75.0.12', remotePort: 40001 }] },
    { type: 'flushed', runId: 'r1', seq: 1, paths: [{ host: '127.75.0.14', protocol: 'tcp', attempts: 10, failed: 1, rttMs: 0.2 }] },
    { type: 'run-closed', runId: 'r1' }
  ]
  const codes = new Map<number, number>()
  let sent = 0
  let connections = 0

  const fuzz = async (name: string): Promise<void> => {
    while (sent < FRAMES) {
      connections++
      const ws = new WebSocket(`${c.agentUrl as string}/agent`)
      await new Promise<void>((resolve) => { ws.once('open', () => resolve()); ws.once('error', () => resolve()) })
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
      // Half the connections are fuzzed before hello, half after a valid one.
      const frames = valid(name)
      if (r() < 0.5) ws.send(JSON.stringify(frames[0]))
      for (let i = 0; i < 50 && ws.readyState === WebSocket.OPEN && sent < FRAMES; i++) {
        const base = frames[Math.floor(r() * frames.length)] as Record<string, unknown>
        ws.send(mutate(r, base))
        sent++
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      if (ws.readyState === WebSocket.OPEN) ws.close(1000)
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))])
      codes.set(code, (codes.get(code) ?? 0) + 1)
      if (code === -1) ws.terminate()
    }
  }

  // An honest run in parallel.
  await startAgents(t, c, [{ name: 'app1', bind: '127.75.0.12' }, { name: 'db1', bind: '127.75.0.14' }])
  const honest = (async () => {
    const reports = []
    while (sent < FRAMES) reports.push(await c.runs.wait(c.startRun({ timeoutMs: 1000 })))
    return reports
  })()
  await Promise.all(spares.slice(0, 4).map((s) => fuzz(s.name)))
  const reports = await honest
  t.comment(`${sent} frames over ${connections} connections; close codes: ${[...codes].map(([k, v]) => `${k}×${v}`).join(', ')}`)
  t.ok(sent >= FRAMES, `${sent} mutated frames sent`)
  t.notOk(codes.has(-1), 'every fuzzing connection was closed, none left hanging')
  t.ok([...codes.keys()].every((k) => [1000, 1005, 1006, 1008, 1009].includes(k)), 'with a close code: policy (1008), too big (1009), or our own close')
  t.ok(reports.length > 0 && reports.every((rep) => rep.verdict === 'pass' && rep.summary.pass === 2), `${reports.length} honest runs in parallel all passed`)
  const health = await c.app.inject({ url: '/api/health', headers: { host: '127.0.0.1' } })
  t.equal(health.statusCode, 200, 'the coordinator still serves')
  t.same(c.hub.records().filter((x) => x.name.startsWith('s') && x.state === 'connected').map((x) => x.name), [], 'no fuzzing connection is left registered')
})

t.test(`an agent survives ${FRAMES} mutated coordinator frames, and keeps reconnecting`, async (t) => {
  t.comment(`seed ${SEED + 1} (PORTCHECK_FUZZ_SEED to replay)`)
  const r = rng(SEED + 1)
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => wss.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  // Every host the agent is told to probe is confined to this loopback address.
  const SAFE = '127.75.0.9'
  const frames: Array<Record<string, unknown>> = [
    { type: 'welcome', protocol: PROTOCOL_VERSION, agentId: 'a1', heartbeatMs: 60_000 },
    { type: 'run-start', runId: 'r1', ttlMs: 2000, listeners: [{ protocol: 'tcp', port: 25501 }, { protocol: 'udp', port: 25502 }], peers: [SAFE] },
    { type: 'probe', runId: 'r1', round: 1, concurrency: 4, adaptive: true, refs: [{ host: SAFE, port: 25503 }], rttHints: [{ host: SAFE, ms: 1 }], probes: [{ id: 0, protocol: 'udp', host: SAFE, port: 25504, nonce: 'AAAAAAAAAAAAAAAA', timeoutMs: 100, need: 2 }] },
    { type: 'flush', runId: 'r1', seq: 1 },
    { type: 'run-end', runId: 'r1' },
    { type: 'rejected', code: 'PC_ERR_AGENT_DUPLICATE', message: 'x', fatal: false }
  ]
  let sent = 0
  let connections = 0
  const closes = new Map<number, number>()
  wss.on('connection', (ws) => {
    connections++
    ws.on('close', (code) => closes.set(code, (closes.get(code) ?? 0) + 1))
    ws.once('message', () => {
      ws.send(JSON.stringify(frames[0]))
      const burst = (): void => {
        for (let i = 0; i < 25 && ws.readyState === WebSocket.OPEN && sent < FRAMES; i++) {
          const m = mutate(r, frames[Math.floor(r() * frames.length)] as Record<string, unknown>)
          // A fatal rejection would stop the agent for good: that path has its own test.
          if (typeof m === 'string' && m.includes('"fatal":true')) continue
          ws.send(confine(m, SAFE))
          sent++
        }
        if (ws.readyState === WebSocket.OPEN && sent < FRAMES) setImmediate(burst)
      }
      burst()
    })
  })
  const agent = startAgent({ coordinator: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, insecure: true, token: 'c'.repeat(43), name: 'fz', bind: '127.75.0.1', logger: silent, reconnectMinMs: 5, reconnectMaxMs: 20 })
  t.teardown(() => agent.close())
  const deadline = Date.now() + 120_000
  while (sent < FRAMES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.comment(`${sent} frames over ${connections} connections; the agent closed them with: ${[...closes].map(([k, v]) => `${k}×${v}`).join(', ')}`)
  t.ok(sent >= FRAMES, `${sent} mutated frames delivered`)
  t.ok(connections > 1, 'the agent closed bad connections and came back each time')
  const stopped = await Promise.race([agent.stopped.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 100))])
  t.equal(stopped, false, 'it is still running')
})
