import t from 'tap'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { loadCatalog } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { resolveSettings } from '../../packages/coordinator/src/catalog/settings.js'
import { buildPlan, catalogRows } from '../../packages/coordinator/src/plan/expand.js'
import { both, catalogFlows, expected, row } from './expect-flows.js'

// Chef Automate HA, "HA Security and Firewall", written down from the document (and
// /work/shared/catalog-notes.md for its traps), not from the catalog. Each table is traffic
// INCOMING to one group of nodes; each of its sections names the source. "and vice versa" is
// both directions; "X backend nodes to X backend nodes" is a mesh (row(X, X)). TCP/UDP 9638 is
// both protocols. The external ends are this test's names for the catalog's external roles.

const PROV = 'provisioning'
const FE = 'frontend'
const ES = 'elasticsearch'
const PG = 'postgresql'
const CLIENTS = 'clients' // "Users, chef-servers, and chef- clients"
const ADMINS = 'admin-users' // "Admin users"

// ## Network Traffic for Incoming Frontend Nodes
const incomingFrontend = [
  ...row(PROV, FE, { tcp: [22, 9631] }), // Provisioning server to frontend nodes
  ...row(CLIENTS, FE, { tcp: [443] }, 'external'), // Users, chef-servers, and chef- clients to frontend nodes
  ...row(CLIENTS, FE, { tcp: [80] }, 'external') // "TCP 80, optional" (external either way)
]

// ## Network Traffic for Incoming Elastic-search Backend Nodes
const incomingElasticsearch = [
  ...row(PROV, ES, { tcp: [22, 9631] }), // Provisioning server to Elasticsearch backend nodes
  ...row(ADMINS, ES, { tcp: [5601] }, 'external'), // Admin users: "TCP 5601, optional" (Kibana)
  ...row(FE, ES, { tcp: [9200, 9631] }), // Frontend nodes to the Elasticsearch backend nodes
  ...row(ES, ES, { tcp: [9300, 9638, 9631], udp: [9638] }), // Elasticsearch to Elasticsearch: mesh
  // Postgres backends nodes to Elasticsearch backends nodes and vice versa:
  ...row(PG, ES, { tcp: [9200] }), // Metricbeat: only toward Elasticsearch
  ...both(PG, ES, { tcp: [9638, 9631], udp: [9638] })
]

// ## Network Traffic for Incoming PostgreSQL Backend Nodes
const incomingPostgres = [
  ...row(PROV, PG, { tcp: [22, 9631] }), // Provisioning server to Postgres backend nodes
  ...row(FE, PG, { tcp: [7432, 9631] }), // Frontend nodes to Postgres backend nodes
  ...row(PG, PG, { tcp: [5432, 9638, 9631], udp: [9638] }), // Postgres to Postgres: mesh
  ...both(ES, PG, { tcp: [9638, 9631], udp: [9638] }) // Elasticsearch to Postgres and vice versa
]

const document = [...incomingFrontend, ...incomingElasticsearch, ...incomingPostgres]

t.test('the catalog expands to exactly the flows of the document', async (t) => {
  t.same(await catalogFlows('chef-automate-ha'), expected(document))
})

t.test('directions: what the document does not state is absent', async (t) => {
  const flows = await catalogFlows('chef-automate-ha')
  t.notOk(flows.includes(`${ES}>${PG} tcp/9200 required`), 'no 9200 toward PostgreSQL: Metricbeat sends to Elasticsearch')
  t.notOk(flows.some((f) => f.startsWith(`${FE}>${FE} `)), 'nothing between frontend nodes')
  t.same([...new Set(flows.filter((f) => f.includes(`>${FE} `)).map((f) => f.split('>')[0]))].sort(), [CLIENTS, PROV], 'only the provisioning server and the clients reach the frontends')
  t.notOk(flows.some((f) => f.includes(`>${PROV} `)), 'nothing toward the provisioning server')
  t.same(flows.filter((f) => f.includes('/9638 ')).filter((f) => f.startsWith(`${FE}>`) || f.includes(`>${FE} `)), [], 'no Habitat gossip with the frontends')
  t.same(flows.filter((f) => f.includes(' udp/')), expected(row(ES, ES, { udp: [9638] }), row(PG, PG, { udp: [9638] }), both(ES, PG, { udp: [9638] })), 'UDP only for Habitat gossip 9638, among the backends')
})

t.test('the two optional rows are optional flows', async (t) => {
  const { catalog } = await loadCatalog('chef-automate-ha')
  const { values } = resolveSettings(catalog, [])
  const optional = catalogRows(catalog, values).filter((r) => r.optional).map((r) => `${r.fromRole}>${r.toRole} ${r.protocol}/${r.port ?? ''}`).sort()
  t.same(optional, [`${ADMINS}>${ES} tcp/5601`, `${CLIENTS}>${FE} tcp/80`])
})

t.test('every flow has a CHEF- id, a purpose and a reference to its row', async (t) => {
  const { catalog } = await loadCatalog('chef-automate-ha')
  const ids = catalog.flows.map((f) => f.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  for (const f of catalog.flows) {
    t.match(f.id, /^CHEF-/)
    t.ok(f.purpose.length > 0)
    t.match(f.ref, /^Network Traffic for Incoming (Frontend|Elastic-search Backend|PostgreSQL Backend) Nodes › .+ › (TCP|TCP\/UDP) \d+/, `${f.id} cites table, section and row`)
  }
  t.equal(Object.keys(catalog.settings ?? {}).length, 0, 'the document states no condition')
})

t.test('the example inventory plans', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/chef-automate-ha.yaml' })
  t.equal(catalog.catalog.id, 'chef-automate-ha')
  const hosts = inventory.inventory.hosts
  for (const h of hosts) t.match(h.address, /^198\.1[89]\./, `${h.name} has a documentation address`)
  const count = (role: string): number => hosts.filter((h) => h.roles.includes(role)).length
  t.same([count(PROV), count(FE), count(ES), count(PG)], [1, 2, 3, 3])

  const plan = buildPlan({ catalog: catalog.catalog, hosts, settings: inventory.settings })

  // The document's flows between agents, expanded over the hosts by hand.
  const hostsOf = (role: string): string[] => hosts.filter((h) => h.roles.includes(role)).map((h) => h.name)
  const want = new Set<string>()
  for (const line of expected(document)) {
    const m = /^(\S+)>(\S+) (tcp|udp)\/(\d+) (\S+)$/.exec(line)
    if (m === null || m[5] === 'external') continue
    for (const a of hostsOf(m[1] as string)) for (const b of hostsOf(m[2] as string)) if (a !== b) want.add(`${a}>${b} ${m[3] as string}/${m[4] as string}`)
  }
  const tested = plan.checks.filter((c) => c.skip === null).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort()
  t.same(tested, [...want].sort(), 'exactly the documented flows between the nine hosts are tested')
  t.equal(tested.length, 151)
  t.ok(plan.checks.filter((c) => c.skip === null).every((c) => c.required), 'every tested check is required')

  // Habitat gossip from a PostgreSQL node to an Elasticsearch node is stated twice (the two
  // overlapping "vice versa" sections): one check, citing both flows.
  const gossip = plan.checks.filter((c) => c.from === 'chef-pg1' && c.to === 'chef-es2' && c.port === 9638)
  t.same(gossip.map((c) => c.protocol).sort(), ['tcp', 'udp'])
  for (const c of gossip) t.equal(c.flowIds.length, 2, `${c.protocol}/9638 cites both sections`)

  // External users' flows (443, 80, Kibana 5601) are kept and reported as skipped.
  const skipped = plan.checks.filter((c) => c.skip !== null)
  t.same(skipped.map((c) => `${c.fromRole}>${c.to ?? ''} ${c.protocol}/${c.port} ${c.skip ?? ''}`).sort(), [
    `${ADMINS}>chef-es1 tcp/5601 external`, `${ADMINS}>chef-es2 tcp/5601 external`, `${ADMINS}>chef-es3 tcp/5601 external`,
    `${CLIENTS}>chef-fe1 tcp/443 external`, `${CLIENTS}>chef-fe1 tcp/80 external`,
    `${CLIENTS}>chef-fe2 tcp/443 external`, `${CLIENTS}>chef-fe2 tcp/80 external`
  ])
})
