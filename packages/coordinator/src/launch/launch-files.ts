import type { AgentArtifacts, Artifact } from '../agent-dist/artifacts.js'

/**
 * What the launcher copies to each host: the agent's single-file bundle, run by the host's own
 * `node`, or, where the host has no suitable `node`, the standalone agent executable for its
 * platform. Each is a file on this machine (path and size), or why there is none.
 */
export interface LaunchFiles {
  /** The single-file bundle, a program: `node portcheck-agent.mjs --coordinator …`. */
  script: () => Promise<Artifact>
  /** The standalone executable for a target in Node's names (`linux-x64`). */
  executable: (target: string) => Promise<Artifact>
}

/**
 * The coordinator's own agent files (`coordinator.agentArtifacts`, the ones it serves at
 * `/agent/…`): the bundle, and the executable it makes from its Node.js binary on first use
 * (for its own platform only; any other target gets the reason).
 */
export function artifactLaunchFiles (artifacts: AgentArtifacts): LaunchFiles {
  return {
    script: async () => artifacts.bundle,
    executable: async (target) => await artifacts.executable(target)
  }
}
