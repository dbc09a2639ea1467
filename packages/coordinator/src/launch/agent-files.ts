import { readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'

/** A file to copy to a host: where it is here, and its size in bytes. */
export interface AgentFile {
  path: string
  size: number
  /** The agent's version, which a script reads from a `package.json` beside it; undefined if unknown. */
  version?: string
}

/**
 * Where the launcher gets the agent it copies to each host: the script (run by the host's own
 * `node`), or, where the host has no suitable `node`, the standalone executable for its platform.
 */
export interface AgentFiles {
  /** The agent as one ES module that exports `main(argv)` (the published bundle). */
  script: () => Promise<AgentFile>
  /**
   * The standalone agent executable for a platform and architecture in Node's names (`linux`,
   * `x64`), or why there is none.
   */
  executable: (platform: string, arch: string) => Promise<AgentFile | { unavailable: string }>
}

async function fileOf (path: string): Promise<AgentFile> {
  return { path, size: (await stat(path)).size }
}

/**
 * The agent bundle installed beside the coordinator: `portcheck-agent`'s `dist/portcheck-agent.mjs`
 * (in this repository, the workspace's build). Throws if it is not there.
 */
export function bundledAgentPath (): string {
  return createRequire(import.meta.url).resolve('portcheck-agent')
}

/**
 * The agent files of this installation: the bundle as the script; no executable yet (the
 * standalone build is not part of this package), so a host without Node.js 20.19 fails its
 * launch saying so.
 */
export function installedAgentFiles (): AgentFiles {
  let script: Promise<AgentFile> | null = null
  return {
    script: async () => {
      script ??= (async () => {
        const file = bundledAgentPath()
        const pkg = JSON.parse(await readFile(path.join(path.dirname(file), '..', 'package.json'), 'utf8')) as { version?: unknown }
        return { ...await fileOf(file), ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}) }
      })()
      return await script
    },
    executable: async (platform, arch) => ({ unavailable: `this coordinator has no standalone agent executable (for ${platform}-${arch} or any other platform)` })
  }
}
