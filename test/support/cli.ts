import { spawn } from 'node:child_process'

/** The `portcheck` CLI as installed (built first: `npm run build`). */
export const CLI = 'packages/coordinator/bin/portcheck.js'

/** What a CLI process did. */
export interface CliResult { code: number | null, stdout: string, stderr: string }

/**
 * Runs the CLI to its end (NO_COLOR, extra `env`). `signalAfter`: sends SIGINT once stderr matches;
 * `onStderr` hears stderr as it grows (e.g. to start agents from the join commands it prints).
 */
export function cli (args: string[], opts: { env?: NodeJS.ProcessEnv, signalAfter?: RegExp, onStderr?: (stderr: string) => void } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } })
    let stdout = ''
    let stderr = ''
    let signalled = false
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      opts.onStderr?.(stderr)
      if (opts.signalAfter !== undefined && !signalled && opts.signalAfter.test(stderr)) { signalled = true; child.kill('SIGINT') }
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A CLI process left running: its output so far, a wait for a line, and its end. */
export interface RunningCli {
  child: ReturnType<typeof spawn>
  stderr: () => string
  /** Resolves when stderr matches (rejects if the process ends first or after `ms`). */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>
  exited: Promise<number | string>
}

/** Starts the CLI and leaves it running (the caller signals it, or kills it at teardown). */
export function startCli (args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } })
  let err = ''
  child.stdout?.resume()
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const waitFor = async (re: RegExp, ms = 20_000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + ms
    let done = false
    void exited.then(() => { done = true })
    for (;;) {
      const m = re.exec(err)
      if (m !== null) return m
      if (done || Date.now() > deadline) throw new Error(`${done ? 'the CLI ended' : 'timed out'} before ${String(re)}:\n${err}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { child, stderr: () => err, waitFor, exited }
}
