import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream } from 'node:fs'
import type { Logger } from 'pino'
import type { InventoryHost, SshSettings } from '@portcheck/protocol'
import type { LaunchState } from '../hub/launch-info.js'
import type { Artifact } from '../agent-dist/artifacts.js'
import type { LaunchFiles } from './launch-files.js'
import { nodeCanRunAgent, nodePlatform, parseRemoteLine, type HostFacts, type RemoteLine } from './launch-protocol.js'
import { cleanLine, lineSplitter } from './line-splitter.js'
import { BOOTSTRAP_EXIT, HEARTBEAT_MS, LAUNCH_PROTOCOL, LAUNCH_SCRIPT, STOP_GRACE_SECONDS } from './remote-script.js'
import { sshArgs, type SshArgsOptions } from './ssh-args.js'

/** What an agent needs to join: where, the pin it checks, and its host's credential. */
export interface AgentTarget {
  /** The URL for a host that saw its SSH connection come from `from` (null: unknown). */
  url: (from: string | null) => string
  /** The pin of the coordinator's TLS key; null for a plain (`--insecure`) coordinator. */
  pin: string | null
  /** The host's credential (never the join token). */
  credential: string
}

/** Options of {@link HostLaunch}. */
export interface HostLaunchOptions {
  host: InventoryHost
  /** The host's SSH settings (inventory defaults and its own, merged). */
  ssh: Readonly<SshSettings>
  sshArgs?: SshArgsOptions
  files: LaunchFiles
  target: AgentTarget
  logger: Logger
  /** Relay the agent's whole log (info and up); default false: its warnings and errors only. */
  verbose?: boolean
  /** Hears every state, with the error for `failed`. */
  onState: (state: LaunchState, error: string | null) => void
  /** The ssh program (default `ssh`, from the PATH). */
  sshCommand?: string
  /** Longest a launch may take until the agent runs, in ms (default 120000). */
  launchTimeoutMs?: number
}

/** Non-JSON lines of stderr kept for error messages: ssh's, sudo's, the shell's, a crash's. */
const TAIL_LINES = 20

/** Words of a line that says what went wrong, as ssh, sudo, shells and Node print it. */
const ERROR_WORDS = /error|denied|refused|failed|not found|no such|unknown|cannot|can't|could not|timed out|unreachable|closed|password|verification|invalid|not allowed/i

/** pino's level numbers, for relaying the agent's log records. */
const LEVELS: ReadonlyArray<[number, 'error' | 'warn' | 'info' | 'debug' | 'trace']> = [[50, 'error'], [40, 'warn'], [30, 'info'], [20, 'debug'], [0, 'trace']]

/**
 * The launch of one host's agent over one ssh connection, which stays open while the agent
 * runs: its stdin is the agent's lifeline (see LAUNCH_SCRIPT). {@link launch} resolves once the
 * agent runs or the launch failed; {@link stop} stops the agent and removes its files.
 */
export class HostLaunch {
  state: LaunchState = 'queued'
  private child: ChildProcess | null = null
  private readonly tail: string[] = []
  private heartbeat: NodeJS.Timeout | null = null
  private stopping = false
  private stopped: Promise<void> | null = null
  private failure: string | null = null
  private settle: () => void = () => {}
  private closed: Promise<void> = Promise.resolve()
  private readonly log: Logger

  constructor (private readonly opts: HostLaunchOptions) {
    this.log = opts.logger.child({ host: opts.host.name })
  }

  get name (): string {
    return this.opts.host.name
  }

  /** Starts the launch; resolves when the agent runs or the launch failed (never rejects). */
  async launch (): Promise<void> {
    if (this.stopping) return
    const launched = new Promise<void>((resolve) => { this.settle = resolve })
    const args = sshArgs(this.opts.host, this.opts.ssh, this.opts.sshArgs)
    this.set('connecting')
    this.log.debug({ ssh: args.slice(0, -1) }, 'connecting')
    // Its own process group: Ctrl-C in the terminal reaches the coordinator only, which stops
    // the agents itself once their run's listeners are closed.
    const child = spawn(this.opts.sshCommand ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    this.child = child
    this.closed = new Promise((resolve) => child.once('close', (code, signal) => { this.onClose(code, signal); resolve() }))
    // A ControlPersist master that ssh leaves behind keeps its output open: once ssh itself has
    // exited, what it had to say has arrived within a second, and the rest is not waited for.
    child.once('exit', () => setTimeout(() => { child.stdout?.destroy(); child.stderr?.destroy() }, 1000).unref())
    child.once('error', (err) => this.fail(`cannot run ${this.opts.sshCommand ?? 'ssh'}: ${err.message}`))
    // Writes to a connection that just ended fail with EPIPE: the close says why.
    child.stdin?.on('error', () => {})
    const out = lineSplitter((line) => this.onStdout(line))
    const err = lineSplitter((line) => this.onStderr(line))
    child.stdout?.on('data', (d: Buffer) => out.push(d))
    child.stderr?.on('data', (d: Buffer) => err.push(d))
    const script = Buffer.from(LAUNCH_SCRIPT)
    child.stdin?.write(`${script.length}\n`)
    child.stdin?.write(script)
    const timeoutMs = this.opts.launchTimeoutMs ?? 120_000
    const timer = setTimeout(() => this.fail(`the launch took longer than ${Math.round(timeoutMs / 1000)} s (it was ${this.state})`), timeoutMs)
    await launched
    clearTimeout(timer)
  }

  /**
   * Stops the agent and removes its files: ends the connection's input, which the host's launch
   * script takes as the order to stop, and waits for ssh to end (at most the agent's grace time
   * and 10 s more, then ssh is killed: the host still sees end of input).
   */
  async stop (): Promise<void> {
    this.stopped ??= this.stopOnce()
    await this.stopped
  }

  private async stopOnce (): Promise<void> {
    const running = this.state === 'running'
    const failed = this.state === 'failed'
    this.stopping = true
    this.stopHeartbeat()
    this.settle()
    if (this.child === null) { this.set('stopped'); return }
    if (!failed) this.set('stopping')
    this.child.stdin?.end()
    // Before the agent runs, ssh may still be connecting, deaf to its input: end it. The host,
    // if the script got that far, sees the connection close and cleans up the same way.
    if (!running && !failed) this.child.kill('SIGTERM')
    if (!await this.closedWithin(STOP_GRACE_SECONDS * 1000 + 10_000)) {
      this.log.warn('the host did not confirm that its agent stopped; ending the SSH connection')
      this.child.kill('SIGTERM')
      if (!await this.closedWithin(2000)) this.child.kill('SIGKILL')
      await this.closed
    }
    if (this.state !== 'failed') this.set('stopped')
  }

  private async closedWithin (ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const ok = await Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
    clearTimeout(timer)
    return ok
  }

  private set (state: LaunchState, error: string | null = null): void {
    this.state = state
    this.opts.onState(state, error)
  }

  /** Ends the launch as failed (once); the connection is closed, so the host cleans up. */
  private fail (why: string): void {
    if (this.failure !== null || this.stopping) return
    this.failure = cleanLine(why, 500)
    this.stopHeartbeat()
    this.set('failed', this.failure)
    this.log.warn({ error: this.failure }, 'agent launch failed')
    this.child?.stdin?.end()
    // The host cleans up at end of input; ssh itself may be stuck connecting: end it soon.
    const child = this.child
    if (child !== null) setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM') }, 2000).unref()
    this.settle()
  }

  private stopHeartbeat (): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat)
    this.heartbeat = null
  }

  private onStdout (line: string): void {
    const msg = parseRemoteLine(line)
    if (msg === null) { this.log.debug({ line: cleanLine(line) }, 'host printed'); return }
    void this.onRemote(msg)
  }

  private async onRemote (msg: RemoteLine): Promise<void> {
    switch (msg.type) {
      case 'hello':
        await this.start(msg.facts).catch((err: unknown) => this.fail(`cannot send the agent: ${(err as Error).message}`))
        break
      case 'error':
        this.fail(msg.message)
        break
      case 'started':
        if (this.failure !== null || this.stopping) return
        this.set('running')
        this.log.debug({ pid: msg.pid }, 'agent started')
        this.heartbeat = setInterval(() => this.child?.stdin?.write('\n'), HEARTBEAT_MS)
        this.heartbeat.unref()
        this.settle()
        break
      case 'exited':
        this.fail(`the agent exited (code ${msg.code})${this.lastStderr()}`)
        break
      case 'stopped':
        this.log.debug('agent stopped and its files removed')
        break
    }
  }

  /** Chooses the agent file from what the host said, and sends the start order and the file. */
  private async start (facts: HostFacts): Promise<void> {
    if (this.failure !== null || this.stopping) return
    if (facts.protocol !== LAUNCH_PROTOCOL) return this.fail(`the host runs launch protocol ${facts.protocol}, not ${LAUNCH_PROTOCOL}`)
    const kind = nodeCanRunAgent(facts.node) ? 'script' : 'executable'
    let file: Artifact
    if (kind === 'script') file = await this.opts.files.script()
    else {
      const p = nodePlatform(facts)
      file = p === null ? { path: null, reason: `there is no standalone agent for ${facts.os} ${facts.machine}` } : await this.opts.files.executable(`${p.platform}-${p.arch}`)
    }
    if (file.path === null) {
      this.child?.stdin?.write('abort\n')
      const lacking = facts.node === null ? 'node is not on the PATH of a non-interactive SSH session' : `its node is ${facts.node}, older than 20.19`
      return this.fail(kind === 'script' ? `cannot send the agent: ${file.reason}` : `${lacking}, and ${file.reason}`)
    }
    const sudo = this.opts.ssh.sudo === true && facts.uid !== 0
    const { target } = this.opts
    const order = ['start', kind, String(file.bytes), sudo ? '1' : '0', target.url(facts.from), this.name, target.pin ?? '-', this.opts.verbose === true ? 'info' : 'warn', target.credential]
    this.log.debug({ kind, bytes: file.bytes, sudo, os: facts.os, machine: facts.machine, node: facts.node }, 'sending the agent')
    this.set('copying')
    const stdin = this.child?.stdin
    if (stdin == null) return
    stdin.write(order.join('\n') + '\n')
    const from = file.path
    await new Promise<void>((resolve, reject) => {
      const source = createReadStream(from)
      source.once('error', reject)
      source.once('end', () => resolve())
      source.pipe(stdin, { end: false })
    })
    if (this.state === 'copying') this.set('starting')
  }

  private onStderr (line: string): void {
    if (line.startsWith('{')) {
      try {
        const rec = JSON.parse(line) as { level?: number, msg?: string }
        if (typeof rec.level === 'number') { this.relay(rec); return }
      } catch { /* not a log record */ }
    }
    const text = cleanLine(line)
    if (text === '') return
    this.tail.push(text)
    if (this.tail.length > TAIL_LINES) this.tail.shift()
    this.log.debug({ line: text }, 'ssh stderr')
  }

  /** Logs one of the agent's log records through the coordinator's logger. */
  private relay (rec: { level?: number, msg?: string } & Record<string, unknown>): void {
    const level = (LEVELS.find(([n]) => (rec.level ?? 30) >= n) ?? [30, 'info'])[1]
    if (this.opts.verbose !== true && level !== 'error' && level !== 'warn') return
    // The host is already on every line of this logger; pino's own fields are the agent process's.
    const { level: _l, time: _t, pid: _p, hostname: _h, name: _n, host: _host, msg, ...fields } = rec
    this.log[level](fields, `agent: ${typeof msg === 'string' ? msg : ''}`)
  }

  /**
   * The line of stderr that best says what went wrong, after `: `: the last one that reads like
   * an error (a crash ends with the Node.js version, which says nothing), else the last one.
   */
  private lastStderr (): string {
    const best = this.tail.findLast((l) => ERROR_WORDS.test(l)) ?? this.tail[this.tail.length - 1]
    return best !== undefined ? `: ${best}` : ''
  }

  private onClose (code: number | null, signal: NodeJS.Signals | null): void {
    this.stopHeartbeat()
    if (this.stopping || this.failure !== null) { this.settle(); return }
    if (this.state === 'running') {
      this.fail(`the SSH connection ended${this.lastStderr() || (code !== null ? ` (ssh exited with code ${code})` : '')}`)
      return
    }
    if (code === BOOTSTRAP_EXIT.mktemp) this.fail(`cannot make a private directory on the host (mktemp -d in $TMPDIR, else /tmp)${this.lastStderr()}`)
    else if (code === BOOTSTRAP_EXIT.receive) this.fail(`the launch script did not arrive whole${this.lastStderr()}`)
    else if (this.tail.length > 0) this.fail(this.lastStderr().slice(2))
    else this.fail(signal !== null ? `ssh was killed (${signal})` : `ssh exited with code ${code ?? '?'} before the agent started`)
  }
}
