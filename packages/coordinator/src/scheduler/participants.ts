import dns from 'node:dns'
import net from 'node:net'
import type { Logger } from 'pino'
import { addressesOf, type AddressFamily, type InventoryHost, type ListenOrder, type ListenerState, type Proto, type UdpCrowding } from '@portcheck/protocol'
import type { AgentConnection, AgentHub } from '../hub/agent-hub.js'
import type { Plan } from '../plan/expand.js'
import { canonicalAddress } from '../inventory/host-addresses.js'
import { placementOf, type FamilyGap, type FamilyGaps } from './placement.js'
import type { EndState } from './verdict.js'

/** Longest the coordinator waits for an inventory name to resolve, in ms, to check where its agent runs. */
const RESOLVE_TIMEOUT_MS = 2000

/** One inventory host whose agent takes part in a run. */
export class Participant {
  /** 'ok' while it serves the run; 'lost' once it left or stopped answering; 'misplaced' if it does not run on the host. */
  state: Exclude<EndState, 'missing'> = 'ok'
  /** Where a misplaced agent really runs, in words. */
  misplaced: string | undefined
  /** The host's families its agent cannot serve, though it runs on the host (see {@link placementOf}). */
  gaps: FamilyGaps = {}
  readonly listeners: ListenOrder[] = []
  /** The target hosts it probes in this run: the only ones it will accept probe orders to. */
  readonly peers = new Set<string>()
  private readonly listenerKeys = new Set<string>()
  private readonly states = new Map<string, ListenerState>()
  /** Its reference listener's port, once ready. */
  refPort: number | null = null
  /** `run-start` was sent to it. */
  started = false
  ready = false
  /** Probes of the current round not answered yet. */
  resultsPending = 0
  /** Checks it is the source of. */
  probes = 0
  /** Checks it is the target of. */
  targeted = 0
  /** Receipts it reported in this run (bounded: see {@link Participant.mayReceipt}). */
  receipts = 0
  /** The last barrier it answered. */
  flushedSeq = 0
  /** Its UDP listeners that a flood reached, by port, as of the last barrier (see {@link UdpCrowding}). */
  readonly crowded = new Map<number, UdpCrowding>()
  closed = false

  /** @param addresses the host's addresses, canonical: its inventory addresses, or what its name resolved to */
  constructor (readonly host: InventoryHost, readonly addresses: ReadonlySet<string>, readonly conn: AgentConnection) {}

  get name (): string {
    return this.host.name
  }

  /** Adds a listener to open for the run (once per protocol and port). */
  listen (protocol: Proto, port: number): void {
    const key = `${protocol}/${port}`
    if (this.listenerKeys.has(key)) return
    this.listenerKeys.add(key)
    this.listeners.push({ protocol, port })
  }

  /**
   * Records a `run-ready` frame (a big listener set comes in several, all but the last with
   * `more`): only listeners we asked for count; anything else is ignored, not trusted.
   */
  setReady (listeners: readonly ListenerState[], refPort: number | null, more: boolean): void {
    if (this.ready) return
    if (!more) {
      this.ready = true
      this.refPort = refPort
    }
    for (const ls of listeners) {
      const key = `${ls.protocol}/${ls.port}`
      if (this.listenerKeys.has(key)) this.states.set(key, ls)
    }
  }

  /**
   * Records a barrier's `crowded` list: cumulative figures, so each replaces the last; only
   * UDP listeners we asked for count.
   */
  setCrowded (list: readonly UdpCrowding[] | undefined): void {
    for (const c of list ?? []) if (this.listenerKeys.has(`udp/${c.port}`)) this.crowded.set(c.port, c)
  }

  listenerState (protocol: Proto, port: number): ListenerState | undefined {
    return this.states.get(`${protocol}/${port}`)
  }

  /**
   * Counts one more receipt from this agent; false past what its run can produce honestly (each
   * check toward it a few times over, and 1,000 to spare): an agent flooding receipts is cut off
   * at a cost linear in what it sent.
   */
  mayReceipt (): boolean {
    return ++this.receipts <= 4 * this.targeted + 1000
  }

  /** A port probes can be sent to: our listener is open on it, or another process holds it (TCP). */
  probeable (protocol: Proto, port: number): boolean {
    const ls = this.listenerState(protocol, port)
    return ls !== undefined && (ls.state === 'open' || (ls.state === 'in-use' && protocol === 'tcp'))
  }
}

async function resolveAll (name: string): Promise<string[]> {
  const lookup = dns.promises.lookup(name, { all: true }).then((list) => list.map((a) => canonicalAddress(a.address)), () => [])
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), RESOLVE_TIMEOUT_MS).unref())
  return await Promise.race([lookup, timeout])
}

/**
 * The agents taking part in a run, one per inventory host whose agent is connected, and what
 * the run knows of each: whether it runs where the inventory says, its listeners, its progress.
 */
export class Participants {
  private readonly byName = new Map<string, Participant>()
  /** Canonical address → inventory host name. */
  private readonly owners = new Map<string, string>()
  /**
   * Why hosts without an agent have none, as known when the run began (a failed launch): taken
   * once, so that a check's detail never changes after its verdict.
   */
  private readonly whyMissing = new Map<string, string>()

  constructor (private readonly plan: Plan, readonly hub: AgentHub, private readonly logger: Logger) {
    for (const h of plan.hosts) for (const a of addressesOf(h)) this.owners.set(canonicalAddress(a), h.name)
  }

  /**
   * Takes in the connected agents of the plan's hosts and checks where each runs: a host whose
   * inventory address is not on its agent (and not declared `nat: true`) is misplaced, and its
   * agent is given nothing to do. Names in the inventory are resolved here, once.
   */
  async place (): Promise<void> {
    const resolved = new Map<string, string[]>()
    await Promise.all(this.plan.hosts.filter((h) => net.isIP(h.address) === 0).map(async (h) => {
      const list = await resolveAll(h.address)
      resolved.set(h.name, list)
      for (const a of list) if (!this.owners.has(a)) this.owners.set(a, h.name)
    }))
    for (const h of this.plan.hosts) {
      const conn = this.hub.get(h.name)
      if (conn === undefined) {
        const why = this.hub.launches.failure(h.name)
        if (why !== undefined) this.whyMissing.set(h.name, why)
        continue
      }
      const addresses = net.isIP(h.address) !== 0 ? addressesOf(h).map(canonicalAddress) : resolved.get(h.name) ?? []
      const p = new Participant(h, new Set(addresses), conn)
      const placement = placementOf(h, addresses, { bind: conn.record.bind, addresses: conn.record.addresses }, (a) => this.ownerOf(a))
      if (!placement.placed) {
        p.state = 'misplaced'
        p.misplaced = placement.detail
        this.logger.warn({ agent: h.name, detail: placement.detail }, 'agent is not on its inventory host; its checks are inconclusive (agent-misplaced)')
      } else {
        p.gaps = placement.gaps
        for (const gap of Object.values(placement.gaps)) this.logger.warn({ agent: h.name, detail: gap.detail }, `its checks over this family are inconclusive (${gap.reason})`)
      }
      this.byName.set(h.name, p)
    }
  }

  get (name: string): Participant | undefined {
    return this.byName.get(name)
  }

  /** The participant of a host if it serves the run (joined, placed, not lost). */
  active (name: string): Participant | undefined {
    const p = this.byName.get(name)
    return p?.state === 'ok' ? p : undefined
  }

  /**
   * The participant of a host if it serves the run over a family (joined, placed, not lost, and
   * able to serve that family); `family` null: over whichever family a name resolves to.
   */
  serving (name: string, family: AddressFamily | null): Participant | undefined {
    const p = this.active(name)
    return p === undefined || (family !== null && p.gaps[family] !== undefined) ? undefined : p
  }

  /** Why a host's agent cannot serve a family, if it cannot. */
  gapOf (name: string | null, family: AddressFamily | null): FamilyGap | undefined {
    return name === null || family === null ? undefined : this.byName.get(name)?.gaps[family]
  }

  all (): Participant[] {
    return [...this.byName.values()]
  }

  /** Participants still serving the run. */
  ok (): Participant[] {
    return this.all().filter((p) => p.state === 'ok')
  }

  /** Participants still serving the run that were given something to do (`run-start` sent). */
  started (): Participant[] {
    return this.all().filter((p) => p.state === 'ok' && p.started)
  }

  /** The state of a check's end: null (external) is always fine; a host without an agent is missing. */
  endState (name: string | null): EndState {
    if (name === null) return 'ok'
    return this.byName.get(name)?.state ?? 'missing'
  }

  /** Why a host has no agent in this run, when known (its launch failed): the launch error. */
  missingReason (name: string | null): string | undefined {
    return name === null ? undefined : this.whyMissing.get(name)
  }

  /** Every known reason of a missing agent, by host name. */
  missingReasons (): Record<string, string> {
    return Object.fromEntries(this.whyMissing)
  }

  /** The inventory host an address belongs to, if any. */
  ownerOf (address: string): string | undefined {
    return this.owners.get(canonicalAddress(address))
  }

  /** The most checks any one source probes. */
  maxProbesPerSource (): number {
    let m = 0
    for (const p of this.byName.values()) m = Math.max(m, p.probes)
    return m
  }

  /** Names of the participants in a state. */
  named (state: Participant['state']): string[] {
    return this.all().filter((p) => p.state === state).map((p) => p.name)
  }
}
