import t from 'tap'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { buildPlan } from '../../packages/coordinator/src/plan/expand.js'
import { both, catalogFlows, expected, row } from './expect-flows.js'

// IBM API Connect, "Firewall requirements on Kubernetes", written down from the document
// (and /work/shared/catalog-notes.md for the protocols it leaves open), not from the catalog.
// Role ids: management, portal, analytics, gateway; the external ends are this test's names
// for the catalog's external roles.

const MGMT = 'management'
const PORTAL = 'portal'
const ANALYTICS = 'analytics'
const GW = 'gateway'

// Table 1: flows between zones, rows 1-16 (default settings).
const table1 = [
  ...row('public-api-consumers', GW, { tcp: [443] }, 'external'), // row 1
  ...row('protected-operators', GW, { tcp: [22] }, 'external'), // row 2 (9090: Web GUI "if enabled", below)
  ...row('protected-business-users', MGMT, { tcp: [443] }, 'external'), // row 3
  ...row('protected-operators', MGMT, { tcp: [22, 443] }, 'external'), // row 4
  ...row('protected-operators', PORTAL, { tcp: [22, 443] }, 'external'), // row 5: the Portal servers
  ...row(GW, ANALYTICS, { tcp: [443] }), // row 6
  ...row(MGMT, GW, { tcp: [3000] }), // row 7, management to gateway (also Table 3, 3000)
  ...row(GW, MGMT, { tcp: [443] }), // row 7, gateway to management (also the platform API endpoint)
  ...row(MGMT, PORTAL, { tcp: [443] }), // row 8
  ...row(PORTAL, MGMT, { tcp: [443] }), // row 9
  ...row('public-developers', PORTAL, { tcp: [443] }, 'external'), // row 10
  ...row('protected-developers', MGMT, { tcp: [443] }, 'external'), // row 11
  // row 12 (analytics offload): only when configured, below
  ...row(ANALYTICS, 'ntp-servers', { udp: [123] }, 'external'), // row 13
  ...row(ANALYTICS, 'dns-servers', { udp: [53], tcp: [53] }, 'external'), // row 14
  ...row(MGMT, ANALYTICS, { tcp: [443] }), // row 15
  ...row(PORTAL, ANALYTICS, { tcp: [443] }) // row 16
]

// Table 2: management, portal and analytics. "443 (inbound and outbound) Used by all subsystems
// for communication with other subsystems" = between each pair of these subsystems, both ways.
// "22 (inbound and outbound) SSH" names no peer: inbound from the protected zone, the only SSH
// source the document names (Table 1 rows 2, 4, 5; analytics sits in the Management zone),
// outbound to destinations it does not name; never between subsystems. "(outbound)" 53 and
// 123 = to external servers.
const table2 = [
  ...both(MGMT, PORTAL, { tcp: [443] }),
  ...both(MGMT, ANALYTICS, { tcp: [443] }),
  ...both(PORTAL, ANALYTICS, { tcp: [443] }),
  ...[MGMT, PORTAL, ANALYTICS].flatMap((s) => [
    ...row('protected-operators', s, { tcp: [22] }, 'external'),
    ...row(s, 'unnamed-destinations', { tcp: [22] }, 'external'),
    ...row(s, 'dns-servers', { udp: [53], tcp: [53] }, 'external'),
    ...row(s, 'ntp-servers', { udp: [123] }, 'external')
  ])
]
// Table 2, 44135 (inbound and outbound): the Helm v2 Tiller probe port, TCP.
const tiller = [
  ...both(MGMT, PORTAL, { tcp: [44135] }),
  ...both(MGMT, ANALYTICS, { tcp: [44135] }),
  ...both(PORTAL, ANALYTICS, { tcp: [44135] })
]

// Table 3: analytics 161 (SNMP, inbound); gateway 161 in and out, 162 out, and its inbound
// ports with no source named (3000 is row 7's push port, 9090 row 2's Web GUI).
const table3 = [
  ...row('snmp-managers', ANALYTICS, { udp: [161] }, 'external'),
  ...row('snmp-managers', GW, { udp: [161] }, 'external'),
  ...row(GW, 'snmp-managers', { udp: [161, 162] }, 'external'),
  ...row('unnamed-clients', GW, { tcp: [5550, 9443] }, 'external')
]
// The gateway's "(if enabled)" ports.
const ifEnabled = [
  ...row('protected-operators', GW, { tcp: [9090] }, 'external'), // row 2 and Table 3, Web GUI
  ...row('unnamed-clients', GW, { tcp: [5554, 9022] }, 'external')
]

const allOn = {
  'gateway-web-gui': true,
  'gateway-rest-mgmt': true,
  'gateway-ssh': true,
  'gateway-peering': true,
  'gateway-peering-port': 16001, // any value: the document names no port
  'analytics-offload': 'tcp',
  'analytics-offload-port': 9092
}

t.test('default settings: Tables 1, 2 and 3 without the conditional ports', async (t) => {
  t.same(await catalogFlows('ibm-api-connect'), expected(table1, table2, tiller, table3))
})

t.test('every conditional port switched on', async (t) => {
  t.same(await catalogFlows('ibm-api-connect', allOn), expected(
    table1, table2, tiller, table3, ifEnabled,
    row(GW, GW, { tcp: [16001] }), // gateway cluster mesh, on the port the user gives
    row(ANALYTICS, 'analytics-offload-target', { tcp: [9092] }, 'external') // row 12
  ))
})

t.test('SSH (22) reaches every subsystem from the protected zone only, and no subsystem from another', async (t) => {
  const ssh = (await catalogFlows('ibm-api-connect')).filter((f) => f.includes(' tcp/22 '))
  t.same(ssh, expected(
    ...[GW, MGMT, PORTAL, ANALYTICS].map((s) => row('protected-operators', s, { tcp: [22] }, 'external')), // rows 2, 4, 5; Table 2 (inbound)
    ...[MGMT, PORTAL, ANALYTICS].map((s) => row(s, 'unnamed-destinations', { tcp: [22] }, 'external')) // Table 2 (outbound)
  ))
})

t.test('release line without Helm v2 Tiller: no 44135', async (t) => {
  t.same(await catalogFlows('ibm-api-connect', { 'helm-v2-tiller': false }), expected(table1, table2, table3))
})

t.test('row 7 "3000 or 443": push configuration on 443', async (t) => {
  const flows = await catalogFlows('ibm-api-connect', { 'push-config-port': 443 })
  const without3000 = table1.filter((f) => f !== `${MGMT}>${GW} tcp/3000 required`)
  t.equal(without3000.length, table1.length - 1)
  t.same(flows, expected(without3000, row(MGMT, GW, { tcp: [443] }), table2, tiller, table3))
})

t.test('analytics offload over UDP on a configured port', async (t) => {
  t.same(await catalogFlows('ibm-api-connect', { 'analytics-offload': 'udp', 'analytics-offload-port': 514 }), expected(
    table1, table2, tiller, table3, row(ANALYTICS, 'analytics-offload-target', { udp: [514] }, 'external')
  ))
})

t.test('configurable gateway ports follow their settings', async (t) => {
  const flows = await catalogFlows('ibm-api-connect', {
    'gateway-xml-mgmt-port': 15550,
    'gateway-local-port': 19443,
    'gateway-web-gui': true,
    'gateway-web-gui-port': 19090
  })
  t.ok(flows.includes('unnamed-clients>gateway tcp/15550 external'))
  t.ok(flows.includes('unnamed-clients>gateway tcp/19443 external'))
  t.ok(flows.includes('protected-operators>gateway tcp/19090 external'))
  t.notOk(flows.some((f) => /tcp\/(5550|9443|9090) /.test(f)))
})

t.test('every UDP flow of the document is UDP: SNMP 161/162, DNS 53, NTP 123', async (t) => {
  const udp = (await catalogFlows('ibm-api-connect')).filter((f) => f.includes(' udp/'))
  t.same(udp, expected(
    row('snmp-managers', ANALYTICS, { udp: [161] }, 'external'),
    row('snmp-managers', GW, { udp: [161] }, 'external'),
    row(GW, 'snmp-managers', { udp: [161, 162] }, 'external'),
    ...[MGMT, PORTAL, ANALYTICS].map((s) => row(s, 'dns-servers', { udp: [53] }, 'external')),
    ...[MGMT, PORTAL, ANALYTICS].map((s) => row(s, 'ntp-servers', { udp: [123] }, 'external'))
  ))
})

t.test('the example inventory plans', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/ibm-api-connect.yaml' })
  t.equal(catalog.catalog.id, 'ibm-api-connect')
  for (const h of inventory.inventory.hosts) t.match(h.address, /^198\.1[89]\./, `${h.name} has a documentation address`)
  const plan = buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings })

  const tested = plan.checks.filter((c) => c.skip === null).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort()
  const pairs = [['apic-mgmt1', 'apic-portal1'], ['apic-mgmt1', 'apic-analytics1'], ['apic-portal1', 'apic-analytics1']]
  t.same(tested, [
    ...pairs.flatMap(([a, b]) => [443, 44135].flatMap((p) => [`${a}>${b} tcp/${p}`, `${b}>${a} tcp/${p}`])),
    ...['apic-gw1', 'apic-gw2'].flatMap((gw) => [
      `${gw}>apic-analytics1 tcp/443`, // row 6
      `apic-mgmt1>${gw} tcp/3000`, // row 7
      `${gw}>apic-mgmt1 tcp/443` // row 7 back, platform API
    ])
  ].sort(), 'exactly the flows between the five hosts are tested')
  t.equal(tested.length, 18)
  t.notOk(tested.some((c) => c.endsWith(' tcp/22')), 'no SSH between subsystems')
  t.ok(plan.checks.filter((c) => c.skip === null).every((c) => c.required), 'every tested check is required')

  // Nothing touching an external endpoint is ever tested.
  const externalRoles = new Set(Object.entries(catalog.catalog.roles).filter(([, r]) => r.external === true).map(([id]) => id))
  const external = plan.checks.filter((c) => externalRoles.has(c.fromRole) || externalRoles.has(c.toRole))
  t.ok(external.length > 0)
  t.ok(external.every((c) => c.skip === 'external' || c.skip === 'condition'), 'external flows are skipped')
  t.ok(external.every((c) => c.from === null || c.to === null))

  // The gateway mesh is off, and its port is unset (the document names none): no check at all.
  t.same(plan.checks.filter((c) => c.flowIds.includes('APIC-GWC-PEERS')), [], 'no check without a port')
  // Switched on without its port, the inventory is refused rather than checked on a guessed port.
  t.throws(() => buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: { ...inventory.settings, 'gateway-peering': true } }), { code: 'PC_ERR_SETTING_INVALID', message: /gateway-peering-port/ })

  // Switched on, with one gateway listening on a port of its own (per-host setting).
  const hosts = inventory.inventory.hosts.map((h) => h.name === 'apic-gw2' ? { ...h, settings: { 'gateway-peering-port': 16002 } } : h)
  const on = buildPlan({ catalog: catalog.catalog, hosts, settings: { ...inventory.settings, 'gateway-peering': true, 'gateway-peering-port': 16001 } })
  t.same(on.checks.filter((c) => c.flowIds.includes('APIC-GWC-PEERS')).map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port} ${c.skip ?? 'tested'}`).sort(),
    ['apic-gw1>apic-gw2 tcp/16002 tested', 'apic-gw2>apic-gw1 tcp/16001 tested'])
})
