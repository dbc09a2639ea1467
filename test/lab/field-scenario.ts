/**
 * A field-lab scenario: N hosts in their own namespaces on one bridge, a coordinator in another
 * (198.18.0.1), a mesh of TCP and UDP ports between the hosts, every fifth check dropped by the
 * target's nftables, and field conditions on top: random loss on what every host sends, delay
 * between the hosts (not toward the coordinator). Real agents, a real coordinator
 * (test/lab/field-driver.ts), `runs` runs in a row; returns what each run gave.
 * Used by test/lab/field.test.ts and by `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FieldConfig, FieldRun } from './field-driver.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { AGENT_BIN } from './guard.js'
import { Lab, redirectRules } from './lab.js'

export const FIELD_COORDINATOR = '198.18.0.1'

/** What to stage. */
export interface FieldScenario {
  hosts: number
  tcp: number[]
  udp: number[]
  timeout: number | 'auto'
  runs: number
  /** Loss of what every host (and the coordinator) sends, per mille. Default 0. */
  lossPermille?: number
  /** Spare the control channel: no loss between the coordinator and the hosts. Default false. */
  cleanControl?: boolean
  /** One-way delay between hosts, in ms (each host delays what it sends to the others by this). Default 0. */
  delayMs?: number
  /**
   * One-way delay between hosts that begins only after the agents joined and the first run
   * ended (the latency rises under a coordinator that already knows the agents), in ms.
   */
  delayAfterFirstRunMs?: number
  /** Drop every n-th check of the mesh at its target (default 5; 0: none). */
  dropEvery?: number
  /**
   * A silent interceptor on the first host: its first TCP port is redirected to a process that
   * accepts, reads and never answers nor closes. Those checks must come out `blocked intercepted`.
   */
  silentInterceptor?: boolean
}

export interface FieldOutcome {
  runs: FieldRun[]
  checks: number
  dropped: number
}

/** The mesh's checks in plan order: `from>to proto/port`. */
function meshKeys (names: string[], tcp: number[], udp: number[]): Array<{ key: string, from: number, to: number, proto: 'tcp' | 'udp', port: number }> {
  const out: Array<{ key: string, from: number, to: number, proto: 'tcp' | 'udp', port: number }> = []
  names.forEach((from, i) => names.forEach((to, j) => {
    if (i === j) return
    for (const port of tcp) out.push({ key: `${from}>${to} tcp/${port}`, from: i, to: j, proto: 'tcp', port })
    for (const port of udp) out.push({ key: `${from}>${to} udp/${port}`, from: i, to: j, proto: 'udp', port })
  }))
  return out
}

export async function runFieldScenario (s: FieldScenario, log: (line: string) => void = () => {}): Promise<FieldOutcome> {
  const lab = await Lab.create()
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-field-'))
  try {
    await lab.addHost('coord', FIELD_COORDINATOR)
    const hosts = Array.from({ length: s.hosts }, (_, i) => ({ name: `n${i + 1}`, address: `198.18.1.${i + 1}` }))
    for (const h of hosts) await lab.addHost(h.name, h.address)

    const checks = meshKeys(hosts.map((h) => h.name), s.tcp, s.udp)
    const every = s.dropEvery ?? 5
    const drops = every > 0 ? checks.filter((_, i) => i % every === 0) : []
    const expected: Record<string, string> = {}
    for (const d of drops) expected[d.key] = 'blocked timeout'
    for (const [j, h] of hosts.entries()) {
      const mine = drops.filter((d) => d.to === j)
      if (mine.length === 0) continue
      const elements = mine.map((d) => `${(hosts[d.from] as { address: string }).address} . ${d.proto} . ${d.port}`).join(',\n      ')
      await lab.nft(h.name, `table inet field {\n  set drops {\n    type ipv4_addr . inet_proto . inet_service\n    elements = { ${elements} }\n  }\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr . meta l4proto . th dport @drops drop\n  }\n}\n`)
    }
    if (s.silentInterceptor === true && s.tcp.length > 0) {
      const first = hosts[0] as { name: string }
      await lab.nft(first.name, redirectRules(`    tcp dport ${s.tcp[0] as number} redirect to :19001`))
      await lab.spawn(first.name, process.execPath, ['test/lab/port-holder.js', 'tcp-silent:19001']).waitFor(/ready/)
      for (const c of checks) if (c.to === 0 && c.proto === 'tcp' && c.port === s.tcp[0]) expected[c.key] = 'blocked intercepted'
    }
    if ((s.lossPermille ?? 0) > 0) {
      const spare = s.cleanControl === true
      if (!spare) await lab.setLoss('coord', s.lossPermille as number)
      for (const h of hosts) await lab.setLoss(h.name, s.lossPermille as number, spare ? { except: [FIELD_COORDINATOR] } : {})
    }
    if ((s.delayMs ?? 0) > 0) {
      for (const h of hosts) await lab.setDelay(h.name, s.delayMs as number, { to: hosts.filter((o) => o !== h).map((o) => o.address) })
    }

    const later = s.delayAfterFirstRunMs ?? 0
    const config: FieldConfig = { hosts, coordinator: FIELD_COORDINATOR, tcp: s.tcp, udp: s.udp, timeout: s.timeout, runs: s.runs, expected, ...(later > 0 ? { pauseAfterRun: 1 } : {}) }
    const file = path.join(dir, 'config.json')
    writeFileSync(file, JSON.stringify(config))
    const driver = lab.spawn('coord', process.execPath, ['--import', 'tsx', 'test/lab/field-driver.ts', file])
    await driver.waitFor(/listening/, 60_000)
    const agents = hosts.map((h) =>
      lab.spawn(h.name, process.execPath, [...(process.env.PORTCHECK_PROFILE_AGENT !== undefined && h === hosts[0] ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PORTCHECK_PROFILE_AGENT}`] : []), AGENT_BIN, '--coordinator', `ws://${FIELD_COORDINATOR}:7070`, '--insecure', '--token', agentCredential('field-token', h.name), '--name', h.name, '--log-level', 'warn', '--log-format', 'json']))
    if (later > 0) {
      await driver.waitFor(/^paused$/m, 10 * 60_000)
      for (const h of hosts) await lab.setDelay(h.name, later, { to: hosts.filter((o) => o !== h).map((o) => o.address) })
      writeFileSync(`${file}.go`, '')
    }
    const code = await driver.exited
    if (code !== 0) throw new Error(`field driver exited ${code}\n${driver.stderr()}`)
    if (process.env.FIELD_DEBUG === '1') log(driver.stderr())
    if (process.env.FIELD_DEBUG === '1') {
      const { readFileSync } = await import('node:fs')
      const cpu = agents.map((a) => { try { const f = readFileSync(`/proc/${a.child.pid as number}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []; return (Number(f[11]) + Number(f[12])) * 10 } catch { return -1 } })
      log(`agent cpu ms (the ip-netns-exec wrapper's children): ${cpu.join(' ')}`)
    }
    // Agents stop as an operator stops them (SIGTERM), so that they close cleanly (and write profiles).
    for (const a of agents) a.child.kill('SIGTERM')
    await Promise.all(agents.map(async (a) => await a.exited))
    const runs = driver.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as FieldRun)
    for (const r of runs) log(`run ${r.run}: ${r.wallMs} ms, ${r.falseBlocked} false blocked, ${r.inconclusive} inconclusive, ${r.trueBlocked}/${r.staged} drops blocked${r.samples.length > 0 ? `\n  ${r.samples.join('\n  ')}` : ''}`)
    // When a run went wrong, what the coordinator and the agents warned about says why.
    if (runs.some((r) => r.samples.length > 0) && process.env.FIELD_DEBUG !== '1') {
      const warnings = (text: string): string[] => text.split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-20)
      log(`coordinator warnings:\n  ${warnings(driver.stderr()).join('\n  ')}`)
      agents.forEach((a, i) => { const w = warnings(a.stderr()); if (w.length > 0) log(`agent ${hosts[i]?.name ?? i} warnings:\n  ${w.join('\n  ')}`) })
    }
    return { runs, checks: checks.length, dropped: drops.length }
  } finally {
    await lab.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
