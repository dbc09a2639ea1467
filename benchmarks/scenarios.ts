// The benchmark scenarios of `npm run bench`. Each runs real processes and returns figures;
// benchmarks/run.ts writes them to docs/benchmarks.md.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { Lab, labUnavailable } from '../test/lab/lab.js'
import { createSelfSigned } from '../packages/coordinator/src/security/certificate.js'
import { buildCoordinator } from '../packages/coordinator/src/server/coordinator.js'
import { joinArgs } from '../test/support/join.js'
import type { MatrixConfig } from './matrix-driver.js'
import { agentArgs, allJoined, watchAgent } from './agent-join.js'

const ROOT = path.resolve(import.meta.dirname, '..')

/** Figures of one matrix run, as matrix-driver.ts prints them. */
export interface MatrixFigures {
  agents: number
  checks: number
  dropped: number
  timeoutMs: number | 'auto'
  wallMs: number
  /** Rounds of probing the run took (re-probes of checks whose silence was not yet evidence). */
  rounds: number
  ratio: number | null
  p50LatencyMs: number | null
  p99LatencyMs: number | null
  coordinatorPeakRssMB: number
  coordinatorCpuMs: number
  agentPeakRssMB: number
  agentsCpuMs: number
  wrong: number
  wrongSamples: string[]
  variant: string
}

/** A mesh of `n` hosts over `tcp` and `udp` ports: every (source, target, protocol, port). */
function meshChecks (hosts: Array<{ name: string, address: string }>, tcp: number[], udp: number[]): Array<{ from: typeof hosts[number], to: typeof hosts[number], proto: 'tcp' | 'udp', port: number }> {
  const out: Array<{ from: typeof hosts[number], to: typeof hosts[number], proto: 'tcp' | 'udp', port: number }> = []
  for (const from of hosts) {
    for (const to of hosts) {
      if (from === to) continue
      for (const port of tcp) out.push({ from, to, proto: 'tcp', port })
      for (const port of udp) out.push({ from, to, proto: 'udp', port })
    }
  }
  return out
}

function runDriver (spawnIt: (args: string[]) => { stdout: () => string, stderr: () => string, exited: Promise<number | string> }, config: MatrixConfig, dir: string): Promise<MatrixFigures> {
  const file = path.join(dir, `matrix-${config.agents.length}-${String(config.timeout)}.json`)
  writeFileSync(file, JSON.stringify(config))
  const proc = spawnIt(['--import', 'tsx', path.join(ROOT, 'benchmarks/matrix-driver.ts'), file])
  return proc.exited.then((code) => {
    if (code !== 0) throw new Error(`matrix driver exited ${code}: ${proc.stderr()}`)
    return JSON.parse(proc.stdout().trim().split('\n').at(-1) as string) as MatrixFigures
  })
}

/**
 * Scenario 1: N agent processes bound to their own addresses in one network namespace, a mesh
 * over TCP and UDP ports, every fifth check silently dropped by nftables. Without root: loopback
 * addresses and no drops.
 */
export async function matrixRun (n: number, tcp: number[], udp: number[], timeout: number | 'auto'): Promise<MatrixFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-bench-'))
  try {
    if (labUnavailable() !== null) {
      const agents = Array.from({ length: n }, (_, i) => ({ name: `a${i}`, address: `127.77.${Math.floor(i / 200)}.${(i % 200) + 10}` }))
      const figures = await runDriver((args) => local(args), { agents, coordinator: '127.0.0.1', tcp, udp, timeout, dropped: [] }, dir)
      return { ...figures, variant: 'loopback, no drops (no root)' }
    }
    const lab = await Lab.create()
    try {
      await lab.addHost('bench', '198.18.0.1')
      const agents = Array.from({ length: n }, (_, i) => ({ name: `a${i}`, address: `198.18.${1 + Math.floor(i / 250)}.${(i % 250) + 1}` }))
      for (const a of agents) await lab.addAddress('bench', a.address)
      const checks = meshChecks(agents, tcp, udp)
      const drops = checks.filter((_, i) => i % 5 === 0)
      const elements = drops.map((c) => `${c.from.address} . ${c.to.address} . ${c.proto} . ${c.port}`).join(',\n      ')
      await lab.nft('bench', `table inet bench {
  set drops {
    type ipv4_addr . ipv4_addr . inet_proto . inet_service
    elements = { ${elements} }
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr . ip daddr . meta l4proto . th dport @drops drop
  }
}
`)
      const dropped = drops.map((c) => `${c.from.name}>${c.to.name} ${c.proto}/${c.port}`)
      const figures = await runDriver((args) => lab.spawn('bench', process.execPath, args), { agents, coordinator: '198.18.0.1', tcp, udp, timeout, dropped }, dir)
      return { ...figures, variant: 'one network namespace, 20% dropped by nftables' }
    } finally {
      await lab.destroy()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function local (args: string[]): { stdout: () => string, stderr: () => string, exited: Promise<number | string> } {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  return { stdout: () => out, stderr: () => err, exited: new Promise((resolve) => child.on('close', (code, sig) => resolve(code ?? sig ?? 'unknown'))) }
}

/** Scenario 2: the coordinator at scale, with simulated agents (benchmarks/coordinator-scale.js). */
export async function coordinatorScale (agents: number): Promise<Record<string, number>> {
  const proc = local(['--max-old-space-size=4096', path.join(ROOT, 'benchmarks/coordinator-scale.js'), String(agents)])
  const code = await proc.exited
  if (code !== 0) throw new Error(`coordinator-scale exited ${code}: ${proc.stderr()}`)
  return JSON.parse(proc.stdout()) as Record<string, number>
}

function dirSize (dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) total += dirSize(p)
    else if (entry.isFile()) total += statSync(p).size
  }
  return total
}

function countPackages (nodeModules: string): number {
  let n = 0
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const p = path.join(nodeModules, entry.name)
    if (entry.name.startsWith('@')) n += countPackages(p)
    else if (existsSync(path.join(p, 'package.json'))) {
      n++
      if (existsSync(path.join(p, 'node_modules'))) n += countPackages(path.join(p, 'node_modules'))
    }
  }
  return n
}

/**
 * Scenario 3: the agent as an operator installs it: from its `npm pack` tarball, production
 * dependencies only. Installed size and packages, time from process start to registered, idle RSS.
 */
export async function agentFootprint (): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-agent-install-'))
  try {
    const packOut = execFileSync('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: path.join(ROOT, 'packages/agent'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const tarball = path.join(dir, (JSON.parse(packOut) as Array<{ filename: string }>)[0]?.filename ?? '')
    const app = path.join(dir, 'app')
    execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'ignore' })
    execFileSync('mkdir', ['-p', app])
    execFileSync('npm', ['init', '-y'], { cwd: app, stdio: 'ignore' })
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'ignore' })
    const nodeModules = path.join(app, 'node_modules')
    const installedBytes = dirSize(nodeModules)
    const packages = countPackages(nodeModules)

    const catalog = { id: 'x', title: 'x', roles: { r: { title: 'r' } }, flows: [{ id: 'X', from: 'r', to: 'r', tcp: [9], purpose: 'x' }] }
    // TLS, as a coordinator serves by default: the agent checks the pin before it says hello.
    const c = await buildCoordinator({ catalog: { catalog, file: '<bench>', builtin: false }, hosts: [{ name: 'footprint', address: '127.0.0.1', roles: ['r'] }], settings: {}, token: 'bench-token', logger: pino({ level: 'silent' }), requireAuth: false, tls: await createSelfSigned(['127.0.0.1']) })
    await c.listen({ host: '127.0.0.1', port: 0 })
    const registerMs: number[] = []
    let idleRssMB = 0
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        const agent = watchAgent('footprint', spawn(process.execPath, [path.join(nodeModules, 'portcheck-agent/bin/portcheck-agent.js'), ...agentArgs(c, 'footprint'), '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] }))
        try {
          await allJoined(c, [agent], 30_000)
        } catch (err) {
          agent.child.kill('SIGTERM')
          throw err
        }
        registerMs.push(performance.now() - t0)
        if (i === 0) {
          await new Promise((resolve) => setTimeout(resolve, 3000))
          const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${agent.child.pid as number}/status`, 'utf8'))
          idleRssMB = Number(m?.[1] ?? 0) / 1024
        }
        // The next agent must not be taken for this one: wait until the coordinator saw it leave.
        const left = once(c.hub, 'left')
        agent.child.kill('SIGTERM')
        await Promise.all([left, agent.exited])
      }
    } finally {
      await c.close()
    }
    registerMs.sort((a, b) => a - b)
    return {
      tarball: path.basename(tarball),
      tarballKB: Math.round(statSync(tarball).size / 1024),
      installedMB: Math.round(installedBytes / 1048576 * 100) / 100,
      packages,
      registerMsMedian: Math.round(registerMs[2] as number),
      registerMsMax: Math.round(registerMs[4] as number),
      idleRssMB: Math.round(idleRssMB * 10) / 10
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** What one tool said about one check, against the truth. */
interface ToolFigures { tool: string, wallMs: number, checks: number, wrong: number, undecided: number, note: string }

/**
 * Scenario 4: the same lab (one namespace per host, 20% of checks dropped by nftables at the
 * target), checked by portcheck, by a loop of `nc -z -w T` from every source host, and by nmap
 * from every source host in parallel.
 */
export async function sideBySide (n: number, tcp: number[], udp: number[], timeoutMs: number): Promise<ToolFigures[] | string> {
  const why = labUnavailable()
  if (why !== null) return why
  for (const [cmd, pkg] of [['nc', 'netcat-openbsd'], ['nmap', 'nmap']] as const) {
    try { execFileSync('which', [cmd], { stdio: 'ignore' }) } catch { return `\`${cmd}\` is not installed (Debian package ${pkg})` }
  }
  const hosts = Array.from({ length: n }, (_, i) => ({ name: `h${i}`, address: `198.18.2.${i + 1}` }))
  const checks = meshChecks(hosts, tcp, udp)
  const dropKeys = new Set(checks.filter((_, i) => i % 5 === 0).map((c) => `${c.from.name}>${c.to.name} ${c.proto}/${c.port}`))
  const lab = await Lab.create()
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-sbs-'))
  const results: ToolFigures[] = []
  try {
    await lab.addHost('coord', '198.18.0.1')
    for (const h of hosts) await lab.addHost(h.name, h.address)
    for (const h of hosts) {
      const mine = checks.filter((c, i) => c.to === h && i % 5 === 0)
      if (mine.length === 0) continue
      await lab.nft(h.name, `table inet bench {
  set drops {
    type ipv4_addr . inet_proto . inet_service
    elements = { ${mine.map((c) => `${c.from.address} . ${c.proto} . ${c.port}`).join(', ')} }
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr . meta l4proto . th dport @drops drop
  }
}
`)
    }

    // portcheck: the real CLI and agents.
    const inventory = path.join(dir, 'inventory.yaml')
    const catalogFile = path.join(dir, 'catalog.yaml')
    writeFileSync(catalogFile, `id: sbs\ntitle: Side by side\nroles:\n  node: { title: Nodes }\nflows:\n  - { id: S-01, from: node, to: node, tcp: [${tcp.join(', ')}], udp: [${udp.join(', ')}], purpose: mesh }\n`)
    writeFileSync(inventory, `catalog: ${catalogFile}\nhosts:\n${hosts.map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [node] }`).join('\n')}\n`)
    const reportFile = path.join(dir, 'report.json')
    // As an operator runs it: TLS by default (key and token made in its state directory), and on
    // each node the agent arguments of the join command the coordinator printed for it.
    const coord = lab.spawn('coord', process.execPath, [path.join(ROOT, 'packages/coordinator/bin/portcheck.js'), 'run', '-i', inventory, '--listen', '198.18.0.1:7070', '--state-dir', path.join(dir, 'state'), '--wait', '60', '--timeout', String(timeoutMs), '--format', 'json', '--output', reportFile, '--log-level', 'error'])
    await coord.waitFor(/Waiting up to/)
    const agents = hosts.map((h) => lab.spawn(h.name, process.execPath, [path.join(ROOT, 'packages/agent/bin/portcheck-agent.js'), ...joinArgs(coord.stderr(), h.name), '--log-level', 'error']))
    // An agent that stops before the run is over was refused or crashed: the run would measure nobody.
    const early = await Promise.race([coord.exited.then(() => null), ...agents.map(async (a, i) => await a.exited.then((code) => ({ i, code })))])
    if (early !== null) {
      coord.child.kill('SIGTERM')
      const a = agents[early.i] as typeof agents[number]
      throw new Error(`side by side: the agent of ${hosts[early.i]?.name ?? '?'} exited (${early.code}) before the run ended; nothing was measured\n${a.stderr().trim().split('\n').slice(-3).join('\n')}`)
    }
    if (!existsSync(reportFile)) throw new Error(`side by side: portcheck run exited ${await coord.exited} without a report; nothing was measured\n${coord.stderr().trim().split('\n').slice(-5).join('\n')}`)
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { durationMs: number, agents: { missing: string[] }, checks: Array<{ from: string, to: string, protocol: string, port: number, status: string, reason: string | null }> }
    if (report.agents.missing.length > 0) throw new Error(`side by side: agents never joined portcheck run: ${report.agents.missing.join(', ')}; nothing was measured`)
    if (report.checks.length !== checks.length) throw new Error(`side by side: portcheck run made ${report.checks.length} checks, not the ${checks.length} of the mesh`)
    let wrong = 0
    let undecided = 0
    for (const c of report.checks) {
      const dropped = dropKeys.has(`${c.from}>${c.to} ${c.protocol}/${c.port}`)
      if (c.status === 'inconclusive') undecided++
      else if ((c.status === 'pass') === dropped || (dropped && c.reason !== 'timeout')) wrong++
    }
    results.push({ tool: `portcheck run --timeout ${timeoutMs}`, wallMs: report.durationMs, checks: report.checks.length, wrong, undecided, note: 'run time after every agent joined; the nonce proves each pass' })
    for (const a of agents) a.child.kill('SIGTERM')
    await Promise.all(agents.map((a) => a.exited))

    // A listener on every port of every host for the tools that cannot bring their own.
    const specs = [...tcp.map((p) => `tcp:${p}`), ...udp.map((p) => `udp:${p}`)]
    const holders = hosts.map((h) => lab.spawn(h.name, process.execPath, [path.join(ROOT, 'test/lab/port-holder.js'), ...specs]))
    await Promise.all(holders.map((h) => h.waitFor(/ready/)))

    // nc: what operators do by hand, one check after the other from each source, sources in parallel.
    const T = Math.max(1, Math.round(timeoutMs / 1000))
    const ncStart = performance.now()
    const ncOut = await Promise.all(hosts.map((h) => {
      const script = checks.filter((c) => c.from === h).map((c) => `if nc -z ${c.proto === 'udp' ? '-u ' : ''}-w ${T} ${c.to.address} ${c.port} 2>/dev/null; then echo "${c.to.name} ${c.proto}/${c.port} open"; else echo "${c.to.name} ${c.proto}/${c.port} closed"; fi`).join('\n')
      return lab.exec(h.name, 'sh', ['-c', script]).then((out) => ({ h, out }))
    }))
    const ncMs = performance.now() - ncStart
    let ncWrong = 0
    for (const { h, out } of ncOut) {
      for (const line of out.trim().split('\n')) {
        const [to, pp, verdict] = line.split(' ')
        const dropped = dropKeys.has(`${h.name}>${to ?? ''} ${pp ?? ''}`)
        if ((verdict === 'open') === dropped) ncWrong++
      }
    }
    results.push({ tool: `nc -z -w ${T} loop per source`, wallMs: Math.round(ncMs), checks: checks.length, wrong: ncWrong, undecided: 0, note: 'UDP "open" means only that no ICMP error came back: a dropped UDP port looks open' })

    // nmap: every source scans every target's ports, sources in parallel.
    const nmapStart = performance.now()
    const nmapOut = await Promise.all(hosts.map((h) => {
      const targets = hosts.filter((x) => x !== h).map((x) => x.address)
      return lab.exec(h.name, 'nmap', ['-n', '-Pn', '-sS', '-sU', '-p', `T:${tcp.join(',')},U:${udp.join(',')}`, '--max-retries', '1', '-oG', '-', ...targets]).then((out) => ({ h, out }))
    }))
    const nmapMs = performance.now() - nmapStart
    let nmapWrong = 0
    let nmapUndecided = 0
    const byAddress = new Map(hosts.map((x) => [x.address, x.name]))
    for (const { h, out } of nmapOut) {
      for (const line of out.split('\n')) {
        const m = /^Host: (\S+) .*Ports: (.*)$/.exec(line)
        if (m === null) continue
        const to = byAddress.get(m[1] as string) ?? ''
        for (const entry of (m[2] as string).split(',')) {
          const [portText, state, proto] = entry.trim().split('/')
          const dropped = dropKeys.has(`${h.name}>${to} ${proto ?? ''}/${portText ?? ''}`)
          if (state === 'open|filtered') nmapUndecided++
          else if ((state === 'open') === dropped) nmapWrong++
        }
      }
    }
    results.push({ tool: 'nmap -sS -sU --max-retries 1, per source', wallMs: Math.round(nmapMs), checks: checks.length, wrong: nmapWrong, undecided: nmapUndecided, note: 'UDP without an answer is "open|filtered": neither open nor blocked' })
    return results
  } finally {
    await lab.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
