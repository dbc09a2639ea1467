import t from 'tap'
import type { Catalog, InventoryHost } from '@portcheck/protocol'
import { buildPlan, catalogRows } from '../src/plan/expand.js'

const catalog: Catalog = {
  id: 'p',
  title: 'Plan test',
  roles: {
    fe: { title: 'Frontend' },
    be: { title: 'Backend' },
    users: { title: 'Users', external: true },
    ha: { title: 'HA only', when: { mode: 'ha' } }
  },
  settings: {
    mode: { type: 'string', enum: ['single', 'ha'], default: 'single', description: 'topology' },
    tunnel: { type: 'port', default: 50103, description: 'tunnel port', scope: 'host' }
  },
  flows: [
    { id: 'F1', from: 'users', to: 'fe', tcp: [443], purpose: 'ui' },
    { id: 'F2', from: 'fe', to: 'be', tcp: [9200, '30000-30002'], purpose: 'api' },
    { id: 'F3', from: 'be', to: 'be', udp: [9638], tcp: [9638], purpose: 'gossip mesh' },
    { id: 'F4', from: 'be', to: 'fe', tcp: [9200], purpose: 'overlap in the other direction' },
    { id: 'F5', from: 'fe', to: 'be', tcp: [9200], purpose: 'same port again, optional', optional: true },
    { id: 'F6', from: 'fe', to: 'be', tcp: [8080], purpose: 'optional only', optional: true },
    { id: 'F7', from: 'fe', to: 'be', tcp: [7070], purpose: 'ha only', when: { mode: 'ha' } },
    { id: 'F8', from: 'be', to: 'be', udp: [{ setting: 'tunnel' }], purpose: 'per-host tunnel' },
    { id: 'F9', from: 'be', to: 'users', tcp: ['1-65535'], purpose: 'egress anywhere' }
  ]
}

const hosts: InventoryHost[] = [
  { name: 'fe1', address: '198.18.0.1', roles: ['fe'] },
  { name: 'be1', address: '198.18.0.2', roles: ['be'] },
  { name: 'be2', address: '198.18.0.3', roles: ['be'], settings: { tunnel: 50200 } },
  { name: 'both', address: '198.18.0.4', roles: ['fe', 'be'] }
]

const key = (c: { from: string | null, to: string | null, protocol: string, port: number, portEnd?: number }): string =>
  `${c.from ?? '-'}>${c.to ?? '-'} ${c.protocol}/${c.port}${c.portEnd !== undefined ? `-${c.portEnd}` : ''}`

t.test('expansion: mesh, ranges, external, optional, conditions, same-host, merge', async (t) => {
  const plan = buildPlan({ catalog, hosts, settings: { mode: 'single' } })
  const byKey = new Map(plan.checks.map((c) => [key(c), c]))
  t.equal(byKey.size, plan.checks.length, 'no duplicate (source, target, protocol, port)')
  t.same(plan.checks.map((c) => c.index), plan.checks.map((_, i) => i), 'indexes are positions')

  t.match(byKey.get('->fe1 tcp/443'), { skip: 'external', from: null, to: 'fe1', fromRole: 'users' }, 'external source: one skipped check per host')
  t.match(byKey.get('be1>- tcp/1-65535'), { skip: 'external', portEnd: 65535 }, 'an external range stays one check')
  t.notOk([...byKey.keys()].some((k) => k.startsWith('be1>- tcp/2 ')), 'external ranges are not expanded')

  for (const p of [30000, 30001, 30002]) t.match(byKey.get(`fe1>be1 tcp/${p}`), { skip: null, required: true }, `range port ${p} expanded for hosts`)

  t.ok(byKey.has('be1>be2 udp/9638') && byKey.has('be2>be1 udp/9638'), 'mesh: both directions')
  t.notOk(byKey.has('be1>be1 udp/9638'), 'mesh: no host to itself')
  t.match(byKey.get('both>both tcp/9200'), { skip: 'same-host' }, 'a host with both roles of a flow: same-host')
  t.ok(byKey.has('both>be1 udp/9638') && byKey.has('be1>both udp/9638'), 'a host with the role joins the mesh')

  const merged = byKey.get('fe1>be1 tcp/9200')
  t.same(merged?.flowIds, ['F2', 'F5'], 'a required and an optional flow on one port merge')
  t.equal(merged?.required, true, '...and the check stays required')
  t.match(byKey.get('fe1>be1 tcp/8080'), { skip: 'optional', required: false }, 'an optional-only check is skipped without --include-optional')
  t.match(byKey.get('fe1>be1 tcp/7070'), { skip: 'condition' }, 'a flow whose condition is off is skipped: condition')

  t.match(byKey.get('be1>be2 udp/50200'), { skip: null }, 'per-host port: the target host\'s own value')
  t.match(byKey.get('be2>be1 udp/50103'), { skip: null }, 'per-host port: the default for hosts without one')
  t.notOk(byKey.has('be1>be2 udp/50103'), 'per-host port: not the default where the host overrides it')
})

t.test('--include-optional and conditions on', async (t) => {
  const plan = buildPlan({ catalog, hosts, settings: { mode: 'ha' }, includeOptional: true })
  const byKey = new Map(plan.checks.map((c) => [key(c), c]))
  t.match(byKey.get('fe1>be1 tcp/8080'), { skip: null, required: false }, 'optional flows are tested, not required')
  t.match(byKey.get('fe1>be1 tcp/7070'), { skip: null, required: true }, 'a condition that holds')
})

t.test('catalog rows: one per role pair, protocol and port, with conditions', async (t) => {
  const active = catalogRows(catalog, { mode: 'single' })
  t.notOk(active.some((r) => r.flowId === 'F7'), 'rows whose condition is off are hidden by default')
  const all = catalogRows(catalog, { mode: 'single' }, { all: true })
  t.match(all.find((r) => r.flowId === 'F7'), { active: false, condition: 'mode = ha', port: 7070 })
  t.match(all.find((r) => r.flowId === 'F2' && r.port === 30000), { portEnd: 30002 }, 'ranges stay one row')
  t.match(all.find((r) => r.flowId === 'F8'), { port: 50103, portSetting: 'tunnel', protocol: 'udp' })
  t.match(all.find((r) => r.flowId === 'F1'), { external: true })
})
