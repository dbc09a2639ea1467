import { LINE_PREFIX } from './remote-script.js'

/** What the host said in its `hello` line. */
export interface HostFacts {
  protocol: number
  /** `uname -s`: Linux, Darwin, … */
  os: string
  /** `uname -m`: x86_64, aarch64, … */
  machine: string
  /** The SSH user's uid on the host (0: root). */
  uid: number
  /**
   * The address this SSH connection comes from, as the host sees it (`$SSH_CONNECTION`): one of
   * the coordinator's own when nothing (jump host, NAT) is in between. Null if unknown.
   */
  from: string | null
  /** The version of the `node` on the PATH (`v20.19.0`), or null if there is none. */
  node: string | null
}

/** A line of the launch script (see LAUNCH_SCRIPT). */
export type RemoteLine =
  | { type: 'hello', facts: HostFacts }
  | { type: 'error', message: string }
  | { type: 'started', pid: number }
  | { type: 'exited', code: number }
  | { type: 'stopped' }

/** Parses a line of the launch script's stdout; null for anything else (a noisy shell profile). */
export function parseRemoteLine (line: string): RemoteLine | null {
  if (!line.startsWith(LINE_PREFIX)) return null
  const words = line.slice(LINE_PREFIX.length).split(' ')
  switch (words[0]) {
    case 'hello': {
      const [, protocol, os, machine, uid, from, node] = words
      if (node === undefined || !/^\d+$/.test(protocol ?? '') || !/^\d+$/.test(uid ?? '')) return null
      return {
        type: 'hello',
        facts: { protocol: Number(protocol), os: os ?? '', machine: machine ?? '', uid: Number(uid), from: from === '-' ? null : from ?? null, node: node === '-' ? null : node }
      }
    }
    case 'error':
      return { type: 'error', message: words.slice(1).join(' ') }
    case 'started':
      return /^\d+$/.test(words[1] ?? '') ? { type: 'started', pid: Number(words[1]) } : null
    case 'exited':
      return /^\d+$/.test(words[1] ?? '') ? { type: 'exited', code: Number(words[1]) } : null
    case 'stopped':
      return { type: 'stopped' }
    default:
      return null
  }
}

/** `uname -s` → Node's `process.platform`, for the names the system prints; null for others. */
const PLATFORMS: Readonly<Record<string, string>> = { Linux: 'linux', Darwin: 'darwin', FreeBSD: 'freebsd', OpenBSD: 'openbsd', SunOS: 'sunos', AIX: 'aix' }

/** `uname -m` → Node's `process.arch`. */
const ARCHES: Readonly<Record<string, string>> = {
  x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm', armv6l: 'arm', i386: 'ia32', i686: 'ia32', ppc64le: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loongarch64: 'loong64'
}

/** The host's platform and architecture in Node's names (`linux`, `x64`), from `uname -sm`; null when unknown. */
export function nodePlatform (facts: Pick<HostFacts, 'os' | 'machine'>): { platform: string, arch: string } | null {
  const platform = PLATFORMS[facts.os]
  const arch = ARCHES[facts.machine]
  return platform !== undefined && arch !== undefined ? { platform, arch } : null
}

/** Oldest Node.js the agent runs on: its package's `engines`. */
export const MIN_AGENT_NODE: readonly [number, number] = [20, 19]

/** Whether a `node -v` version (`v20.19.0`) can run the agent script. */
export function nodeCanRunAgent (version: string | null): boolean {
  const m = /^v(\d+)\.(\d+)\./.exec(version ?? '')
  if (m === null) return false
  const major = Number(m[1])
  return major > MIN_AGENT_NODE[0] || (major === MIN_AGENT_NODE[0] && Number(m[2]) >= MIN_AGENT_NODE[1])
}
