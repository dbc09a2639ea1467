import type { AgentHub } from '../hub/agent-hub.js'
import type { LaunchState } from '../hub/launch-info.js'
import { clock, type StatusLine } from './status-line.js'

/** How the launches stand: joined agents, and the others by launch state. */
export interface LaunchCounts {
  total: number
  joined: number
  /** Hosts not joined, by launch state (only states some host is in). */
  states: Partial<Record<LaunchState, number>>
  failed: string[]
}

/** Words for the states of hosts not joined yet, in the order a launch goes through them. */
const PENDING: ReadonlyArray<[LaunchState, string]> = [['queued', 'queued'], ['connecting', 'connecting'], ['copying', 'copying'], ['starting', 'starting'], ['running', 'started, not joined yet']]

export function launchCounts (hub: AgentHub, hosts: readonly string[]): LaunchCounts {
  const counts: LaunchCounts = { total: hosts.length, joined: 0, states: {}, failed: [] }
  for (const name of hosts) {
    if (hub.get(name) !== undefined) { counts.joined++; continue }
    const state = hub.launches.get(name)?.state ?? 'queued'
    if (state === 'failed') counts.failed.push(name)
    counts.states[state] = (counts.states[state] ?? 0) + 1
  }
  return counts
}

/** `agents over SSH: 47/50 joined · 2 connecting · 1 failed (db3)`. */
export function launchText (c: LaunchCounts, maxNames = 3): string {
  const parts = [`agents over SSH: ${c.joined}/${c.total} joined`]
  for (const [state, words] of PENDING) if ((c.states[state] ?? 0) > 0) parts.push(`${c.states[state] ?? 0} ${words}`)
  if (c.failed.length > 0) parts.push(`${c.failed.length} failed (${c.failed.slice(0, maxNames).join(', ')}${c.failed.length > maxNames ? ', …' : ''})`)
  return parts.join(' · ')
}

/** Options of {@link showLaunch}. */
export interface LaunchStatusOptions {
  hub: AgentHub
  /** Every inventory host's name. */
  hosts: readonly string[]
  /** How long the run waits for its agents, in ms, from now. */
  waitMs: number
  /** Show the time left (default true; `serve` waits for nothing). */
  countdown?: boolean
  /** Off a terminal, how often a progress line is printed while agents are missing, in ms; default 30000. */
  repeatMs?: number
}

/**
 * Shows the launches while the run waits for its agents, whatever the log level. Each failure is
 * a line of its own (`portcheck: db3: launch over SSH failed: …`). On a terminal, a status line
 * counts the hosts by state, with a countdown; elsewhere, a line every `repeatMs` while agents
 * are missing, and one when every launch has ended. `settled` resolves once every host has
 * joined or failed; `stop` ends the display.
 */
export function showLaunch (status: StatusLine, opts: LaunchStatusOptions): { stop: () => void, settled: Promise<void> } {
  const { hub, hosts } = opts
  const deadline = Date.now() + opts.waitMs
  const reported = new Set<string>()
  const line = (): string => launchText(launchCounts(hub, hosts))
  let settledShown = false
  let resolveSettled: () => void = () => {}
  const settled = new Promise<void>((resolve) => { resolveSettled = resolve })
  // Off a terminal, one line once every host has joined or failed.
  const checkSettled = (): void => {
    if (settledShown) return
    const c = launchCounts(hub, hosts)
    if (c.joined + c.failed.length < c.total) return
    settledShown = true
    if (!status.enabled) status.write(`portcheck: ${launchText(c, 10)}\n`)
    resolveSettled()
  }
  const onChange = (name: string): void => {
    const info = hub.launches.get(name)
    if (info?.state === 'failed' && !reported.has(name)) {
      reported.add(name)
      status.write(`portcheck: ${name}: launch over SSH failed: ${info.error ?? 'no reason given'}\n`)
    }
    checkSettled()
  }
  hub.launches.on('change', onChange)
  hub.on('joined', checkSettled)
  let repeat: NodeJS.Timeout | null = null
  const left = (): string => opts.countdown === false ? '' : `${clock(deadline - Date.now())} left`
  if (status.enabled) status.show(() => `  ${line()}${opts.countdown === false ? '' : `, ${left()}`}`)
  else {
    repeat = setInterval(() => { if (!settledShown) status.write(`portcheck: ${line()}${opts.countdown === false ? '' : ` (${left()})`}\n`) }, opts.repeatMs ?? 30_000)
    repeat.unref()
  }
  return {
    settled,
    stop: () => {
      hub.launches.off('change', onChange)
      hub.off('joined', checkSettled)
      if (repeat !== null) clearInterval(repeat)
    }
  }
}
