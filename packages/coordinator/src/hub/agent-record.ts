/**
 * An agent's record as the hub keeps it and `GET /api/agents` returns it. In a file of its own,
 * free of Node imports, so that the dashboard's browser code can import the type.
 */

/** What the coordinator knows of an agent, connected or not. */
export interface AgentRecord {
  name: string
  state: 'connected' | 'lost'
  agentId: string
  version: string
  hostname: string
  platform: string
  /** The address the control connection came from. */
  remoteAddress: string
  /** The agent's `--bind` addresses (one per family at most); empty when it listens on every address. */
  bind: string[]
  /** The agent's interface addresses, with prefix lengths, as it reported them. */
  addresses: string[]
  /** Whether it can use nftables (drop localization, UDP arrival counting), and why not, as it said in `hello`. */
  nftables: { usable: boolean, why?: string }
  connectedAt: number
  /** Last frame or heartbeat answer, ms since the epoch. */
  lastSeen: number
  disconnectedAt: number | null
  /** Why it left, when it did. */
  lostReason: string | null
}

/** An agent refused because its name is not in the inventory (for the dashboard and the API). */
export interface RefusedAgent {
  name: string
  remoteAddress: string
  /** When, in ms since the epoch. */
  at: number
  why: string
}
