import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** One file of the agent the coordinator serves, as scripts/pack-agent.js built it. */
export interface AgentFile {
  path: string
  /** Its size, in bytes. */
  bytes: number
  /** The SHA-256 of its content, in hex. */
  sha256: string
}

/** The agent as the coordinator ships it (`dist/agent-files/`). */
export interface AgentFiles {
  /** The agent's version (its package.json's). */
  version: string
  /** `portcheck-agent.tgz`: the agent's npm package. */
  tarball: AgentFile
  /** `portcheck-agent.mjs`: the single-file bundle, run as `node portcheck-agent.mjs …`. */
  bundle: AgentFile
  /** `portcheck-agent-sea.cjs`: the CommonJS bundle the standalone executable is made of. */
  seaBundle: AgentFile
}

/**
 * Where the agent's files are: `dist/agent-files/` in the coordinator's package, as
 * scripts/pack-agent.js writes them (at build time, and so in the published package). The same
 * path from `src/agent-dist/` (tests run the sources) and from `dist/agent-dist/`.
 */
export function agentFilesDir (): string {
  return fileURLToPath(new URL('../../dist/agent-files/', import.meta.url))
}

interface Manifest {
  version: string
  files: Record<string, { bytes: number, sha256: string }>
}

/** The agent's files in `dir`, or why they cannot be served (not built). Reads only the manifest. */
export function loadAgentFiles (dir = agentFilesDir()): AgentFiles | { missing: string } {
  const manifestFile = path.join(dir, 'manifest.json')
  let manifest: Manifest
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest
  } catch (err) {
    return { missing: `the agent's files are not built (${manifestFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): run \`npm run build\`` }
  }
  const file = (name: string): AgentFile | null => {
    const f = manifest.files?.[name]
    return f === undefined ? null : { path: path.join(dir, name), bytes: f.bytes, sha256: f.sha256 }
  }
  const tarball = file('portcheck-agent.tgz')
  const bundle = file('portcheck-agent.mjs')
  const seaBundle = file('portcheck-agent-sea.cjs')
  if (typeof manifest.version !== 'string' || tarball === null || bundle === null || seaBundle === null) {
    return { missing: `${manifestFile} does not list the agent's files: run \`npm run build\`` }
  }
  return { version: manifest.version, tarball, bundle, seaBundle }
}
