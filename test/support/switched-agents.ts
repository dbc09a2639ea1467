import type { InventoryHost } from '@portcheck/protocol'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { FakeAgent } from './fake-agent.js'

/**
 * Agents speaking the protocol by hand (see FakeAgent) on a network the test switches: a probe
 * to a port in `blocked` (`tcp/15432`) goes unanswered on every attempt, as through a dropping
 * firewall; any other arrives, its target reporting the nonce from the source's address, as two
 * real agents would. For the coordinator's side of scheduled runs, metrics and webhooks, where
 * what matters is that a check passes in one run and is blocked in the next; the namespace lab
 * (test/lab/continuous.test.ts) does the same with real agents and a real nftables rule.
 */
export class SwitchedAgents {
  readonly blocked = new Set<string>()
  readonly agents = new Map<string, FakeAgent>()

  constructor (c: Coordinator, hosts: readonly InventoryHost[]) {
    const byAddress = new Map<string, FakeAgent>()
    for (const h of hosts) {
      const agent = new FakeAgent(c, h.name, {
        onProbes: (orders, me) => {
          const results: Array<Record<string, unknown>> = []
          for (const o of orders) {
            const target = byAddress.get(o.host)
            if (this.blocked.has(`${o.protocol}/${o.port}`) || target === undefined) {
              results.push({ id: o.id, outcome: 'timeout', latencyMs: null, attempts: 10, unanswered: 10, echo: 'none' })
              continue
            }
            target.send({ type: 'received', runId: target.runId, items: [{ protocol: o.protocol, port: o.port, nonce: o.nonce, address: h.address, remotePort: 40000 }] })
            results.push({ id: o.id, outcome: o.protocol === 'tcp' ? 'connected' : 'replied', latencyMs: 0.2, attempts: 1, unanswered: 0, answered: 1, echo: 'ours' })
          }
          me.results(results)
        }
      })
      byAddress.set(h.address, agent)
      this.agents.set(h.name, agent)
    }
  }

  /** Resolves once every agent is registered with the coordinator. */
  async joined (c: Coordinator): Promise<void> {
    await Promise.all([...this.agents.values()].map(async (a) => await a.joined()))
    while (c.hub.connectedNames().length < this.agents.size) await new Promise((resolve) => setTimeout(resolve, 10))
  }

  close (): void {
    for (const a of this.agents.values()) a.close()
  }
}
