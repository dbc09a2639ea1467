import t from 'tap'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { loadCatalog } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { buildPlan } from '../../packages/coordinator/src/plan/expand.js'
import { catalogFlows, expected, row } from './expect-flows.js'

// Oakestra, "Firewall Configuration", written down from the document (and
// /work/shared/catalog-notes.md for the protocols it leaves open: the P2P tunnel is UDP, the
// APIs and the MQTT broker TCP), not from the catalog. The page lists the ports each
// component listens on and who uses them: each is a flow from the user to the component.
// 'api-users' is this test's name for the external CLI / web interface users.

const ROOT = 'root-orchestrator'
const CLUSTER = 'cluster-orchestrator'
const WORKER = 'worker'

const rootOrchestrator = [
  ...row('api-users', ROOT, { tcp: [10000] }, 'external'), // External APIs: 10000, used by the CLI and the Web Interface
  ...row(CLUSTER, ROOT, { tcp: [10099, 10000] }) // Cluster APIs: 10099, 10000, used by each Cluster Orchestrator
]
const clusterOrchestrator = [
  ...row(WORKER, CLUSTER, { tcp: [10003] }), // Worker's Broker: MQTT, used by the workers
  ...row(WORKER, CLUSTER, { tcp: [10100] }) // Worker's APIs: initial cluster handshake, used by the workers
]
// Worker machine: P2P tunnel towards other workers, 50103 unless customized: a worker mesh.
const tunnel = (port: number): string[] => row(WORKER, WORKER, { udp: [port] })

t.test('the catalog expands to exactly the flows of the document', async (t) => {
  t.same(await catalogFlows('oakestra'), expected(rootOrchestrator, clusterOrchestrator, tunnel(50103)))
})

t.test('the tunnel port is a setting: one value for every worker', async (t) => {
  t.same(await catalogFlows('oakestra', { 'worker-tunnel-port': 51000 }), expected(rootOrchestrator, clusterOrchestrator, tunnel(51000)))
})

t.test('the tunnel port is a per-host setting, on UDP only', async (t) => {
  const { catalog } = await loadCatalog('oakestra')
  const settings = Object.entries(catalog.settings ?? {})
  t.equal(settings.length, 1)
  const [name, def] = settings[0] ?? ['', undefined]
  t.same(def !== undefined ? { type: def.type, default: def.default, scope: def.scope } : null, { type: 'port', default: 50103, scope: 'host' })
  const mesh = catalog.flows.filter((f) => f.from === WORKER && f.to === WORKER)
  t.equal(mesh.length, 1)
  t.same(mesh[0]?.udp, [{ setting: name }])
  t.equal(mesh[0]?.tcp, undefined, 'no TCP on the tunnel port')
  for (const f of catalog.flows) {
    t.match(f.id, /^OAK-/)
    t.match(f.ref, /^Firewall Configuration › (Root Orchestrator|Cluster Orchestrator|Worker machine) › /)
  }
  t.equal(new Set(catalog.flows.map((f) => f.id)).size, catalog.flows.length, 'ids are unique')
})

t.test('the example inventory plans, with one worker on its own tunnel port', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/oakestra.yaml' })
  t.equal(catalog.catalog.id, 'oakestra')
  const hosts = inventory.inventory.hosts
  for (const h of hosts) t.match(h.address, /^198\.1[89]\./, `${h.name} has a documentation address`)
  const names = (role: string): string[] => hosts.filter((h) => h.roles.includes(role)).map((h) => h.name)
  t.equal(names(ROOT).length, 1)
  t.equal(names(CLUSTER).length, 1)
  t.equal(names(WORKER).length, 3)

  // The example gives exactly one worker a non-default tunnel port.
  const custom = hosts.filter((h) => h.settings?.['worker-tunnel-port'] !== undefined)
  t.equal(custom.length, 1)
  const special = custom[0]?.name ?? ''
  const port = Number(custom[0]?.settings?.['worker-tunnel-port'])
  t.not(port, 50103)

  const plan = buildPlan({ catalog: catalog.catalog, hosts, settings: inventory.settings })
  const tunnelChecks = plan.checks.filter((c) => c.fromRole === WORKER && c.toRole === WORKER)
  t.equal(tunnelChecks.length, 6, 'three workers: six ordered pairs')
  t.ok(tunnelChecks.every((c) => c.protocol === 'udp' && c.skip === null && c.required))
  const toSpecial = tunnelChecks.filter((c) => c.to === special)
  t.equal(toSpecial.length, 2)
  t.ok(toSpecial.every((c) => c.port === port), `checks toward ${special} use its port ${port}`)
  t.ok(tunnelChecks.filter((c) => c.to !== special).every((c) => c.port === 50103), 'the other workers are checked on 50103')
  t.ok(tunnelChecks.filter((c) => c.from === special).every((c) => c.port === 50103), `${special} is checked toward the others on their port, not its own`)

  const [root] = names(ROOT)
  const [cluster] = names(CLUSTER)
  const tested = plan.checks.filter((c) => c.skip === null).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort()
  t.same(tested, [
    `${cluster ?? ''}>${root ?? ''} tcp/10000`,
    `${cluster ?? ''}>${root ?? ''} tcp/10099`,
    ...names(WORKER).flatMap((w) => [`${w}>${cluster ?? ''} tcp/10003`, `${w}>${cluster ?? ''} tcp/10100`]),
    ...names(WORKER).flatMap((a) => names(WORKER).filter((b) => b !== a).map((b) => `${a}>${b} udp/${b === special ? port : 50103}`))
  ].sort(), 'exactly the documented flows between the five hosts are tested')
  t.same(plan.checks.filter((c) => c.skip !== null).map((c) => `${c.fromRole}>${c.to ?? ''} ${c.protocol}/${c.port} ${c.skip ?? ''}`),
    [`api-users>${root ?? ''} tcp/10000 external`], 'the CLI / web interface flow is reported as skipped')
})
