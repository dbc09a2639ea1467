import { readdirSync } from 'node:fs'
import t from 'tap'
import type { Catalog, InventoryHost } from '@portcheck/protocol'
import { loadInputs } from '../src/api.js'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { loadInventory } from '../src/inventory/load-inventory.js'
import { buildPlan } from '../src/plan/expand.js'
import { assertPlanSize, MAX_CHECKS, planSize } from '../src/plan/plan-size.js'
import { expectError, writeFiles } from './helpers.js'

/** One flow over every port from role a to role b: the 4.7M-check plan with 8 × 9 hosts. */
const WIDE: Catalog = {
  id: 'wide',
  title: 'Wide',
  roles: { a: { title: 'A' }, b: { title: 'B' } },
  settings: { p: { type: 'port', description: 'a port nobody set' } },
  flows: [{ id: 'ALL', from: 'a', to: 'b', tcp: ['1-65535'], purpose: 'everything' }]
}

function hostsOf (counts: Record<string, number>): InventoryHost[] {
  return Object.entries(counts).flatMap(([role, n], r) => Array.from({ length: n }, (_, i) => ({ name: `${role}${i}`, address: `198.18.${r}.${i + 1}`, roles: [role] })))
}

t.test('the 4.7M-check plan of the issue is counted, not built, and refused with the figure and how to narrow it', async (t) => {
  const hosts = hostsOf({ a: 8, b: 9 })
  const size = planSize({ catalog: WIDE, hosts, settings: {} })
  t.equal(size.checks, 4_718_520)
  t.same(size.flows, [{ flowId: 'ALL', from: 'a', to: 'b', pairs: 72, ports: 65535, checks: 4_718_520, tested: true }])
  t.equal(MAX_CHECKS, 1_000_000)

  const err = await expectError(async () => buildPlan({ catalog: WIDE, hosts, settings: {} }))
  t.equal(err.code, 'PC_ERR_CATALOG_INVALID')
  t.match(err.message, 'the plan would have up to 4,718,520 checks, more than the 1,000,000 a run can hold')
  t.match(err.message, 'ALL (a to b) 4,718,520 (72 host pairs × 65,535 ports)')
  t.match(err.message, /Narrow it: fewer hosts in these roles per run \(split the inventory and run each part\), or fewer ports/)

  // Expanding would throw on the first check of this flow (its port setting has no value):
  // the size error proves the plan was refused before a single check was built.
  const unset: Catalog = { ...WIDE, flows: [...WIDE.flows, { id: 'SET', from: 'b', to: 'a', tcp: [{ setting: 'p' }], purpose: 'unset port' }] }
  const first = await expectError(async () => buildPlan({ catalog: unset, hosts, settings: {} }))
  t.equal(first.code, 'PC_ERR_CATALOG_INVALID')
})

t.test('an inventory whose plan is too big is refused as it loads, before `run` waits for agents', async (t) => {
  const dir = t.testdir()
  const files = writeFiles(dir, {
    'wide.yaml': 'id: wide\ntitle: Wide\nroles:\n  a: { title: A }\n  b: { title: B }\nflows:\n  - { id: ALL, from: a, to: b, tcp: ["1-65535"], purpose: everything }\n',
    'hosts.yaml': 'hosts:\n' + hostsOf({ a: 8, b: 9 }).map((h) => `  - { name: ${h.name}, address: ${h.address}, roles: [${h.roles.join(', ')}] }`).join('\n') + '\n'
  })
  const { catalog } = await loadCatalogFile(files['wide.yaml'] as string)
  const err = await expectError(() => loadInventory(files['hosts.yaml'] as string, catalog))
  t.equal(err.code, 'PC_ERR_CATALOG_INVALID')
  t.match(err.message, 'up to 4,718,520 checks')
})

t.test('the limit itself passes; one check more does not', async (t) => {
  const at = { ...WIDE, flows: [{ id: 'ALL', from: 'a', to: 'b', tcp: ['1-62500'], purpose: 'everything' }] }
  t.equal(assertPlanSize({ catalog: at, hosts: hostsOf({ a: 4, b: 4 }), settings: {} }).checks, MAX_CHECKS)
  const over = { ...at, flows: [...at.flows, { id: 'ONE', from: 'b', to: 'a', udp: [53], purpose: 'one more' }] }
  t.throws(() => assertPlanSize({ catalog: over, hosts: hostsOf({ a: 4, b: 4 }), settings: {} }), { code: 'PC_ERR_CATALOG_INVALID', message: /up to 1,000,016 checks/ })
})

t.test('meshes, external ends, merged flows and skipped flows count as the plan counts them', async (t) => {
  const catalog: Catalog = {
    id: 'c',
    title: 'Counting',
    roles: { fe: { title: 'Frontend' }, be: { title: 'Backend' }, users: { title: 'Users', external: true } },
    settings: { ha: { type: 'boolean', default: false, description: 'HA' }, tunnel: { type: 'port', default: 50103, description: 'tunnel', scope: 'host' } },
    flows: [
      { id: 'MESH', from: 'be', to: 'be', tcp: [9638], udp: [9638], purpose: 'mesh' },
      { id: 'IN', from: 'users', to: 'fe', tcp: [443, '8000-8009'], purpose: 'external source: ranges expand toward hosts' },
      { id: 'OUT', from: 'be', to: 'users', tcp: ['1-65535', 443], purpose: 'external target: a range is one check' },
      { id: 'API', from: 'fe', to: 'be', tcp: ['9000-9099'], purpose: 'api' },
      { id: 'API2', from: 'fe', to: 'be', tcp: ['9050-9149', 9000], purpose: 'overlaps API: merged' },
      { id: 'HA', from: 'fe', to: 'be', tcp: [7000], purpose: 'off: still listed, as skipped', when: { ha: true } },
      { id: 'TUN', from: 'be', to: 'be', udp: [{ setting: 'tunnel' }], purpose: 'per-host port' }
    ]
  }
  const hosts = hostsOf({ fe: 3, be: 4 })
  const size = planSize({ catalog, hosts, settings: { ha: false } })
  const plan = buildPlan({ catalog, hosts, settings: { ha: false } })
  t.equal(size.checks, plan.checks.length, 'exact when every host has one role')
  t.equal(size.checks, 12 * 3 + 3 * 11 + 4 * 2 + 12 * 151)
  t.match(size.flows.find((f) => f.flowId === 'HA'), { pairs: 12, ports: 1, tested: false })
  t.match(size.flows.find((f) => f.flowId === 'OUT'), { pairs: 4, ports: 2, tested: false })

  // A host with two roles gets checks that several role pairs share: the count is then an upper bound.
  const both = [...hosts, { name: 'both', address: '198.18.9.1', roles: ['fe', 'be'] }]
  const merged = buildPlan({ catalog, hosts: both, settings: { ha: false } }).checks.length
  t.ok(planSize({ catalog, hosts: both, settings: { ha: false } }).checks >= merged)
})

t.test('every example inventory: the count is at least the plan, and exact without multi-role hosts', async (t) => {
  const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`)
  t.ok(examples.length >= 5)
  for (const file of [...examples, 'examples/demo/inventory.yaml']) {
    const { catalog, inventory } = await loadInputs({ inventory: file })
    const input = { catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings }
    const built = buildPlan(input).checks.length
    const counted = planSize(input).checks
    if (input.hosts.every((h) => h.roles.length === 1)) t.equal(counted, built, file)
    else t.ok(counted >= built, `${file}: ${counted} >= ${built}`)
  }
})
