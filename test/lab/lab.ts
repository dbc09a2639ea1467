/**
 * A network lab made of Linux network namespaces: one "switch" namespace holding a bridge,
 * and one namespace per test host, each joined to the bridge by a veth pair, with an address
 * in 198.18.0.0/15. Processes run inside hosts with `ip netns exec`; firewall rules are
 * nftables rulesets loaded per host.
 *
 * Namespaces are named `pct<pid>-<lab>-<host>`. They are deleted by destroy(), at process
 * exit, and, should a test process be killed outright, by the next lab created on the
 * machine, which sweeps namespaces whose creating process is gone, with their /etc/netns
 * directories (resolver.ts). Delay forwarders die with the test process (netem.ts).
 *
 * Field conditions: setLoss and setDelay (netem.ts), setResolver (resolver.ts).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { isIPv6 } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { pidAlive } from '../../packages/agent/src/nft/own-tables.js'
import { isLabAddress } from './addresses.js'
import { DelayLines, setLoss, type DelayOptions, type LossOptions } from './netem.js'
import { nftLoad } from './ns-exec.js'
import { removeResolver, sweepStaleResolvers, writeResolver, type ResolverOptions } from './resolver.js'

const run = promisify(execFile)
const PREFIX = 'pct'

/** Throws unless `address` is a host address the lab may use: in 198.18.0.0/15 or 2001:2::/48, not loopback. */
function labHostAddress (address: string): void {
  if (!isLabAddress(address) || address === '::1' || address.startsWith('127.')) throw new Error(`lab addresses must be in 198.18.0.0/15 or 2001:2::/48, got ${address}`)
}

/** Why the lab cannot run here, or null if it can. Root, iproute2 and nftables are needed. */
export function labUnavailable (): string | null {
  if (process.platform !== 'linux') return 'the namespace lab needs Linux'
  if (process.getuid?.() !== 0) return 'the namespace lab needs root (network namespaces and nftables)'
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['nft', 'nftables']] as const) {
    try {
      execFileSync(cmd, ['-V'], { stdio: 'ignore' })
    } catch {
      return `the namespace lab needs \`${cmd}\` (Debian package ${pkg})`
    }
  }
  const probe = `${PREFIX}${process.pid}-probe${randomBytes(2).toString('hex')}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
  } catch {
    return 'cannot create network namespaces here (missing CAP_SYS_ADMIN?)'
  }
  return null
}

/** Lists this machine's network namespaces. */
export function listNamespaces (): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.length > 0)
}

/** True if `ns` is a lab namespace's name and the process that made it is gone. */
function staleLabNamespace (ns: string): boolean {
  const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns)
  return m !== null && !pidAlive(Number(m[1]))
}

/** Deletes lab namespaces, and their /etc/netns directories, left by test processes that no longer exist. */
export function sweepStaleNamespaces (): string[] {
  const removed: string[] = []
  for (const ns of listNamespaces()) {
    if (!staleLabNamespace(ns)) continue
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
      removed.push(ns)
    } catch { /* already gone */ }
  }
  sweepStaleResolvers(staleLabNamespace)
  return removed
}

/** An nftables ruleset with one filter chain on `hook`, holding `rules` (one per line). */
export function filterRules (hook: 'input' | 'output', rules: string): string {
  return `table inet pctest {\n  chain ${hook} {\n    type filter hook ${hook} priority 0; policy accept;\n${rules}\n  }\n}\n`
}

/** An nftables ruleset that redirects (DNATs) incoming traffic, with `rules` (one per line). */
export function redirectRules (rules: string): string {
  return `table ip pcnat {\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n${rules}\n  }\n}\n`
}

/** A test host in the lab. */
export interface LabHost {
  name: string
  /** Its first address. */
  address: string
  /** Every address it was given: an IPv4 one in 198.18.0.0/15, an IPv6 one in 2001:2::/48, or both. */
  addresses: string[]
  /** The namespace's name. */
  ns: string
  /** The host's veth on the bridge, in the switch namespace: what enters it, the host sent. */
  port: string
}

/** A process started in a lab host, with its output collected. */
export interface LabProcess {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>
  /** Resolves when `pattern` shows up on stdout or stderr. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
}

const labs = new Set<Lab>()
let exitHookInstalled = false

function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const lab of labs) lab.destroySync()
  })
}

export class Lab {
  readonly id: string
  readonly hosts = new Map<string, LabHost>()
  private readonly sw: string
  private readonly procs = new Set<ChildProcess>()
  private readonly prefixLen: number
  private vethCount = 0
  private destroyed = false
  private readonly delayLines = new DelayLines((host, cmd, args) => this.spawn(host, cmd, args))

  private constructor (id: string, prefixLen: number) {
    this.id = id
    this.prefixLen = prefixLen
    this.sw = this.nsName('sw')
  }

  /**
   * Creates an empty lab (the switch namespace and its bridge).
   * @param prefixLen prefix length of host addresses on the bridge (default 15: all of 198.18.0.0/15)
   */
  /**
   * A lab for one test, and a temporary directory (`dirPrefix` + random) for its files: both
   * removed when the test ends, whatever happens.
   * @param prefixLen as {@link Lab.create}
   */
  static async forTest (t: Test, dirPrefix: string, prefixLen = 15): Promise<{ lab: Lab, dir: string }> {
    const lab = await Lab.create(prefixLen)
    t.teardown(() => lab.destroy())
    const dir = mkdtempSync(path.join(tmpdir(), dirPrefix))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return { lab, dir }
  }

  static async create (prefixLen = 15): Promise<Lab> {
    sweepStaleNamespaces()
    installExitHook()
    const lab = new Lab(randomBytes(3).toString('hex'), prefixLen)
    labs.add(lab)
    await run('ip', ['netns', 'add', lab.sw])
    await lab.ip(lab.sw, ['link', 'add', 'br0', 'type', 'bridge'])
    await lab.ip(lab.sw, ['link', 'set', 'br0', 'up'])
    return lab
  }

  private nsName (host: string): string {
    return `${PREFIX}${process.pid}-${this.id}-${host}`
  }

  private async ip (ns: string, args: string[]): Promise<void> {
    await run('ip', ['-n', ns, ...args])
  }

  /**
   * Adds a host namespace with one interface (eth0) on the bridge, with its address (IPv4, in
   * 198.18.0.0/15) or addresses (IPv4 and/or IPv6, in 2001:2::/48).
   */
  async addHost (name: string, address: string | readonly string[]): Promise<LabHost> {
    const addresses = typeof address === 'string' ? [address] : [...address]
    if (addresses.length === 0) throw new Error(`lab host ${name} needs an address`)
    for (const a of addresses) labHostAddress(a)
    const ns = this.nsName(name)
    const n = this.vethCount++
    // Interface names are limited to 15 characters.
    const outside = `v${this.id}${n}`.slice(0, 15)
    const inside = `w${this.id}${n}`.slice(0, 15)
    await run('ip', ['netns', 'add', ns])
    await run('ip', ['link', 'add', outside, 'netns', this.sw, 'type', 'veth', 'peer', 'name', inside, 'netns', ns])
    await this.ip(this.sw, ['link', 'set', outside, 'master', 'br0', 'up'])
    await this.ip(ns, ['link', 'set', inside, 'name', 'eth0'])
    for (const a of addresses) await this.ip(ns, this.addrArgs(a))
    await this.ip(ns, ['link', 'set', 'eth0', 'up'])
    await this.ip(ns, ['link', 'set', 'lo', 'up'])
    const host = { name, address: addresses[0] as string, addresses, ns, port: outside }
    this.hosts.set(name, host)
    return host
  }

  /** Adds a secondary address (IPv4 or IPv6) to a host's interface (several agents in one namespace). */
  async addAddress (name: string, address: string): Promise<void> {
    labHostAddress(address)
    await this.ip(this.host(name).ns, this.addrArgs(address))
  }

  /**
   * `ip addr add` arguments for eth0: IPv4 with the lab's prefix length; IPv6 as a /48 (all of
   * 2001:2::/48 on the bridge) with `nodad`, so it is usable at once, not after duplicate
   * address detection (a second or two).
   */
  private addrArgs (address: string): string[] {
    return isIPv6(address) ? ['-6', 'addr', 'add', `${address}/48`, 'dev', 'eth0', 'nodad'] : ['addr', 'add', `${address}/${this.prefixLen}`, 'dev', 'eth0']
  }

  host (name: string): LabHost {
    const h = this.hosts.get(name)
    if (h === undefined) throw new Error(`no lab host ${name}`)
    return h
  }

  /** Loads an nftables ruleset into a host (`nft -f -`). */
  async nft (name: string, ruleset: string): Promise<void> {
    await nftLoad(this.host(name).ns, ruleset, name)
  }

  /**
   * Loads an nftables ruleset into the switch (`nft -f -`): family `bridge` rules there filter
   * what crosses the bridge between hosts, a firewall in the network that no host's agent sees.
   */
  async nftSwitch (ruleset: string): Promise<void> {
    await nftLoad(this.sw, ruleset, 'the switch')
  }

  /**
   * Drops `permille`/1000 of the packets host `name` sends (ARP spared), at random, on the
   * switch. Calling again replaces the rate; 0 removes it.
   * @param options.except destinations never dropped (default: none)
   */
  async setLoss (name: string, permille: number, options: LossOptions = {}): Promise<void> {
    await setLoss(this.sw, this.host(name), permille, options)
  }

  /**
   * Delays every packet host `name` sends to `options.to` by `ms` milliseconds (one way; 0
   * removes the delay), through a TUN forwarder in the host. Calling again replaces it.
   */
  async setDelay (name: string, ms: number, options: DelayOptions): Promise<void> {
    await this.delayLines.set(this.host(name), ms, options.to)
  }

  /**
   * Sets the hosts file and resolv.conf of host `name` (see ResolverOptions), for the processes
   * started in it from now on. Calling again replaces both; `{}` restores the machine's.
   */
  async setResolver (name: string, options: ResolverOptions): Promise<void> {
    writeResolver(this.host(name).ns, options)
  }

  /** Runs a command in a host to completion; returns stdout. */
  async exec (name: string, cmd: string, args: string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', this.host(name).ns, cmd, ...args], { maxBuffer: 64 * 1024 * 1024 })
    return stdout
  }

  /** Starts a long-running process in a host; it is killed by destroy(). */
  spawn (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): LabProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(name).ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    this.procs.add(child)
    let out = ''
    let err = ''
    const waiters: Array<{ re: RegExp, resolve: () => void }> = []
    const check = (): void => {
      for (const w of [...waiters]) {
        if (w.re.test(out) || w.re.test(err)) { waiters.splice(waiters.indexOf(w), 1); w.resolve() }
      }
    }
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); check() })
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); check() })
    const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => {
      this.procs.delete(child)
      resolve(code ?? signal ?? 'unknown')
    }))
    return {
      child,
      stdout: () => out,
      stderr: () => err,
      exited,
      waitFor: async (re, timeoutMs = 15_000) => {
        if (re.test(out) || re.test(err)) return
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(re)} from ${cmd} in ${name}\nstdout: ${out}\nstderr: ${err}`)), timeoutMs)
          waiters.push({ re, resolve: () => { clearTimeout(timer); resolve() } })
          void exited.then((code) => { clearTimeout(timer); reject(new Error(`${cmd} in ${name} exited (${code}) before ${String(re)}\nstdout: ${out}\nstderr: ${err}`)) })
        })
      }
    }
  }

  /** Sockets listening (TCP) or bound (UDP) in a host, as `ss` prints them, with their processes. */
  async sockets (name: string): Promise<string[]> {
    const out = await this.exec(name, 'ss', ['-Hlntup'])
    return out.split('\n').filter((l) => l.trim().length > 0)
  }

  /** Kills every process, then deletes every namespace. Idempotent. */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    for (const p of this.procs) p.kill('SIGKILL')
    await Promise.all([...this.procs].map((p) => new Promise((resolve) => { if (p.exitCode !== null || p.signalCode !== null) resolve(null); else p.once('close', resolve) })))
    this.destroySync()
  }

  /** Synchronous teardown, for process exit. */
  destroySync (): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const p of this.procs) p.kill('SIGKILL')
    for (const ns of [...[...this.hosts.values()].map((h) => h.ns), this.sw]) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* gone */ }
      removeResolver(ns)
    }
    labs.delete(this)
  }

  /** The names of this lab's namespaces that still exist. */
  remainingNamespaces (): string[] {
    const mine = `${PREFIX}${process.pid}-${this.id}-`
    return listNamespaces().filter((n) => n.startsWith(mine))
  }
}
