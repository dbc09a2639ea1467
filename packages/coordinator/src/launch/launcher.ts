import type { Logger } from 'pino'
import type { InventoryHost } from '@portcheck/protocol'
import type { LaunchBoard } from '../hub/launch-board.js'
import type { SshByHost } from '../inventory/ssh-settings.js'
import { agentCredential } from '../security/credentials.js'
import type { Coordinator } from '../server/coordinator.js'
import { artifactLaunchFiles, type LaunchFiles } from './launch-files.js'
import { agentUrlFor } from './agent-url.js'
import { HostLaunch, type AgentTarget } from './host-launch.js'
import type { SshArgsOptions } from './ssh-args.js'

/** Launches in progress at once by default: enough to start 50 hosts in seconds, few enough for one ssh-agent and one CPU. */
export const DEFAULT_LAUNCH_CONCURRENCY = 10

/** Options of {@link launchOverSsh}. */
export interface SshLaunchOptions {
  hosts: readonly InventoryHost[]
  /** Each host's SSH settings (LoadedInventory.ssh). */
  ssh: SshByHost
  /** Where each host's launch state is recorded (the hub's, so runs and the API see it). */
  board: LaunchBoard
  /** What each host's agent needs to join. */
  target: (host: InventoryHost) => AgentTarget
  logger: Logger
  /** What to copy to the hosts: the agent's bundle, or its standalone executable. */
  files: LaunchFiles
  /** `--ssh-config FILE` and the connect timeout. */
  sshArgs?: SshArgsOptions
  /** Launches in progress at once (connecting, copying, starting), default {@link DEFAULT_LAUNCH_CONCURRENCY}. */
  concurrency?: number
  /** Relay every agent's whole log (default false: warnings and errors). */
  verbose?: boolean
  /** The ssh program; default `ssh` from the PATH. */
  sshCommand?: string
  /** Longest one launch may take until its agent runs, in ms (default 120000). */
  launchTimeoutMs?: number
}

/** Agents launched over SSH. */
export interface AgentLaunch {
  /** Resolves once every host's launch has ended: its agent runs, or the launch failed. */
  readonly launched: Promise<void>
  /**
   * Stops every agent and removes its files (waiting for each host to confirm, at most
   * STOP_GRACE_SECONDS + 10 s). Launches not yet begun never begin. Idempotent.
   */
  stop: () => Promise<void>
}

/**
 * Launches every host's agent through the system's OpenSSH client, at most `concurrency` at a
 * time, and keeps each connection open while its agent runs (see HostLaunch).
 */
export function launchOverSsh (opts: SshLaunchOptions): AgentLaunch {
  const files = opts.files
  const launches = opts.hosts.map((host) => new HostLaunch({
    host,
    ssh: opts.ssh.get(host.name) ?? {},
    files,
    target: opts.target(host),
    logger: opts.logger,
    onState: (state, error) => opts.board.set(host.name, state, error),
    ...(opts.sshArgs !== undefined ? { sshArgs: opts.sshArgs } : {}),
    ...(opts.verbose !== undefined ? { verbose: opts.verbose } : {}),
    ...(opts.sshCommand !== undefined ? { sshCommand: opts.sshCommand } : {}),
    ...(opts.launchTimeoutMs !== undefined ? { launchTimeoutMs: opts.launchTimeoutMs } : {})
  }))
  for (const l of launches) opts.board.set(l.name, 'queued')
  let stopped = false
  let next = 0
  const worker = async (): Promise<void> => {
    while (!stopped && next < launches.length) await (launches[next++] as HostLaunch).launch()
  }
  const width = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_LAUNCH_CONCURRENCY, launches.length))
  const launched = Promise.all(Array.from({ length: width }, worker)).then(() => {})
  let stopping: Promise<void> | null = null
  return {
    launched,
    stop: async () => {
      stopping ??= (async () => {
        stopped = true
        await Promise.all(launches.map(async (l) => await l.stop()))
      })()
      await stopping
    }
  }
}

/** Options of {@link launchAgents}: those of {@link launchOverSsh} that a coordinator does not decide. */
export type CoordinatorLaunchOptions = Omit<SshLaunchOptions, 'hosts' | 'ssh' | 'board' | 'target' | 'files'> & Partial<Pick<SshLaunchOptions, 'files'>>

/**
 * Launches the agents of a listening coordinator's inventory over SSH: each with its host's
 * credential, the coordinator's pin, and the URL that host reaches it at (see agentUrlFor), the
 * coordinator's own agent files unless `opts.files` says otherwise.
 * The agents are stopped when the coordinator closes.
 */
export function launchAgents (coordinator: Coordinator, ssh: SshByHost, opts: CoordinatorLaunchOptions): AgentLaunch {
  if (coordinator.agentUrl === null) throw new Error('launchAgents: the coordinator is not listening yet')
  const url = agentUrlFor({ agentUrl: coordinator.agentUrl, chosen: coordinator.advertised })
  const launch = launchOverSsh({
    files: artifactLaunchFiles(coordinator.agentArtifacts),
    ...opts,
    hosts: coordinator.hosts,
    ssh,
    board: coordinator.hub.launches,
    target: (host) => ({ url, pin: coordinator.pin, credential: agentCredential(coordinator.token, host.name) })
  })
  coordinator.onClose(async () => await launch.stop())
  return launch
}
