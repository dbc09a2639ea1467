// The ssh-launch scenario of `npm run bench`: 50 hosts, one network namespace each with its own
// sshd, and `portcheck run --launch ssh` in another namespace starting every agent over SSH,
// checking a mesh, and stopping them again. Times come from the coordinator's own JSON log.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { RunReport } from '../packages/coordinator/src/report/report.js'
import os from 'node:os'
import path from 'node:path'
import { Lab } from '../test/lab/lab.js'
import { SshLab, sshUnavailable } from '../test/lab/sshd.js'
import { labUnavailable } from '../test/lab/lab.js'

const CLI = 'packages/coordinator/bin/portcheck.js'
const COORD = '198.19.40.1'

/** What one launch of every host measured, in ms. */
export interface LaunchFigures {
  hosts: number
  concurrency: number
  /** From the coordinator's start to listening. */
  startMs: number
  /** From listening to the last agent joined. */
  joinedMs: number
  /** Per host, from its ssh starting to its agent joining: median and max. */
  hostMedianMs: number
  hostMaxMs: number
  /** From the command's start to its report: the whole `portcheck run --launch ssh`. */
  verdictMs: number
  /** The machine's 1-minute load average when the launch began (the benchmark machine is shared). */
  load: number
  /** From every agent joined to the report (the run itself: a mesh). */
  runMs: number
  checks: number
  pass: number
  /** From the report to the coordinator's exit: every agent stopped and its files removed, confirmed by each host. */
  cleanupMs: number
  /** Checks by status and reason (`pass -`, `blocked timeout`, …). */
  outcomes: Record<string, number>
  /** Processes and files found on the hosts after the coordinator exited. */
  leftovers: number
  exitCode: number | string
}

interface LogLine { time: number, msg: string, host?: string, agent?: string, checks?: number, pass?: number }

/**
 * Gives every host a permanent neighbour entry for every other. Linux keeps the ARP entries of
 * all network namespaces in one table, 1,024 entries at most by default (gc_thresh3): 50 hosts
 * resolving their 49 peers at once overflow it, and the probes then vanish, as they would not on
 * 50 real machines. Permanent entries are outside that limit.
 */
async function staticNeighbours (lab: Lab, names: string[]): Promise<void> {
  const macs = await Promise.all(names.map(async (n) => (await lab.exec(n, 'cat', ['/sys/class/net/eth0/address'])).trim()))
  names.forEach((name, i) => {
    const batch = names.flatMap((_, j) => j === i ? [] : [`neigh replace ${lab.host(names[j] as string).address} lladdr ${macs[j] ?? ''} dev eth0 nud permanent`]).join('\n') + '\n'
    const r = spawnSync('ip', ['-n', lab.host(name).ns, '-batch', '-'], { input: batch })
    if (r.status !== 0) throw new Error(`ip neigh in ${name}: ${String(r.stderr)}`)
  })
}

/** Why the scenario cannot run here, or null. */
export function sshLaunchUnavailable (): string | null {
  return labUnavailable() ?? sshUnavailable()
}

/** Launches `hosts` agents over SSH, `concurrency` at a time, through a full mesh run; returns its figures. */
export async function sshLaunchRun (hosts: number, concurrency: number, log: (s: string) => void, inspect?: (report: RunReport) => void): Promise<LaunchFigures> {
  const lab = await Lab.create()
  const ssh = await SshLab.create(lab)
  try {
    await lab.addHost('coord', COORD)
    const names = Array.from({ length: hosts }, (_, i) => `n${String(i + 1).padStart(2, '0')}`)
    const address = (i: number): string => `198.19.40.${i + 11}`
    for (const [i, name] of names.entries()) await lab.addHost(name, address(i))
    await staticNeighbours(lab, names)
    const user = await ssh.addUser()
    for (const name of names) await ssh.startSshd(name)
    log(`    ${hosts} sshds up`)
    writeFileSync(path.join(ssh.dir, 'catalog.yaml'), 'id: mesh\ntitle: Mesh\nroles:\n  node: { title: Node }\nflows:\n  - { id: M-1, from: node, to: node, tcp: [18080], purpose: mesh }\n')
    const inventory = path.join(ssh.dir, 'inventory.yaml')
    writeFileSync(inventory, `catalog: ./catalog.yaml\nssh: { user: ${user}, identity: ${ssh.clientKey} }\nhosts:\n${names.map((n, i) => `  - { name: ${n}, address: ${address(i)}, roles: [node] }`).join('\n')}\n`)
    const home = path.join(ssh.dir, 'coord-home')
    mkdirSync(home)
    const load = os.loadavg()[0] ?? 0
    const started = Date.now()
    const coordinator = lab.spawn('coord', 'node', [CLI, 'run', '-i', inventory, '--launch', 'ssh', '--launch-concurrency', String(concurrency), '--ssh-config', ssh.sshConfig(),
      '--listen', `${COORD}:7070`, '--state-dir', path.join(ssh.dir, 'state'), '--wait', '300', '--format', 'json', '--output', path.join(ssh.dir, 'report.json'), '--log-format', 'json', '--log-level', 'debug'], { HOME: home, SSH_AUTH_SOCK: '' })
    const exitCode = await coordinator.exited
    const exited = Date.now()
    const lines: LogLine[] = coordinator.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine)
    const at = (msg: string): number => lines.find((l) => l.msg.startsWith(msg))?.time ?? NaN
    const listening = at('Server listening')
    const joinedAt = new Map(lines.filter((l) => l.msg === 'agent joined' && l.agent !== undefined).map((l) => [l.agent as string, l.time]))
    const connectingAt = new Map(lines.filter((l) => l.msg === 'connecting' && l.host !== undefined).map((l) => [l.host as string, l.time]))
    const perHost = names.map((n) => (joinedAt.get(n) ?? NaN) - (connectingAt.get(n) ?? NaN)).sort((a, b) => a - b)
    const finished = lines.find((l) => l.msg === 'run finished')
    const left = await ssh.settledLeftovers(0)
    const outcomes: Record<string, number> = {}
    try {
      const report = JSON.parse(readFileSync(path.join(ssh.dir, 'report.json'), 'utf8')) as RunReport
      inspect?.(report)
      for (const c of report.checks) { const k = `${c.status ?? 'none'} ${c.reason ?? '-'}`; outcomes[k] = (outcomes[k] ?? 0) + 1 }
    } catch { outcomes['no report'] = 1 }
    return {
      hosts,
      concurrency,
      startMs: listening - started,
      joinedMs: Math.max(...joinedAt.values()) - listening,
      hostMedianMs: perHost[Math.floor(perHost.length / 2)] ?? NaN,
      hostMaxMs: perHost.at(-1) ?? NaN,
      runMs: (finished?.time ?? NaN) - Math.max(...joinedAt.values()),
      verdictMs: (finished?.time ?? NaN) - started,
      load,
      checks: finished?.checks ?? 0,
      pass: finished?.pass ?? 0,
      cleanupMs: exited - (finished?.time ?? NaN),
      outcomes,
      leftovers: Object.values(left).reduce((n, l) => n + l.processes.length + l.files.length, 0),
      exitCode
    }
  } finally {
    await ssh.destroy()
    await lab.destroy()
  }
}
