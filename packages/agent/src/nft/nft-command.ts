import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { NftablesState } from '@portcheck/protocol'

/** Where `nft` is looked for when it is not on the PATH (root's PATH usually has /usr/sbin; a service's may not). */
const FALLBACK_PATHS = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft']

/** Longest one `nft` command may take, in ms, unless told otherwise. */
export const NFT_TIMEOUT_MS = 5000
/** Most output one `nft` command may give before it is stopped, in bytes (16 MiB: a listing of a big ruleset). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024

/** An `nft` command that failed: its error output, in one line. */
export class NftError extends Error {
  constructor (message: string, readonly code: string | null = null) {
    super(message)
    this.name = 'NftError'
  }
}

let binary: string | null = null

/** The `nft` program to run: `nft` on the PATH, else a usual place. */
export function nftBinary (): string {
  if (binary !== null) return binary
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/nft`))
  binary = onPath ? 'nft' : FALLBACK_PATHS.find((p) => existsSync(p)) ?? 'nft'
  return binary
}

/** Options of {@link runNft} and {@link spawnNft}. */
export interface NftOptions {
  /** Written to the command's standard input (`nft -f -`). */
  input?: string
  /** Longest the command may take, in ms. Default {@link NFT_TIMEOUT_MS}. */
  timeoutMs?: number
}

/**
 * Runs `nft` with these arguments (never through a shell) and returns its standard output.
 * Throws {@link NftError} with nft's own message when it fails, is not found, or takes too long.
 */
export async function runNft (args: readonly string[], options: NftOptions = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(nftBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] })
    } catch (err) {
      reject(new NftError(`cannot run nft: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? null))
      return
    }
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    const keep = (list: Buffer[]) => (d: Buffer): void => {
      size += d.length
      if (size > MAX_OUTPUT_BYTES) { child.kill('SIGKILL'); return }
      list.push(d)
    }
    child.stdout?.on('data', keep(out))
    child.stderr?.on('data', keep(err))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? NFT_TIMEOUT_MS)
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new NftError(e.code === 'ENOENT' ? 'nft not found' : `cannot run nft: ${e.message}`, e.code ?? null))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) { resolve(Buffer.concat(out).toString('utf8')); return }
      const text = Buffer.concat(err).toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0)
      const why = signal !== null ? `nft stopped (${signal}): it took too long or wrote too much` : text.find((l) => /error/i.test(l)) ?? text[0] ?? `nft exited with ${String(code)}`
      reject(new NftError(why.slice(0, 200)))
    })
    child.stdin?.on('error', () => {})
    child.stdin?.end(options.input ?? '')
  })
}

/**
 * Starts a long-running `nft` (the monitor) with these arguments, never through a shell. The
 * caller reads its output and must kill it.
 */
export function spawnNft (args: readonly string[]): ChildProcess {
  return spawn(nftBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
}

/**
 * Whether this agent can use nftables: it can list the tables (which needs root, or
 * CAP_NET_ADMIN). Why not, in a few words, for the run's summary (`not root`, `nft not found`);
 * if it can, the listing (`nft -j list tables`), which the stale-table sweep reads.
 */
export async function nftUsable (): Promise<{ state: NftablesState, listing: string | null }> {
  try {
    const listing = await runNft(['-j', 'list', 'tables'], { timeoutMs: 3000 })
    return { state: { usable: true }, listing }
  } catch (err) {
    const root = process.getuid?.() === 0
    if (!root) return { state: { usable: false, why: 'not root' }, listing: null }
    const e = err as NftError
    return { state: { usable: false, why: e.code === 'ENOENT' ? 'nft not found' : e.message.slice(0, 200) }, listing: null }
  }
}
