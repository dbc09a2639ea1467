import t from 'tap'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { loadCatalog } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { buildPlan } from '../../packages/coordinator/src/plan/expand.js'
import { catalogFlows, expected, row } from './expect-flows.js'

// Roboconf, "Security" (user guide 0.6), section "Roboconf Ports", written down from the
// document (and /work/shared/catalog-notes.md: 35197 is TCP; the HTTP row's 8081 means the DM
// web server port, 8181 by default), not from the catalog. The external ends are this test's
// names for the catalog's external roles: 'dm-admins' (DM web console users) and
// 'rabbitmq-admins' (Rabbit MQ management console users).

const DM = 'dm'
const AGENT = 'agent'
const MQ = 'rabbitmq'

// "By default, Roboconf's DM uses the port 8181": the DM web console, in every mode.
const dmWeb = (port: number): string[] => row('dm-admins', DM, { tcp: [port] }, 'external')

// **Rabbit MQ**
const rabbitmq = [
  ...row(DM, MQ, { tcp: [5672] }), // 5672: clients' port, used by the DM ...
  ...row(AGENT, MQ, { tcp: [5672] }), // ... and the agents
  ...row(MQ, MQ, { tcp: [4369, 35197] }) // 4369, 35197: "only used by Rabbit MQ": between Rabbit MQ nodes
]
const managementConsole = (port: 15672 | 55672): string[] => row('rabbitmq-admins', MQ, { tcp: [port] }, 'external') // 15672; 55672 before 3.x

// **HTTP**: the DM web server port; "Agents only have out-going connections to this port".
const http = (port: number): string[] => row(AGENT, DM, { tcp: [port] })

t.test('Rabbit MQ messaging (the default)', async (t) => {
  const want = expected(dmWeb(8181), rabbitmq, managementConsole(15672))
  t.same(await catalogFlows('roboconf'), want)
  t.same(await catalogFlows('roboconf', { messaging: 'rabbitmq' }), want)
})

t.test('Rabbit MQ before 3.x: the management console on 55672', async (t) => {
  t.same(await catalogFlows('roboconf', { messaging: 'rabbitmq', 'rabbitmq-version': '2.8.7' }), expected(dmWeb(8181), rabbitmq, managementConsole(55672)))
  t.same(await catalogFlows('roboconf', { 'rabbitmq-version': '3.0' }), expected(dmWeb(8181), rabbitmq, managementConsole(15672)))
  t.same(await catalogFlows('roboconf', { 'rabbitmq-version': '4.1' }), expected(dmWeb(8181), rabbitmq, managementConsole(15672)))
})

t.test('HTTP messaging: agents to the DM web server, no Rabbit MQ', async (t) => {
  const flows = await catalogFlows('roboconf', { messaging: 'http' })
  t.same(flows, expected(dmWeb(8181), http(8181)))
  t.notOk(flows.some((f) => f.includes(MQ)), 'no Rabbit MQ flow')
  t.notOk(flows.some((f) => f.startsWith(`${DM}>${AGENT} `)), 'the DM opens no connection to the agents')
  t.same(await catalogFlows('roboconf', { messaging: 'http', 'rabbitmq-version': '2.8' }), expected(dmWeb(8181), http(8181)), 'the Rabbit MQ version does not matter')
})

t.test('the DM web port: 8181 by default, the printed 8081 on request', async (t) => {
  t.same(await catalogFlows('roboconf', { messaging: 'http', 'dm-web-port': 8081 }), expected(dmWeb(8081), http(8081)))
  t.same(await catalogFlows('roboconf', { 'dm-web-port': 8081 }), expected(dmWeb(8081), rabbitmq, managementConsole(15672)))
})

t.test('every flow has an RBC- id and a reference', async (t) => {
  const { catalog } = await loadCatalog('roboconf')
  t.equal(new Set(catalog.flows.map((f) => f.id)).size, catalog.flows.length, 'ids are unique')
  for (const f of catalog.flows) {
    t.match(f.id, /^RBC-/)
    t.match(f.ref, /^Roboconf Ports › /)
  }
  t.same(catalog.settings?.messaging?.enum, ['rabbitmq', 'http'])
})

t.test('the example inventory plans', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/roboconf.yaml' })
  t.equal(catalog.catalog.id, 'roboconf')
  const hosts = inventory.inventory.hosts
  for (const h of hosts) t.match(h.address, /^198\.1[89]\./, `${h.name} has a documentation address`)
  const names = (role: string): string[] => hosts.filter((h) => h.roles.includes(role)).map((h) => h.name)
  t.same([names(DM).length, names(MQ).length, names(AGENT).length], [1, 1, 2])
  t.equal(inventory.settings.messaging, 'rabbitmq')
  const [dm] = names(DM)
  const [mq] = names(MQ)
  const tested = (plan: ReturnType<typeof buildPlan>): string[] =>
    plan.checks.filter((c) => c.skip === null).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort()

  // Rabbit MQ messaging: the DM and both agents to Rabbit MQ on 5672; nothing else is tested.
  const plan = buildPlan({ catalog: catalog.catalog, hosts, settings: inventory.settings })
  t.same(tested(plan), [`${dm ?? ''}>${mq ?? ''} tcp/5672`, ...names(AGENT).map((a) => `${a}>${mq ?? ''} tcp/5672`)].sort())
  t.notOk(plan.checks.some((c) => c.port === 4369 || c.port === 35197), 'one Rabbit MQ host: no inter-node check')
  t.same(plan.checks.filter((c) => c.skip === 'external').map((c) => `${c.fromRole}>${c.to ?? ''} tcp/${c.port}`).sort(),
    [`dm-admins>${dm ?? ''} tcp/8181`, `rabbitmq-admins>${mq ?? ''} tcp/15672`], 'the consoles are external, reported as skipped')

  // The same hosts under HTTP messaging: the agents to the DM on its web port.
  const httpPlan = buildPlan({ catalog: catalog.catalog, hosts, settings: { ...inventory.settings, messaging: 'http' } })
  t.same(tested(httpPlan), names(AGENT).map((a) => `${a}>${dm ?? ''} tcp/8181`).sort())

  // A second Rabbit MQ host (a cluster): the nodes reach each other on 4369 and 35197.
  const clustered = [...hosts, { name: 'rbc-mq2', address: '198.18.22.21', roles: [MQ] }]
  const meshChecks = buildPlan({ catalog: catalog.catalog, hosts: clustered, settings: inventory.settings }).checks
    .filter((c) => c.fromRole === MQ && c.toRole === MQ).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port} ${c.skip ?? 'tested'}`).sort()
  t.same(meshChecks, [
    `${mq ?? ''}>rbc-mq2 tcp/35197 tested`, `${mq ?? ''}>rbc-mq2 tcp/4369 tested`,
    `rbc-mq2>${mq ?? ''} tcp/35197 tested`, `rbc-mq2>${mq ?? ''} tcp/4369 tested`
  ].sort(), 'two Rabbit MQ hosts: epmd and Erlang distribution both ways')
})
