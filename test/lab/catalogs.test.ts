import { readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { joinArgs } from '../support/join.js'
import { Lab } from './lab.js'

const COORD = '198.18.0.1'
const TOKEN = 'lab-catalog-token'

/** Runs an example inventory for real: one namespace per host, an agent in each, no firewall rule. */
async function runExample (t: Test, example: string): Promise<RunReport> {
  const inventory = parse(readFileSync(example, 'utf8')) as { hosts: Array<{ name: string, address: string }> }
  const { lab, dir } = await Lab.forTest(t, 'portcheck-lab-')
  await lab.addHost('coord', COORD)
  for (const h of inventory.hosts) await lab.addHost(h.name, h.address)
  const reportFile = path.join(dir, 'report.json')
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', example, '--listen', `${COORD}:7070`, '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--wait', '30',
    '--timeout', '2000', '--format', 'json', '--output', reportFile, '--log-format', 'json', '--log-level', 'warn'])
  await coordinator.waitFor(/Waiting up to/)
  for (const h of inventory.hosts) lab.spawn(h.name, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), h.name), '--log-level', 'warn'])
  const code = await coordinator.exited
  t.equal(code, 0, `${example}: exit 0, every required flow open`)
  await lab.destroy()
  t.same(lab.remainingNamespaces(), [], 'no namespace left behind')
  return JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
}

function assertAllProven (t: Test, report: RunReport, tested: number): void {
  const notPassed = report.checks.filter((c) => c.status !== 'pass' && c.status !== 'skipped')
  t.same(notPassed.map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port} ${c.status ?? ''} ${c.reason ?? ''}`), [], 'every tested check passed')
  t.equal(report.summary.pass, tested, `${tested} checks proven by real agents`)
  t.ok(report.checks.filter((c) => c.status === 'skipped').every((c) => c.reason === 'external' || c.reason === 'optional'), 'only external and optional flows skipped')
  t.ok(report.checks.filter((c) => c.status === 'pass').every((c) => c.observedSource === c.fromAddress && c.reason === null), 'each nonce seen from its source, by the agent\'s own listener')
}

t.test('Chef Automate HA example inventory: green in the lab', async (t) => {
  if (!labReady(t)) return
  const report = await runExample(t, 'examples/chef-automate-ha.yaml')
  assertAllProven(t, report, 151)
  const gossip = report.checks.filter((c) => c.port === 9638 && c.status === 'pass')
  t.ok(gossip.some((c) => c.protocol === 'udp') && gossip.some((c) => c.protocol === 'tcp'), 'Habitat gossip proven on both UDP and TCP 9638')
  t.ok(report.checks.some((c) => c.port === 22 && c.status === 'pass'), 'ports below 1024 too (agents run as root)')
})

t.test('Oakestra example inventory: green in the lab, per-worker tunnel port', async (t) => {
  if (!labReady(t)) return
  const report = await runExample(t, 'examples/oakestra.yaml')
  const toWorker3 = report.checks.filter((c) => c.to === 'oak-worker3' && c.fromRole === 'worker')
  t.same(toWorker3.map((c) => `${c.from ?? ''} ${c.protocol}/${c.port} ${c.status ?? ''}`).sort(), ['oak-worker1 udp/50200 pass', 'oak-worker2 udp/50200 pass'], 'worker3 is checked on its own tunnel port')
  assertAllProven(t, report, report.checks.filter((c) => c.status !== 'skipped').length)
  t.ok(report.summary.pass >= 10, `${report.summary.pass} checks proven`)
})
