import type { CheckReport } from './report.js'

/** The fields of a check that say whether a missing or lost agent left it unproven. */
export type GapInput = Pick<CheckReport, 'status' | 'reason'> & Partial<Pick<CheckReport, 'agentHosts'>>

/** A host whose agent never joined, or left during the run, and how many checks that left unproven. */
export interface AgentGap {
  host: string
  kind: 'missing' | 'lost'
  checks: number
  /** Why a missing agent is missing, when known (a failed launch: the report's `agents.launchErrors`). */
  why?: string
}

/** Whether a check is inconclusive only because of a missing or lost agent it names. */
export function isAgentGap (c: GapInput): boolean {
  return c.status === 'inconclusive' && (c.reason === 'agent-missing' || c.reason === 'agent-lost') && c.agentHosts !== undefined && c.agentHosts.length > 0
}

/**
 * One line per host instead of one per check: the hosts whose agent never joined or was lost,
 * in the order their checks come, each with the number of checks it left inconclusive. A check
 * whose two ends lack an agent counts for both.
 * @param launchErrors why missing agents are missing, by host (the report's `agents.launchErrors`)
 */
export function agentGaps (checks: Iterable<GapInput>, launchErrors: Readonly<Record<string, string>> = {}): AgentGap[] {
  const gaps = new Map<string, AgentGap>()
  for (const c of checks) {
    if (!isAgentGap(c)) continue
    const kind = c.reason === 'agent-missing' ? 'missing' : 'lost'
    for (const host of c.agentHosts ?? []) {
      const key = `${kind}\0${host}`
      const gap = gaps.get(key)
      const why = kind === 'missing' && Object.hasOwn(launchErrors, host) ? launchErrors[host] : undefined
      if (gap === undefined) gaps.set(key, { host, kind, checks: 1, ...(why !== undefined ? { why } : {}) })
      else gap.checks++
    }
  }
  return [...gaps.values()]
}

/** `agent never joined, 26 checks`. */
export function gapSummary (g: AgentGap): string {
  return `agent ${g.kind === 'missing' ? 'never joined' : 'lost during the run'}, ${g.checks} check${g.checks === 1 ? '' : 's'}`
}

/** `db3: agent never joined, 26 checks`, and why when known: `(launch over SSH failed: …)`. */
export function gapText (g: AgentGap): string {
  return `${g.host}: ${gapSummary(g)}${g.why !== undefined ? ` (${g.why})` : ''}`
}

/** What to do about a gap, in one line. */
export function gapRemedy (g: AgentGap): string {
  if (g.kind === 'lost') return `re-run once the agent on ${g.host} is connected again`
  return g.why !== undefined ? `fix what stopped the launch on ${g.host}, or start its agent with its join command` : `start the agent on ${g.host}`
}
