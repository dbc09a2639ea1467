import net from 'node:net'
import { MAX_TRACE_ADDRESSES } from '@portcheck/protocol'
import type { Plan, PlannedCheck } from '../plan/expand.js'
import type { CheckState } from '../scheduler/check-state.js'
import type { Participants } from '../scheduler/participants.js'
import { canonicalAddress } from '../inventory/host-addresses.js'

/**
 * The addresses a target should watch for each source's packets: the source's inventory address
 * (or what its name resolved to), its agent's `--bind` addresses, and the addresses its probes
 * were seen arriving from in this run's passing checks (a source behind NAT arrives with the NAT's). IP addresses only, at most
 * {@link MAX_TRACE_ADDRESSES} per source.
 */
export function watchedAddresses (plan: Plan, participants: Participants, checks: CheckState, chosen: readonly PlannedCheck[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>()
  for (const c of chosen) {
    const name = c.from as string
    if (out.has(name)) continue
    const p = participants.get(name)
    // Its agent's --bind addresses too: its probes leave from them, whatever the inventory says
    // (a `nat: true` host's agent runs on another address than the one the others reach it at).
    const own = [...(p?.addresses ?? []), ...(p?.conn.record.bind ?? []).map(canonicalAddress)]
    out.set(name, new Set(own.filter((a) => net.isIP(a) !== 0).slice(0, MAX_TRACE_ADDRESSES)))
  }
  for (const c of plan.checks) {
    const seen = c.from === null ? undefined : out.get(c.from)
    if (seen === undefined || seen.size >= MAX_TRACE_ADDRESSES || checks.status(c.index) !== 'pass') continue
    for (const r of checks.receipts(c.index)) {
      const a = canonicalAddress(r.address)
      if (r.agent === c.to && net.isIP(a) !== 0 && seen.size < MAX_TRACE_ADDRESSES) seen.add(a)
    }
  }
  return new Map([...out].map(([name, set]) => [name, [...set]]))
}
