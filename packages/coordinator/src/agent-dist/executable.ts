import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import { PortcheckError } from '@portcheck/protocol'
import type { AgentFile } from './agent-files.js'
import { currentTarget } from './target.js'

const run = promisify(execFile)

/**
 * The sentinel that marks where a Node.js binary takes a single executable application's blob
 * (https://nodejs.org/api/single-executable-applications.html): postject flips it once injected.
 */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
/** Longest a build step may take, in ms: postject rewrites a ~100 MB binary (about 3 s on 2 cores). */
const STEP_TIMEOUT_MS = 180_000
/** A build directory older than this, in ms, was left by a coordinator that died mid-build. */
const STALE_BUILD_MS = 3_600_000
/** The executable's name in its cache directory, and as the join command saves it. */
export const EXECUTABLE_NAME = 'portcheck-agent'

/** What the cache keeps beside each executable. */
interface Meta {
  version: string
  node: string
  target: string
  bytes: number
  sha256: string
}

/** Options of {@link ExecutableCache}. */
export interface ExecutableCacheOptions {
  /** The cache directory (`<state dir>/agent-bin`), created private (0700) if missing. */
  dir: string
  /** The CommonJS bundle the executable runs (see scripts/bundle-agent.js). */
  seaBundle: AgentFile
  /** The agent's version: the made executable must print it for `--version`. */
  version: string
  logger: Logger
}

async function sha256Of (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The environment of the build's child processes: without NODE_OPTIONS, which a test runner or an operator may have set for the coordinator only. */
function childEnv (): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...rest } = process.env
  return rest
}

/** The last lines a failed child process wrote, for the error message. */
function failureText (err: unknown): string {
  const e = err as { stderr?: string, stdout?: string, killed?: boolean, name?: string, message: string }
  if (e.name === 'AbortError') return 'the coordinator is closing'
  if (e.killed === true) return `timed out after ${STEP_TIMEOUT_MS / 1000} s`
  const out = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join(' / ')
  return (out !== '' ? out : e.message).slice(0, 500)
}

/**
 * The standalone agent for this coordinator's own target, made from the Node.js binary it runs on
 * (`process.execPath`) as a single executable application, with postject, the first time it is
 * asked for, then kept in the cache directory, keyed by agent bundle, Node.js version, binary and
 * target: a new agent or Node.js makes a new one, and the old ones are removed. One build at a
 * time; a failed build is not retried until restart (its reason is served instead).
 */
export class ExecutableCache {
  private pending: Promise<AgentFile> | null = null
  private failure: PortcheckError | null = null
  /** Kills the build's child processes when the coordinator closes. */
  private readonly stopping = new AbortController()

  constructor (private readonly options: ExecutableCacheOptions) {}

  /** The executable, made if needed. Rejects with PC_ERR_AGENT_DIST saying why it cannot be made. */
  async get (): Promise<AgentFile> {
    if (this.failure !== null) throw this.failure
    this.pending ??= this.load().catch((err: unknown) => {
      this.failure = err instanceof PortcheckError ? err : new PortcheckError('PC_ERR_AGENT_DIST', `the standalone agent could not be made: ${(err as Error).message}`, { cause: err })
      this.pending = null
      if (!this.stopping.signal.aborted) this.options.logger.warn({ err: this.failure.message }, 'the standalone agent cannot be served')
      throw this.failure
    })
    return await this.pending
  }

  /** Stops a build in progress (its child processes are killed and its files removed), and any later one. */
  async close (): Promise<void> {
    this.stopping.abort()
    await this.pending?.catch(() => {})
  }

  /** The cache key: anything that changes the executable changes it. */
  private async key (): Promise<string> {
    const node = await stat(process.execPath)
    const hash = createHash('sha256')
      .update(JSON.stringify([this.options.seaBundle.sha256, process.version, process.execPath, node.size, node.mtimeMs]))
      .digest('hex').slice(0, 16)
    return `${currentTarget()}-node${process.version.slice(1)}-${hash}`
  }

  private async load (): Promise<AgentFile> {
    const key = await this.key()
    const final = path.join(this.options.dir, key)
    const cached = await this.cached(final)
    if (cached !== null) return cached
    const started = Date.now()
    this.options.logger.info({ node: process.execPath, dir: final }, 'making the standalone agent (once per agent and Node.js version)')
    const made = await this.build(final)
    this.options.logger.info({ bytes: made.bytes, ms: Date.now() - started }, 'standalone agent made')
    await this.prune(key)
    return made
  }

  private async cached (dir: string): Promise<AgentFile | null> {
    try {
      const meta = JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as Meta
      const file = path.join(dir, EXECUTABLE_NAME)
      if ((await stat(file)).size !== meta.bytes) return null
      return { path: file, bytes: meta.bytes, sha256: meta.sha256 }
    } catch {
      return null
    }
  }

  private async build (final: string): Promise<AgentFile> {
    const { dir, seaBundle, version } = this.options
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // Only the coordinator's user may change what it serves to nodes as their agent.
    await chmod(dir, 0o700)
    const work = await mkdtemp(path.join(dir, '.build-'))
    try {
      const blob = path.join(work, 'sea.blob')
      const config = path.join(work, 'sea-config.json')
      const exe = path.join(work, EXECUTABLE_NAME)
      // The code cache spares the executable compiling the bundle at each start.
      await writeFile(config, JSON.stringify({ main: seaBundle.path, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }))
      await this.step('preparing the blob', process.execPath, ['--experimental-sea-config', config], work)
      await copyFile(process.execPath, exe)
      await chmod(exe, 0o755)
      const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js')
      // In a child process: postject holds the binary several times over in memory (about 700 MB).
      await this.step('injecting it with postject', process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], work)
      await rm(blob)
      await rm(config)
      const { stdout } = await this.step('running it', exe, ['--version'], work)
      if (stdout.trim() !== version) throw new PortcheckError('PC_ERR_AGENT_DIST', `the executable made from ${process.execPath} printed "${stdout.trim().slice(0, 100)}" for --version, not ${version}`)
      const meta: Meta = { version, node: process.version, target: currentTarget(), bytes: (await stat(exe)).size, sha256: await sha256Of(exe) }
      await writeFile(path.join(work, 'meta.json'), JSON.stringify(meta, null, 2) + '\n')
      try {
        await rename(work, final)
      } catch (err) {
        // Another coordinator on this state directory made it first: theirs is the same.
        const theirs = await this.cached(final)
        if (theirs === null) throw err
        await rm(work, { recursive: true, force: true })
        return theirs
      }
      return { path: path.join(final, EXECUTABLE_NAME), bytes: meta.bytes, sha256: meta.sha256 }
    } catch (err) {
      await rm(work, { recursive: true, force: true })
      throw err instanceof PortcheckError ? err : new PortcheckError('PC_ERR_AGENT_DIST', `the standalone agent could not be made from ${process.execPath}: ${(err as Error).message}`, { cause: err })
    }
  }

  private async step (what: string, cmd: string, args: string[], cwd: string): Promise<{ stdout: string }> {
    const running = run(cmd, args, { cwd, timeout: STEP_TIMEOUT_MS, env: childEnv(), maxBuffer: 1024 * 1024, signal: this.stopping.signal })
    try {
      return await running
    } catch (err) {
      // Killed (timeout, close): the promise settles at once; wait for the process to be gone
      // before its files are removed, or it could write them again.
      const child = running.child
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) await once(child, 'exit')
      throw new PortcheckError('PC_ERR_AGENT_DIST', `the standalone agent could not be made from ${process.execPath} (${what}): ${failureText(err)}`, { cause: err })
    }
  }

  /** Removes executables of other keys (an older agent or Node.js) and builds abandoned long ago. */
  private async prune (keep: string): Promise<void> {
    for (const entry of await readdir(this.options.dir)) {
      if (entry === keep) continue
      const where = path.join(this.options.dir, entry)
      if (entry.startsWith('.build-')) {
        // Maybe another coordinator's build on this state directory, in progress.
        const s = await stat(where).catch(() => null)
        if (s !== null && Date.now() - s.mtimeMs < STALE_BUILD_MS) continue
      }
      await rm(where, { recursive: true, force: true }).catch(() => {})
    }
  }
}
