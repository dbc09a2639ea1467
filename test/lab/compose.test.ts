import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { labReady } from './guard.js'
import { Lab } from './lab.js'

interface Service { command: string[], networks: { cluster: { ipv4_address: string } } }

// No Docker engine runs on the test machines: the topology of docker-compose.yml is run here
// instead, one network namespace per service with the service's own address and command.
t.test('docker-compose.yml: its topology runs green in the namespace lab', async (t) => {
  if (!labReady(t)) return
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> }
  const services = Object.entries(compose.services)
  t.same(services.map(([name]) => name), ['coordinator', 'lb1', 'app1', 'app2', 'db1', 'db2'])
  const inventory = parse(readFileSync('examples/compose/inventory.yaml', 'utf8')) as { hosts: Array<{ name: string, address: string }> }
  for (const h of inventory.hosts) t.equal(compose.services[h.name]?.networks.cluster.ipv4_address, h.address, `${h.name}: the inventory address is the container's`)

  const { lab, dir } = await Lab.forTest(t, 'portcheck-compose-')
  for (const [name, s] of services) await lab.addHost(name, s.networks.cluster.ipv4_address)

  // The coordinator's command as written, but ending after the report (no dashboard) and writing it as JSON.
  const reportFile = path.join(dir, 'report.json')
  const coordinatorCmd = (compose.services.coordinator as Service).command.filter((a) => a !== '--dashboard')
  const coordinator = lab.spawn('coordinator', coordinatorCmd[0] as string, [...coordinatorCmd.slice(1), '--format', 'json', '--output', reportFile, '--log-level', 'warn'])
  await coordinator.waitFor(/Waiting up to/)
  for (const [name, s] of services) {
    if (name !== 'coordinator') lab.spawn(name, s.command[0] as string, [...s.command.slice(1), '--log-level', 'warn'])
  }
  t.equal(await coordinator.exited, 0, 'every required flow passes')
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
  t.match(report, { agents: { expected: 5, joined: 5 }, summary: { checks: 19, pass: 18, skipped: 1 } })
  await lab.destroy()
  t.same(lab.remainingNamespaces(), [], 'no namespace left behind')
})
