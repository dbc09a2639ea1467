import type { Run } from '../scheduler/run.js'
import { clock, type StatusLine } from './status-line.js'

/** Where the join commands are, for the lines that name missing agents. */
const HOW_TO_START = 'start them with the commands above'

/**
 * The waiting line on a terminal: how many agents are missing, how long is left, and their
 * names, as many as fit in `width` columns (then `+N more`).
 */
export function waitingText (missing: readonly string[], total: number, leftMs: number, width: number): string {
  if (missing.length === 0) return `  every agent joined (${total}/${total})`
  const head = `  waiting for ${missing.length} of ${total} agent${total === 1 ? '' : 's'}, ${clock(leftMs)} left: `
  const line = (k: number): string => `${head}${missing.slice(0, k).join(', ')}${k < missing.length ? `, +${missing.length - k} more` : ''} (${HOW_TO_START})`
  let k = missing.length
  while (k > 1 && [...line(k)].length > width) k--
  return line(k)
}

/** The waiting line off a terminal, a line of a log: at most 10 names. */
export function waitingLogLine (missing: readonly string[], total: number, leftMs: number): string {
  if (missing.length === 0) return `portcheck: every agent joined (${total}/${total})\n`
  const names = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, … and ${missing.length - 10} more` : '')
  return `portcheck: waiting for ${missing.length} of ${total} agent${total === 1 ? '' : 's'} (${clock(leftMs)} left): ${names}; ${HOW_TO_START}\n`
}

/** Options of {@link showWaiting}. */
export interface WaitingOptions {
  /** Every inventory host's name: all are missing until they join. */
  hosts: readonly string[]
  /** How long the wait lasts, in ms, from now. */
  waitMs: number
  /** Off a terminal, how often the line is repeated while agents are missing, in ms; default 30000. */
  repeatMs?: number
  /** Off a terminal, how long a change waits for the next one before it is printed, in ms; default 500. */
  settleMs?: number
}

/**
 * Shows who is still missing while the run waits for its agents, whatever the log level. On a
 * terminal, a status line with a countdown; elsewhere (a CI log, the demo's pipe) a line when
 * the set changes and every `repeatMs` while someone is missing. Returns `update` for
 * `onAgents`, and `stop`, which prints a change not yet printed.
 */
export function showWaiting (status: StatusLine, opts: WaitingOptions): { update: (joined: string[], missing: string[]) => void, stop: () => void } {
  const deadline = Date.now() + opts.waitMs
  const total = opts.hosts.length
  let missing: readonly string[] = opts.hosts
  if (status.enabled) {
    status.show(() => waitingText(missing, total, deadline - Date.now(), status.width))
    return { update: (_joined, m) => { missing = m }, stop: () => {} }
  }
  // `every agent joined` only answers a line that named some missing: alone, it is noise.
  let named = false
  const print = (): void => {
    if (missing.length === 0 && !named) return
    named = missing.length > 0
    status.write(waitingLogLine(missing, total, deadline - Date.now()))
  }
  let pending: NodeJS.Timeout | null = null
  const repeat = setInterval(() => { if (missing.length > 0 && pending === null) print() }, opts.repeatMs ?? 30_000)
  repeat.unref()
  return {
    update: (_joined, m) => {
      missing = m
      // Agents started together join within milliseconds: one line for all of them.
      pending ??= setTimeout(() => { pending = null; print() }, opts.settleMs ?? 500)
    },
    stop: () => {
      clearInterval(repeat)
      if (pending === null) return
      clearTimeout(pending)
      pending = null
      print()
    }
  }
}

/** The progress line: checks done, time elapsed and, once it can be told, an estimate of what is left. */
export function progressText (p: { state: string, done: number, total: number, elapsedMs: number }, estimateMs: number | null): string {
  // A run's first state, `waiting`, is its start: read as waiting for agents, it would confuse.
  return `  ${p.state === 'waiting' ? 'starting' : p.state}: ${p.done}/${p.total} checks, ${clock(p.elapsedMs)} elapsed${estimateMs !== null ? `, about ${clock(estimateMs)} left` : ''}`
}

/**
 * Shows the run's progress on the status line. The estimate is the rate of the probing so far
 * applied to the checks left; it needs a second of probing and one check done to mean anything.
 */
export function showProgress (status: StatusLine, run: Run): void {
  let since: { at: number, done: number } | null = null
  status.show(() => {
    const p = run.progress()
    // Preparing (opening listeners) takes as long for 10 checks as for 10,000: the rate starts with probing.
    if (p.state === 'probing') since ??= { at: Date.now(), done: p.done }
    const probedMs = since !== null ? Date.now() - since.at : 0
    const rate = since !== null && probedMs >= 1000 && p.done > since.done ? (p.done - since.done) / probedMs : null
    return progressText(p, p.state === 'probing' && rate !== null ? (p.total - p.done) / rate : null)
  })
}
