import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Logger } from 'pino'
import type { TraceFinding } from '@portcheck/protocol'
import { NftError, runNft, spawnNft } from './nft-command.js'
import { deleteOwnTable } from './own-tables.js'
import { ruleOwners } from './rule-owner.js'
import { parseTraceLine, tallyFindings, type TraceEvent } from './trace-parse.js'
import { ingressRuleset, ingressWatch, operatorIngressDevices, traceRuleset, type SourceWatch, type TargetWatch } from './watch-rules.js'

/** Trace lines read at most per trace; past them the monitor is stopped and the findings are partial. */
export const MAX_TRACE_LINES = 50_000
/** Longest the monitor may take to start listening, in ms. */
const SYNC_TIMEOUT_MS = 3000
/** How often the subscription is tested while it starts, in ms. */
const SYNC_EVERY_MS = 50
/** Time given to the monitor to print what the kernel already sent, before it is stopped, in ms. */
const SETTLE_MS = 150

/** What a trace saw. */
export interface TraceOutcome {
  items: TraceFinding[]
  truncated: boolean
  /** Interfaces with netdev ingress chains of the operator's that the trace could not watch. */
  unwatched: string[]
  error?: string
}

/**
 * One trace: the agent's own temporary tables marking the watched checks' packets with
 * `meta nftrace set 1`, and `nft -a monitor` reading where each went and which rule decided it.
 * The monitor is listening before anything is marked; the tables are deleted and the monitor
 * stopped by {@link stop}, which every path ends with (the session calls it on run end, and the
 * trace's own time bound does too).
 */
export class Tracer {
  private monitor: ChildProcess | null = null
  private readonly lines: string[] = []
  private truncated = false
  private monitorError: string | null = null
  private stopping: Promise<TraceOutcome> | null = null
  private synced: (() => void) | null = null
  private unwatched: string[] = []

  constructor (private readonly table: string, private readonly sources: readonly SourceWatch[], private readonly targets: readonly TargetWatch[], private readonly logger: Logger) {}

  /** Starts the monitor, waits until it listens, then adds the tables. Throws {@link NftError}; cleans up after itself. */
  async start (): Promise<void> {
    const monitor = spawnNft(['-a', 'monitor'])
    this.monitor = monitor
    const lines = createInterface({ input: monitor.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => this.take(line))
    monitor.stderr?.on('data', (d: Buffer) => { this.monitorError ??= d.toString('utf8').trim().slice(0, 200) })
    const exited = new Promise<void>((resolve) => monitor.once('close', () => resolve()))
    monitor.once('error', (err: NodeJS.ErrnoException) => { this.monitorError = err.code === 'ENOENT' ? 'nft not found' : err.message })
    try {
      await this.sync(exited)
      await runNft(['-f', '-'], { input: traceRuleset(this.table, this.sources, this.targets) })
      if (this.targets.length > 0) {
        // Only the operator's netdev chains drop before the prerouting mark: watch their interfaces.
        const { watched, unwatched } = ingressWatch(operatorIngressDevices(await runNft(['list', 'chains', 'netdev']).catch(() => '')))
        this.unwatched = unwatched
        if (watched.length > 0) {
          await runNft(['-f', '-'], { input: ingressRuleset(this.table, watched, this.targets) }).catch((err: unknown) => {
            this.logger.warn({ err, devices: watched }, 'cannot watch the netdev ingress hook (refused): a drop by the netdev chains there cannot be told from one in the network')
            this.unwatched = [...watched, ...unwatched]
          })
        }
      }
    } catch (err) {
      await this.stop()
      throw err instanceof NftError ? err : new NftError((err as Error).message)
    }
  }

  /**
   * Waits until the monitor is subscribed: changes the agent's own table (a chain added and
   * deleted) until the monitor prints that change. Traces of packets sent before that would be lost.
   */
  private async sync (exited: Promise<void>): Promise<void> {
    const seen = new Promise<void>((resolve) => { this.synced = resolve })
    let done = false
    const deadline = Date.now() + SYNC_TIMEOUT_MS
    void seen.then(() => { done = true })
    void exited.then(() => { done = true })
    while (!done) {
      if (Date.now() > deadline) throw new NftError('nft monitor did not start listening in time')
      await runNft(['-f', '-'], { input: `add table inet ${this.table}\nadd chain inet ${this.table} sync\ndelete chain inet ${this.table} sync\n` })
      await Promise.race([seen, exited, new Promise((resolve) => setTimeout(resolve, SYNC_EVERY_MS))])
    }
    if (this.synced !== null) throw new NftError(`nft monitor stopped: ${this.monitorError ?? 'no reason given'}`)
  }

  private take (line: string): void {
    if (this.synced !== null && line.includes(` ${this.table} sync`)) {
      const resolve = this.synced
      this.synced = null
      resolve()
      return
    }
    if (!line.startsWith('trace id ')) return
    if (this.lines.length >= MAX_TRACE_LINES) {
      if (!this.truncated) { this.truncated = true; this.monitor?.kill('SIGTERM') }
      return
    }
    this.lines.push(line)
  }

  /** Deletes the tables, stops the monitor, and says what was seen. Idempotent. */
  stop (): Promise<TraceOutcome> {
    this.stopping ??= this.finish()
    return this.stopping
  }

  private async finish (): Promise<TraceOutcome> {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    await deleteOwnTable('inet', this.table)
    await deleteOwnTable('netdev', this.table)
    const monitor = this.monitor
    if (monitor !== null && monitor.exitCode === null && monitor.signalCode === null) {
      const closed = new Promise((resolve) => monitor.once('close', resolve))
      monitor.kill('SIGTERM')
      const kill = setTimeout(() => monitor.kill('SIGKILL'), 1000)
      await closed
      clearTimeout(kill)
    }
    const events = this.lines.map(parseTraceLine).filter((e): e is TraceEvent => e !== null)
    const tallies = tallyFindings(events, this.table, this.sources, this.targets)
    const owners = await ruleOwners(tallies.flatMap((t) => t.drop !== null ? [{ family: t.drop.family, table: t.drop.table }] : []))
    const items = tallies.map(({ finding, drop }) => drop === null ? finding : { ...finding, rule: { ...drop, owner: owners.get(`${drop.family} ${drop.table}`) ?? 'nftables' } })
    this.logger.debug({ lines: this.lines.length, items: items.length }, 'trace read')
    return { items, truncated: this.truncated, unwatched: this.unwatched }
  }
}
