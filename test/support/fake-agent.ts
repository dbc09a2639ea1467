import WebSocket from 'ws'
import { MAX_ITEMS_PER_FRAME, PROTOCOL_VERSION, type AgentMessage, type CoordinatorMessage, type NftablesState, type ProbeOrder, type TraceStartMessage } from '@portcheck/protocol'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'

/** What a fake agent does with a run's probe orders: the results it reports, and the receipts its peer should report. */
export interface FakeBehaviour {
  /** Called with every probe frame's orders; return results to send (default: every probe silent). */
  onProbes?: (orders: ProbeOrder[], agent: FakeAgent) => void
  /** What it says in `hello` of its use of nftables (default: nothing, so it is not asked to trace). */
  nftables?: NftablesState
  /** Called on `trace-start` (default: nothing is answered). */
  onTraceStart?: (msg: TraceStartMessage, agent: FakeAgent) => void
  /** Called on `trace-stop` (default: nothing is answered). */
  onTraceStop?: (agent: FakeAgent) => void
  /** The `--bind` addresses it says it has in `hello` (default: none). */
  bind?: string[]
}

/**
 * A participant speaking the protocol by hand over a raw WebSocket: joins under an inventory
 * name with its credential, opens "listeners" (answers run-ready, in frames as big as allowed),
 * and answers barriers and run-end. Tests drive what it reports.
 */
export class FakeAgent {
  readonly ws: WebSocket
  runId: string | null = null
  readonly orders: ProbeOrder[] = []
  private readonly opened: Promise<void>
  private readonly welcome: Promise<void>

  constructor (c: Coordinator, readonly name: string, private readonly behaviour: FakeBehaviour = {}) {
    this.ws = new WebSocket(`${c.agentUrl as string}/agent`, { rejectUnauthorized: false })
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        this.send({ type: 'hello', protocol: PROTOCOL_VERSION, name, credential: agentCredential(c.token, name), instance: `fake-${name}`, version: 't', hostname: name, platform: 'fake', pid: 1, bind: behaviour.bind ?? [], addresses: [], ...(behaviour.nftables !== undefined ? { nftables: behaviour.nftables } : {}) })
        resolve()
      })
      this.ws.once('error', reject)
    })
    this.welcome = new Promise((resolve, reject) => {
      this.ws.on('message', (d) => { if ((JSON.parse(String(d)) as CoordinatorMessage).type === 'welcome') resolve() })
      this.ws.once('close', (code, reason) => reject(new Error(`${name}: closed before its welcome (${code} ${reason.toString()})`)))
    })
    // Handled here so that a fake agent refused on purpose is no unhandled rejection; joined() still rejects.
    this.welcome.catch(() => {})
    this.ws.on('message', (d) => this.handle(JSON.parse(String(d)) as CoordinatorMessage))
  }

  /** Resolves once the coordinator has registered it (its `welcome` came); rejects if it cannot connect. */
  async joined (): Promise<void> {
    await this.opened
    await this.welcome
  }

  send (m: AgentMessage | object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m))
  }

  private handle (m: CoordinatorMessage): void {
    switch (m.type) {
      case 'run-start': {
        this.runId = m.runId
        const states = m.listeners.map((l) => ({ ...l, state: 'open' as const }))
        for (let i = 0; i < states.length || i === 0; i += MAX_ITEMS_PER_FRAME) {
          const more = i + MAX_ITEMS_PER_FRAME < states.length
          this.send({ type: 'run-ready', runId: m.runId, listeners: states.slice(i, i + MAX_ITEMS_PER_FRAME), refPort: null, ...(more ? { more: true } : {}) })
        }
        return
      }
      case 'probe':
        this.orders.push(...m.probes)
        if (this.behaviour.onProbes !== undefined) this.behaviour.onProbes(m.probes, this)
        else this.results(m.probes.map((o) => ({ id: o.id, outcome: 'timeout', latencyMs: null, attempts: 10, unanswered: 10, echo: 'none' })))
        return
      case 'flush':
        this.send({ type: 'flushed', runId: m.runId, seq: m.seq, paths: [] })
        return
      case 'run-end':
        this.send({ type: 'run-closed', runId: m.runId })
        return
      case 'trace-start':
        this.behaviour.onTraceStart?.(m, this)
        return
      case 'trace-stop':
        this.behaviour.onTraceStop?.(this)
        break
      default:
    }
  }

  /** Reports probe results, in frames as big as allowed. */
  results (results: Array<Record<string, unknown>>): void {
    for (let i = 0; i < results.length; i += MAX_ITEMS_PER_FRAME) this.send({ type: 'probe-results', runId: this.runId, results: results.slice(i, i + MAX_ITEMS_PER_FRAME) })
  }

  close (): void {
    this.ws.terminate()
  }
}
