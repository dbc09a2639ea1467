/**
 * The smallest lab run: a client host and a server host of a one-flow catalog, a coordinator in
 * a third namespace, the real CLI and real agents (each started with the join command the
 * coordinator printed for it). Used by the lab tests that stage one condition on one target.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import type { CheckReport, RunReport } from '../../packages/coordinator/src/report/report.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { joinArgs } from '../support/join.js'
import { Lab, type LabProcess } from './lab.js'

/** Where the three hosts are, and what the catalog's one flow (client → server) checks. */
export interface TwoHosts {
  coord: string
  src: string
  dst: string
  token: string
  /** The catalog's ports. */
  tcp: number[]
  udp: number[]
}

/**
 * A lab of the three hosts (`coord`, the client `src`, the server `dst`) and a temporary
 * directory, both removed when the test ends, whatever happens; null when the namespace lab
 * cannot run here (the test is then skipped, or fails under PORTCHECK_REQUIRE_LAB).
 */
export async function twoHostsLab (t: Test, h: TwoHosts): Promise<{ lab: Lab, dir: string } | null> {
  if (!labReady(t)) return null
  const { lab, dir } = await Lab.forTest(t, 'portcheck-two-hosts-', 24)
  await lab.addHost('coord', h.coord)
  await lab.addHost('src', h.src)
  await lab.addHost('dst', h.dst)
  return { lab, dir }
}

/** What one run gave: the CLI's exit code, its JSON report, each check by `protocol/port`, the agents (still running). */
export interface TwoHostsRun {
  /** Its exit code, or the signal that ended it. */
  code: number | string
  report: RunReport
  by: Map<string, CheckReport>
  agents: LabProcess[]
}

/**
 * One `portcheck run` (fixed 1000 ms timeout, JSON report) with both agents joined; files go
 * to `dir`, named after `label` (one directory may hold several runs).
 */
export async function runTwoHosts (lab: Lab, dir: string, h: TwoHosts, label = 'run'): Promise<TwoHostsRun> {
  const ports = [...(h.tcp.length > 0 ? [`tcp: [${h.tcp.join(', ')}]`] : []), ...(h.udp.length > 0 ? [`udp: [${h.udp.join(', ')}]`] : [])].join(', ')
  writeFileSync(path.join(dir, 'catalog.yaml'), `id: two-hosts\ntitle: Two hosts\nroles:\n  client: { title: Client }\n  server: { title: Server }\nflows:\n  - { id: TH-01, from: client, to: server, ${ports}, purpose: client to server }\n`)
  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ./catalog.yaml\nhosts:\n  - { name: src, address: "${h.src}", roles: [client] }\n  - { name: dst, address: "${h.dst}", roles: [server] }\n`)
  const reportFile = path.join(dir, `report-${label}.json`)
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--listen', `${h.coord}:7070`,
    '--token', h.token, '--state-dir', path.join(dir, `state-${label}`), '--wait', '10', '--timeout', '1000', '--format', 'json', '--output', reportFile, '--log-format', 'json'])
  await coordinator.waitFor(/Waiting up to/)
  const agents = ['src', 'dst'].map((name) => lab.spawn(name, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), name), '--log-format', 'json']))
  const code = await coordinator.exited
  let report: RunReport
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
  } catch (err) {
    throw new Error(`${label}: no report (exit ${String(code)}): ${(err as Error).message}\n${coordinator.stderr()}`)
  }
  return { code, report, by: new Map(report.checks.map((c) => [`${c.protocol}/${c.port}`, c])), agents }
}
