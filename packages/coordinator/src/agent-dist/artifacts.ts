import path from 'node:path'
import type { Logger } from 'pino'
import { PortcheckError } from '@portcheck/protocol'
import { agentFilesDir, loadAgentFiles, type AgentFile } from './agent-files.js'
import { ExecutableCache } from './executable.js'
import { currentTarget, unservedTargetReason } from './target.js'

/** A file of the agent, or why there is none. */
export type Artifact = AgentFile | { path: null, reason: string }

/**
 * The agent as this coordinator hands it to nodes: served at `GET /agent/…`, and copied to nodes
 * by launchers. Paths are on the coordinator's machine.
 */
export interface AgentArtifacts {
  /** The agent's version, or null if its files are not built. */
  readonly version: string | null
  /** The one target this coordinator makes the standalone agent for: its own (`linux-x64`). */
  readonly target: string
  /** `portcheck-agent.mjs`, the single-file bundle: `node portcheck-agent.mjs --coordinator …`. */
  readonly bundle: Artifact
  /** `portcheck-agent.tgz`, the agent's npm package (no dependencies): `npx --yes ./portcheck-agent.tgz …`. */
  readonly tarball: Artifact
  /**
   * The standalone executable for `target` (default: this coordinator's), needing no Node.js on
   * the node: made on the first call (a few seconds) and cached in the state directory, or why
   * it cannot be (another platform; a Node.js binary that cannot make one).
   */
  executable: (target?: string) => Promise<Artifact>
  /** Stops making the executable if it is being made (nothing of it is left); the coordinator calls it on close. */
  close: () => Promise<void>
}

/** Options of {@link agentArtifacts}. */
export interface AgentArtifactsOptions {
  /** The coordinator's state directory: executables are cached in its `agent-bin/`. */
  stateDir: string
  logger: Logger
  /** Where the built files are. Default: the package's `dist/agent-files/` (see agentFilesDir). */
  filesDir?: string
}

/** The agent's files, read from the coordinator's package once; see {@link AgentArtifacts}. */
export function agentArtifacts (options: AgentArtifactsOptions): AgentArtifacts {
  const files = loadAgentFiles(options.filesDir ?? agentFilesDir())
  const target = currentTarget()
  if ('missing' in files) {
    const none = { path: null, reason: files.missing }
    return { version: null, target, bundle: none, tarball: none, executable: async () => none, close: async () => {} }
  }
  const cache = new ExecutableCache({ dir: path.join(options.stateDir, 'agent-bin'), seaBundle: files.seaBundle, version: files.version, logger: options.logger })
  return {
    version: files.version,
    target,
    bundle: files.bundle,
    tarball: files.tarball,
    executable: async (wanted = target) => {
      const unserved = unservedTargetReason(wanted, target)
      if (unserved !== null) return { path: null, reason: unserved }
      try {
        return await cache.get()
      } catch (err) {
        if (err instanceof PortcheckError) return { path: null, reason: err.message }
        throw err
      }
    },
    close: async () => await cache.close()
  }
}
