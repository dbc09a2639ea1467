import t, { type Test } from 'tap'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { loadInventory } from '../src/inventory/load-inventory.js'
import { BASE_CATALOG, expectError, problemLines, writeFiles } from './helpers.js'

const HA_CATALOG = BASE_CATALOG.replace('  users: { title: End users, external: true }\n', '  users: { title: End users, external: true }\n  standby: { title: Standby, when: { ha: true } }\n')

async function setup (t: Test, inventory: string, catalogYaml = HA_CATALOG): Promise<{ catalogFile: string, inventoryFile: string }> {
  const dir = t.testdir()
  const files = writeFiles(dir, { 'c.yaml': catalogYaml, 'i.yaml': inventory })
  return { catalogFile: files['c.yaml'] as string, inventoryFile: files['i.yaml'] as string }
}

async function inventoryProblems (t: Test, inventory: string, set: Record<string, string> = {}): Promise<{ code: string, lines: string[], message: string }> {
  const { catalogFile, inventoryFile } = await setup(t, inventory)
  const { catalog } = await loadCatalogFile(catalogFile)
  const err = await expectError(() => loadInventory(inventoryFile, catalog, set))
  return { code: err.code, lines: problemLines(err.problems), message: err.message }
}

const GOOD = `hosts:
  - { name: app1, address: 198.18.7.11, roles: [app] }
  - { name: db1, address: 198.18.7.21, roles: [db], settings: { tunnel-port: 50200 } }
settings:
  version: "4.6.2"
`

t.test('a valid inventory loads with its settings resolved', async (t) => {
  const { catalogFile, inventoryFile } = await setup(t, GOOD)
  const { catalog } = await loadCatalogFile(catalogFile)
  const inv = await loadInventory(inventoryFile, catalog, { ha: 'true' })
  t.same(inv.settings, { ha: true, version: '4.6.2' })
  t.equal(inv.inventory.hosts[1]?.settings?.['tunnel-port'], 50200)
})

t.test('a duplicate host name is refused with both positions', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('name: db1', 'name: app1'))
  t.equal(r.code, 'PC_ERR_INVENTORY_INVALID')
  t.same(r.lines, ['hosts[1].name: duplicate host name "app1" (also hosts[0])'])
  t.match(r.message, /i\.yaml:3:\d+: hosts\[1\]\.name/)
})

t.test('a host with a role the catalog lacks', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('roles: [db]', 'roles: [db, cache]'))
  t.same(r.lines, ['hosts[1].roles[1]: unknown role "cache" for catalog example (roles: app, db, standby)'])
})

t.test('an external role cannot be given to a host', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('roles: [app]', 'roles: [users]'))
  t.same(r.lines, ['hosts[0].roles[0]: role "users" is external (End users): it stands for endpoints that run no agent, so no host can have it'])
})

t.test('a role that exists only under a condition', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('roles: [app]', 'roles: [app, standby]'))
  t.same(r.lines, ['hosts[0].roles[1]: role "standby" exists only when ha = true, which these settings do not meet'])
})

t.test('duplicate addresses, bad addresses, empty roles', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('198.18.7.21', '198.18.7.11').replace('roles: [app]', 'roles: []'))
  t.same(r.lines, ['hosts[0].roles: must not be empty'])
  const r2 = await inventoryProblems(t, GOOD.replace('198.18.7.21', '198.18.7.11'))
  t.same(r2.lines, ['hosts[1].address: address 198.18.7.11 is already host "app1" (hosts[0]): give one host several roles instead'])
  const r3 = await inventoryProblems(t, GOOD.replace('198.18.7.21', 'http://db1/'))
  t.same(r3.lines, ['hosts[1].address: must be an IP address or a DNS name (got "http://db1/")'])
})

t.test('settings: unknown names, wrong types, per-host misuse, --set', async (t) => {
  const r = await inventoryProblems(t, GOOD.replace('version: "4.6.2"', 'version: "4.6.2"\n  esb: true\n  ha: maybe').replace('tunnel-port: 50200', 'tunnel-port: 70000, ha: true'))
  t.same(r.lines, [
    'hosts[1].settings.tunnel-port: setting "tunnel-port" is a port: 1-65535',
    'hosts[1].settings.ha: setting "ha" applies to the whole inventory: set it under the top-level settings',
    'settings.esb: unknown setting "esb" for catalog example (settings: ha, version, tunnel-port)',
    'settings.ha: setting "ha" is a boolean: compare it with true or false'
  ], 'in file order')
  const s = await inventoryProblems(t, GOOD, { ha: 'perhaps' })
  t.equal(s.code, 'PC_ERR_SETTING_INVALID')
  t.same(s.lines, ['ha: setting "ha" is a boolean: compare it with true or false'])
  t.match(s.message, '--set: ha: setting "ha" is a boolean')
})

t.test('unknown top-level fields and missing hosts', async (t) => {
  const r = await inventoryProblems(t, 'host:\n  - { name: a, address: 198.18.0.1, roles: [app] }\n')
  t.same(r.lines, ['hosts: is required', 'host: is not a known field (did you mean "hosts"?)'])
})

t.test('a port setting without a default must be set before a flow that uses it is on', async (t) => {
  const catalogYaml = BASE_CATALOG.replace('settings:\n', 'settings:\n  peer-port: { type: port, description: unnamed by the vendor, scope: host }\n  mesh: { type: boolean, default: false, description: check the mesh }\n') +
    '  - { id: EX-03, from: db, to: db, tcp: [{ setting: peer-port }], purpose: peers, when: { mesh: true } }\n'
  const dir = t.testdir()
  const files = writeFiles(dir, { 'c.yaml': catalogYaml, 'i.yaml': GOOD.replace('settings: { tunnel-port: 50200 }', 'settings: { peer-port: 7000 }') + '  mesh: true\n' })
  const { catalog } = await loadCatalogFile(files['c.yaml'] as string)
  t.ok(await loadInventory(files['i.yaml'] as string, catalog), 'set per host: fine')

  const off = writeFiles(dir, { 'off.yaml': GOOD.replace(', settings: { tunnel-port: 50200 }', '') })
  t.ok(await loadInventory(off['off.yaml'] as string, catalog), 'flow off: nothing to set')
  const err = await expectError(() => loadInventory(off['off.yaml'] as string, catalog, { mesh: 'true' }))
  t.equal(err.code, 'PC_ERR_INVENTORY_INVALID')
  t.match(problemLines(err.problems), [/^settings: flow EX-03 \(db to db\) is on and takes its port from setting "peer-port", which has no value \(for db1\): .* --set peer-port=PORT/])

  const bad = writeFiles(dir, { 'bad.yaml': BASE_CATALOG.replace('settings:\n', 'settings:\n  mode: { type: string, description: no default }\n') })
  const cerr = await expectError(() => loadCatalogFile(bad['bad.yaml'] as string))
  t.same(problemLines(cerr.problems), ['settings.mode: a default is required (only a port setting may leave it to the user)'])
})

t.test('addresses: one per family, in canonical form; address stays valid', async (t) => {
  const dual = GOOD.replace('address: 198.18.7.21', 'addresses: [198.18.7.21, "2001:0002:0000::0021"]').replace('address: 198.18.7.11', 'address: "2001:2::11"')
  const { catalogFile, inventoryFile } = await setup(t, dual)
  const { catalog } = await loadCatalogFile(catalogFile)
  const inv = await loadInventory(inventoryFile, catalog, { ha: 'true' })
  t.same(inv.inventory.hosts.map((h) => [h.address, h.addresses]), [['2001:2::11', ['2001:2::11']], ['198.18.7.21', ['198.18.7.21', '2001:2::21']]],
    'every host has both fields once loaded; IPv6 compressed as the system prints it')
})

t.test('addresses: both forms at once, neither, names, two of a family, bad literals, duplicates across forms', async (t) => {
  const both = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'address: 198.18.7.21, addresses: [198.18.7.22]'))
  t.same(both.lines, ['hosts[1].addresses: give either address (198.18.7.21) or addresses, not both: list every address of the host under addresses'])
  t.match(both.message, /i\.yaml:3:\d+: hosts\[1\]\.addresses: give either address/, 'file, line and column of the field')
  const neither = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21, ', ''))
  t.same(neither.lines, ['hosts[1]: needs an address: address (an IP address or a DNS name) or addresses (a list of IP addresses, one per family)'])
  const name = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'addresses: [198.18.7.21, db1.example]'))
  t.same(name.lines, ['hosts[1].addresses[1]: "db1.example" is not an IP address: addresses lists IP addresses only (a host known by a DNS name gives it alone, as address)'])
  const twice = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'addresses: ["2001:2::21", 198.18.7.21, "2001:2::22"]'))
  t.same(twice.lines, ['hosts[1].addresses[2]: "2001:2::22" is a second IPv6 address (addresses[0] is 2001:2::21): a host has at most one address per family, the one its peers reach it at'])
  t.match(twice.message, /i\.yaml:3:\d+: hosts\[1\]\.addresses\[2\]/)
  const bad = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'addresses: [198.18.7.300, "2001:2::g"]').replace('address: 198.18.7.11', 'address: 198.18.7.256'))
  t.same(bad.lines, [
    'hosts[0].address: "198.18.7.256" is not a valid IPv4 address',
    'hosts[1].addresses[0]: "198.18.7.300" is not a valid IPv4 address',
    'hosts[1].addresses[1]: "2001:2::g" is not a valid IPv6 address'
  ])
  const empty = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'addresses: []'))
  t.same(empty.lines, ['hosts[1].addresses: must not be empty'])
  const dup = await inventoryProblems(t, GOOD.replace('address: 198.18.7.21', 'addresses: [198.18.7.21, "2001:2:0::11"]').replace('address: 198.18.7.11', 'address: "2001:2::11"'))
  t.same(dup.lines, ['hosts[1].addresses[1]: address 2001:2::11 is already host "app1" (hosts[0]): give one host several roles instead'], 'the same IPv6 address written two ways is one address')
})
