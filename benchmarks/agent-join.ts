// How the benchmarks start real agents and make sure they joined. Each agent gets the arguments
// of the join command its coordinator prints for its host (its own credential, and the pin of
// the coordinator's key, or --insecure for a plain one), exactly as an operator would run it. A
// scenario whose agents cannot register (a changed credential, ws:// without --insecure, a crash)
// stops with what the agents said, instead of timing a run with nobody in it.
import type { ChildProcess } from 'node:child_process'
import type { Coordinator } from '../packages/coordinator/src/server/coordinator.js'
import { joinArgs } from '../test/support/join.js'

/** Characters of an agent's output kept to say why it stopped: its last lines. */
const OUTPUT_KEPT = 4000

/**
 * The agent's arguments for host `name` (from `--coordinator` on) as the coordinator's join
 * command for it says: `--coordinator URL --token CREDENTIAL --name NAME --pin …|--insecure`.
 */
export function agentArgs (c: Pick<Coordinator, 'joinCommand'>, name: string): string[] {
  return joinArgs(c.joinCommand(name), name)
}

/** An agent process being watched: what it wrote last (stderr and stdout), and whether it exited. */
export interface WatchedAgent {
  name: string
  child: ChildProcess
  /** Its last {@link OUTPUT_KEPT} characters of output. */
  output: () => string
  /** Its exit code or signal, once it exited; null while it runs. */
  exit: () => number | string | null
  exited: Promise<number | string>
}

/** Watches a spawned agent (spawned with its stdout and stderr piped, or ignored). */
export function watchAgent (name: string, child: ChildProcess): WatchedAgent {
  let out = ''
  let code: number | string | null = null
  const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-OUTPUT_KEPT) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | string>((resolve) => child.once('close', (c, signal) => {
    code = c ?? signal ?? 'unknown'
    resolve(code)
  }))
  return { name, child, output: () => out, exit: () => code, exited }
}

/** Why some agents never joined, with what each of them said. */
export function notJoined (missing: readonly string[], agents: readonly WatchedAgent[], within: string): Error {
  // Those that exited first: what they said is the reason.
  const said = agents.filter((a) => missing.includes(a.name)).sort((a, b) => Number(b.exit() !== null) - Number(a.exit() !== null)).slice(0, 3).map((a) => {
    const code = a.exit()
    return `  ${a.name} (${code === null ? 'still running' : `exited ${code}`}): ${a.output().trim().split('\n').slice(-3).join(' | ') || 'said nothing'}`
  })
  return new Error(`${missing.length} agent(s) never joined ${within}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}; nothing was measured\n${said.join('\n')}`)
}

/**
 * Resolves once every inventory host of `c` has an agent. Throws, naming the missing hosts and
 * what their agents said, as soon as one of `agents` exits before that, or after `timeoutMs`.
 */
export async function allJoined (c: Pick<Coordinator, 'waitForAgents'>, agents: readonly WatchedAgent[], timeoutMs = 60_000): Promise<void> {
  const stop = new AbortController()
  // An agent that exits before everyone joined was refused (or crashed): waiting longer measures nothing.
  for (const a of agents) void a.exited.then(() => stop.abort())
  const missing = await c.waitForAgents(timeoutMs, undefined, stop.signal)
  if (missing.length > 0) throw notJoined(missing, agents, stop.signal.aborted ? '(an agent exited first)' : `within ${timeoutMs / 1000} s`)
  const gone = agents.find((a) => a.exit() !== null)
  if (gone !== undefined) throw notJoined([gone.name], agents, '(it exited)')
}
