// Runs probes from inside a lab host through the agent's own ProbeRunner (name resolution and
// both probe kinds), one per target and protocol, and prints every result as one JSON line:
//   node --import tsx test/lab/probe-errno.ts TARGET...
import { ProbeRunner } from '../../packages/agent/src/probes/probe-runner.js'
import type { ProbeResult } from '@portcheck/protocol'

const targets = process.argv.slice(2)
const orders = targets.flatMap((host, i) => (['tcp', 'udp'] as const).map((protocol, j) => ({ id: 2 * i + j, protocol, host, port: 9, nonce: `AbCdEfGhIjKlMn${i}${j}`, timeoutMs: 1500 })))
const results: ProbeResult[] = []
await new Promise<void>((resolve) => {
  const runner = new ProbeRunner({ binds: [], peers: targets, onResult: (r) => { results.push(r); if (results.length === orders.length) resolve() } })
  runner.add(orders, 64)
})
for (const r of results.sort((a, b) => a.id - b.id)) {
  const o = orders[r.id] as (typeof orders)[number]
  process.stdout.write(JSON.stringify({ target: o.host, protocol: o.protocol, outcome: r.outcome, error: r.error ?? null }) + '\n')
}
