import t from 'tap'
import type { SettingValue } from '@portcheck/protocol'
import { loadInputs } from '../../packages/coordinator/src/api.js'
import { loadCatalog } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { neverApplyingFlows } from '../../packages/coordinator/src/catalog/satisfiability.js'
import { resolveSettings } from '../../packages/coordinator/src/catalog/settings.js'
import { buildPlan, catalogRows } from '../../packages/coordinator/src/plan/expand.js'
import { both, catalogFlows, expected, row, type DocumentFlow } from './expect-flows.js'

// Cisco CloudCenter 4.x, "Phase 2: Configure Network Rules", written down table by table from
// the document (and /work/shared/catalog-notes.md: 5405 is UDP, everything else TCP; rows
// without a port belong to their block; CCM_TERTIARY = CCO_TERTIARY, AMQP_IP = AMQP,
// "0.0.0.0./0" = 0.0.0.0/0), not from the catalog. Ingress on table T from R is R>T, Egress
// is T>R, Ingress/Egress both; a same-role remote is a mesh (T>T). Each line is
// `from>to proto/port kind`; a flow touching an external end is `external` whatever its
// optionality. The external ends are this test's names for the catalog's external roles.

const CATALOG = 'cisco-cloudcenter'

const NET = 'internet' // "0.0.0.0/0" as a download destination
const USERS = 'user-browsers' // "0.0.0.0/0 (or ... user browsers ...)", "Public browser access"
const SSH = 'ssh-sources' // "Allowed SSH source IP"
const ESB = 'esb-clients' // "ESB API Communication", "ESB UI Communication"
const WORKERS = 'worker-vms' // worker / application VM IP ranges
const CLOUD = 'cloud-endpoints' // "Cloud Region EndPoints, Script Sources"
const REPO = 'public-repo' // repo.cliqrtech.com
const EXTERNAL = new Set([NET, USERS, SSH, ESB, WORKERS, CLOUD, REPO])

const EXT = 'external' as const
const OPT = 'optional' as const
const p = (...ports: Array<number | string>): { tcp: Array<number | string> } => ({ tcp: ports })
const many = (f: (r: string) => DocumentFlow[], ...roles: string[]): DocumentFlow[] => roles.flatMap(f)

// ---- The document, table by table (ESB rows and 2375/2376 rows apart, below) -------------

// CCM and CCM_SA tables: identical rows, CCM_SA adds 5432 to MGMTPOSTGRES.
const ccmTable = (T: string): DocumentFlow[] => [
  ...row(USERS, T, p(80), EXT), // 80 Ingress (optional): HTTP to HTTPS redirection
  ...row(T, NET, p(80, 443), EXT), // 80, 443 Egress 0.0.0.0/0
  ...row(USERS, T, p(443), EXT), // 443 Ingress: UI/API
  ...row(SSH, T, p(22), EXT), // 22 Ingress (optional)
  ...many((r) => row(r, T, p(8443)), 'cco', 'cco-lb'), // 8443 Ingress CCO or CCO_LB
  ...many((r) => row(T, r, p(8443)), 'cco', 'cco-lb'), // 8443 Egress CCO or CCO_LB
  ...many((r) => row(r, T, p(8443), OPT), 'mon', 'mon-ha'), // 8443 Ingress (optional) MON or MON_PRIMARY and MON_SECONDARY
  ...many((r) => row(T, r, p(8443), OPT), 'mon', 'mon-lb'), // 8443 Egress (Optional) MON or MON_LB
  ...many((r) => row(r, T, p(8443)), 'amqp', 'amqp-lb') // 8443 Ingress AMQP_IP (= AMQP) or AMQP_LB
]
const CCM = ccmTable('ccm')
const CCM_SA = [...ccmTable('ccm-sa'), ...row('ccm-sa', 'mgmtpostgres', p(5432))]

const MGMTPOSTGRES = [
  ...row('mgmtpostgres', NET, p(80, 443), EXT),
  ...row(SSH, 'mgmtpostgres', p(22), EXT),
  ...row('ccm-sa', 'mgmtpostgres', p(5432)) // 5432 Ingress CCM_SA
]

// MGMTPOSTGRES_MASTER and MGMTPOSTGRES_SLAVE, every row.
const PG = 'mgmtpostgres-ha'
const MGMTPOSTGRES_HA = [
  ...row(SSH, PG, p(22), EXT), // 22 Ingress (Optional)
  ...both(PG, PG, p(22)), // (22) Ingress/Egress master, slave: static file sync
  ...row(PG, NET, p(80, 443), EXT), // 80, 443 Egress
  ...row('ccm-ha', PG, p(5432)), // 5432 Ingress CCM_SA_PRIMARY, CCM_SA_SECONDARY
  ...both(PG, PG, p(5432)), // 5432 Ingress/Egress master, slave
  ...both(PG, PG, { udp: [5405] }), // 5405 (UDP) Ingress/Egress
  ...both(PG, PG, p(2224, 3121, 21064)) // Pacemaker, Ingress/Egress
]

const CCM_HA = [
  ...row('ccm-ha', NET, p(80, 443), EXT),
  ...row('ccm-lb', 'ccm-ha', p(443)), // 443 Ingress CCM_LB
  ...row(SSH, 'ccm-ha', p(22), EXT),
  ...both('ccm-ha', 'ccm-ha', p(22)), // (22) static file sync, primary or secondary
  ...row('ccm-lb', 'ccm-ha', p(8443)), // 8443 Ingress CCM_LB
  ...many((r) => row('ccm-ha', r, p(8443)), 'cco', 'cco-lb'), // 8443 Egress CCO or CCO_LB
  ...many((r) => row('ccm-ha', r, p(8443), OPT), 'mon', 'mon-lb'), // 8443 Egress (Optional) MON or MON_LB
  ...both('ccm-ha', 'ccm-ha', p(5703)), // 5703 Ingress/Egress primary or secondary
  ...many((r) => row('ccm-ha', r, p(5432)), 'mgmtpostgres', PG) // 5432 Egress MGMTPOSTGRES or MGMTPOSTGRES_VIP
]

const CCM_LB = [
  ...row(SSH, 'ccm-lb', p(22), EXT),
  ...row(USERS, 'ccm-lb', p(80, 443), EXT),
  ...row('ccm-lb', NET, p(80, 443), EXT),
  ...row('ccm-lb', 'ccm-ha', p(443, 8443)), // 443, 8443 Egress CCM_SA_PRIMARY and CCM_SA_SECONDARY
  ...many((r) => row(r, 'ccm-lb', p(8443)), 'cco', 'cco-lb'),
  ...many((r) => row(r, 'ccm-lb', p(8443), OPT), 'mon', 'mon-ha'),
  ...many((r) => row(r, 'ccm-lb', p(8443)), 'amqp', 'amqp-lb')
]

// "Monitor" as the CCM tables spell it out: to it, "MON or MON_LB" (MON_PRIMARY/SECONDARY take
// 8443 only "from MON_LB"); from it, "MON or MON_PRIMARY and MON_SECONDARY" (whose table sends
// 8443 "Egress CCO or CCO_LB").
const toMonitor = (T: string): DocumentFlow[] => many((r) => row(T, r, p(8443)), 'mon', 'mon-lb')
const fromMonitor = (T: string): DocumentFlow[] => many((r) => row(r, T, p(8443)), 'mon', 'mon-ha')

const CCO = [
  // 8443 Ingress/Egress CCM or CCM_SA or CCM_SA_PRIMARY and CCM_SA_SECONDARY, Monitor
  ...many((r) => both('cco', r, p(8443)), 'ccm', 'ccm-sa', 'ccm-ha'),
  ...toMonitor('cco'),
  ...fromMonitor('cco'),
  ...row(SSH, 'cco', p(22), EXT),
  // "Egress0.0.0.0/0To download installer or appliance packages." lost its port: every other
  // table, CCO_PRIMARY/SECONDARY/TERTIARY at the same place, prints it "80Egress0.0.0.0/0To download…".
  ...row('cco', NET, p(80, 443), EXT),
  ...row('cco', CLOUD, p('1-65535'), EXT) // All Egress (Conditional)
]

// CCO_PRIMARY, SECONDARY, and TERTIARY, every row (2375/2376 below).
const CH = 'cco-ha'
const CCO_HA = [
  ...both(CH, 'cco-lb', p(8443)), // 8443 Ingress/Egress CCO_LB, Monitor
  ...toMonitor(CH),
  ...fromMonitor(CH),
  ...row(SSH, CH, p(22), EXT),
  ...row(CH, NET, p(80, 443), EXT),
  ...row(CH, CLOUD, p('1-65535'), EXT),
  ...both(CH, CH, p(5701)), // 5701 Ingress/Egress among the three
  ...row(CH, CH, p(27017)) // 27017 Ingress from the other two, on each
]

const CCO_LB = [
  ...row(SSH, 'cco-lb', p(22), EXT),
  ...row('cco-lb', NET, p(80, 443), EXT),
  ...many((r) => row(r, 'cco-lb', p(8443)), 'ccm', 'ccm-sa', 'ccm-ha'), // CCM_PRIMARY, CCM_SECONDARY = CCM_SA_*
  ...many((r) => row('cco-lb', r, p(8443)), 'cco', CH), // CCM_TERTIARY = CCO_TERTIARY
  ...toMonitor('cco-lb') // Egress … Monitor
]

const guacToManagers = (T: string): DocumentFlow[] => many((r) => row(T, r, p(8443)), 'ccm', 'ccm-sa', 'ccm-lb', 'cco', 'cco-lb')

const AMQP = [
  ...row(SSH, 'amqp', p(22), EXT),
  ...many((r) => row(r, 'amqp', p(5671)), 'cco', 'cco-lb'),
  ...row(WORKERS, 'amqp', p(5671, 7789), EXT),
  ...many((r) => both('amqp', r, p(7788)), 'amqp', 'amqp-ha', 'amqp-lb'), // AMQP or AMQP_PRIMARY, AMQP_SECONDARY, and AMQP_LB
  ...row(USERS, 'amqp', p(443), EXT),
  ...guacToManagers('amqp')
]

// AMQP_PRIMARY and AMQP_SECONDARY, every row.
const AH = 'amqp-ha'
const AMQP_HA = [
  ...row(SSH, AH, p(22), EXT),
  ...many((r) => row(r, AH, p(5671)), 'cco', 'cco-lb'), // 5671 Ingress CCO or CCO_LB
  ...row(WORKERS, AH, p(5671, 7789), EXT), // 5671, 7789 Ingress Worker VM IP Range
  ...many((r) => both(AH, r, p(7788)), 'amqp', 'amqp-lb'), // 7788 Ingress/Egress AMQP or AMQP_LB
  ...row(USERS, AH, p(443), EXT),
  ...guacToManagers(AH), // 8443 Egress CCM or CCM_SA or CCM_LB, CCO or CCO_LB
  ...both(AH, AH, p(4369, 25672)), // Ingress/Egress primary and secondary
  // 7788 loop back among the HA peers the AMQP and AMQP_LB tables list: "AMQP_PRIMARY, AMQP_SECONDARY, and AMQP_LB"
  ...both(AH, AH, p(7788))
]

const AMQP_LB = [
  ...row(SSH, 'amqp-lb', p(22), EXT),
  ...many((r) => row(r, 'amqp-lb', p(5671)), 'cco', CH, 'cco-lb'),
  ...row(WORKERS, 'amqp-lb', p(5671, 7789), EXT),
  ...many((r) => row(r, 'amqp-lb', p(7788)), 'amqp', AH, 'amqp-lb'), // 7788 Ingress (AMQP_LB from itself: mesh)
  ...row(USERS, 'amqp-lb', p(443), EXT)
]

const EXT_SCRIPT_EXECUTOR = [
  ...row(SSH, 'ext-script-executor', p(22), EXT),
  ...row('ext-script-executor', NET, p(80, 443), EXT)
]

const GUAC = [
  ...row(SSH, 'guac', p(22), EXT),
  ...row(WORKERS, 'guac', p(7789), EXT),
  ...both('guac', 'guac', p(7788)),
  ...row('guac', NET, p(80, 443), EXT),
  ...row(USERS, 'guac', p(443), EXT),
  ...guacToManagers('guac')
]

const LOG_SOURCES = ['ccm', 'ccm-sa', 'ccm-ha', 'cco', CH] // CCM_IP (either non-HA CCM), CCM_PRIMARY/SECONDARY_IP, CCO_IP, CCO_*_IP
const monCommon = (T: string): DocumentFlow[] => [
  ...row(SSH, T, p(22), EXT),
  ...row(T, NET, p(80, 443), EXT),
  ...many((r) => row(r, T, p(4560, 8881)), ...LOG_SOURCES),
  ...row(USERS, T, p(8882), EXT)
]
const MON = [
  ...monCommon('mon'),
  ...many((r) => both('mon', r, p(8443)), 'ccm', 'ccm-sa', 'ccm-ha', 'ccm-lb'),
  ...many((r) => row('mon', r, p(8443)), 'cco', 'cco-lb')
]
const MON_HA = [
  ...monCommon('mon-ha'),
  ...row('mon-lb', 'mon-ha', p(8443)),
  ...many((r) => row('mon-ha', r, p(8443)), 'cco', 'cco-lb')
]
const MON_LB = [
  ...monCommon('mon-lb'),
  ...many((r) => row(r, 'mon-lb', p(8443)), 'ccm', 'ccm-sa', 'ccm-ha'),
  ...row('mon-lb', 'mon-ha', p(8443))
]

const COMPONENTS = ['ccm', 'ccm-sa', 'ccm-ha', 'ccm-lb', 'mgmtpostgres', PG, 'cco', CH, 'cco-lb', 'amqp', AH, 'amqp-lb',
  'ext-script-executor', 'guac', 'mon', 'mon-ha', 'mon-lb', 'bundle-store', 'package-store', 'docker-registry']

const BUNDLE_STORE = [...row(SSH, 'bundle-store', p(22), EXT), ...row(WORKERS, 'bundle-store', p(80), EXT)]
const PACKAGE_STORE = [
  ...row(SSH, 'package-store', p(22), EXT),
  ...row('package-store', REPO, p(22), EXT), // (22) Egress Public Repo Server
  ...many((r) => row(r, 'package-store', p(80)), ...COMPONENTS.filter((r) => r !== 'package-store')), // All components
  ...row(WORKERS, 'package-store', p(80, 5000), EXT),
  ...row('package-store', NET, p(80, 443), EXT)
]
const DOCKER_REGISTRY = [
  ...row(SSH, 'docker-registry', p(22), EXT),
  ...row('docker-registry', NET, p(80, 443), EXT),
  ...row(WORKERS, 'docker-registry', p(5000), EXT)
]

const DOCUMENT = [
  ...CCM, ...CCM_SA, ...MGMTPOSTGRES, ...MGMTPOSTGRES_HA, ...CCM_HA, ...CCM_LB,
  ...CCO, ...CCO_HA, ...CCO_LB, ...AMQP, ...AMQP_HA, ...AMQP_LB,
  ...EXT_SCRIPT_EXECUTOR, ...GUAC, ...MON, ...MON_HA, ...MON_LB,
  ...BUNDLE_STORE, ...PACKAGE_STORE, ...DOCKER_REGISTRY
]

// ESB rows (CCM, CCM_SA, CCM_SA_PRIMARY/SECONDARY), Ingress/Egress (optional): 5671 "must be open
// if you need to establish programmatic access to the AMQP module – only required if you use the
// ESB functionality"; 15672 "… access to the AMQP module from the AMQP UI – only required if you
// use the ESB functionality".
const ESB_API = many((T) => both(T, ESB, p(5671), EXT), 'ccm', 'ccm-sa', 'ccm-ha')
const ESB_UI = many((T) => both(T, ESB, p(15672), EXT), 'ccm', 'ccm-sa', 'ccm-ha')
// Docker engine of the external script executor, from the CCO tables and the executor's table.
const DOCKER_ENGINE = (port: 2375 | 2376): DocumentFlow[] => many((r) => row(r, 'ext-script-executor', p(port)), 'cco', CH)

// ---- Topologies: which roles exist ---------------------------------------------------------

interface Topology { ccm: 'single' | 'standalone' | 'ha', db: 'single' | 'ha', cco: 'single' | 'ha', amqp: 'single' | 'ha', monitor: 'none' | 'single' | 'ha' }
const settingsOf = (x: Topology): Record<string, SettingValue> => ({
  'ccm-topology': x.ccm, 'mgmtpostgres-topology': x.db, 'cco-topology': x.cco, 'amqp-topology': x.amqp, monitor: x.monitor
})
function rolesOf (x: Topology): Set<string> {
  const roles = ['ext-script-executor', 'guac', 'bundle-store', 'package-store', 'docker-registry', ...EXTERNAL]
  if (x.ccm === 'single') roles.push('ccm')
  if (x.ccm === 'standalone') roles.push('ccm-sa', 'mgmtpostgres')
  if (x.ccm === 'ha') roles.push('ccm-ha', 'ccm-lb', x.db === 'ha' ? PG : 'mgmtpostgres')
  roles.push(...(x.cco === 'single' ? ['cco'] : [CH, 'cco-lb']))
  roles.push(...(x.amqp === 'single' ? ['amqp'] : [AH, 'amqp-lb']))
  if (x.monitor === 'single') roles.push('mon')
  if (x.monitor === 'ha') roles.push('mon-ha', 'mon-lb')
  return new Set(roles)
}
const ends = (line: DocumentFlow): [string, string] => {
  const [from, rest] = line.split('>') as [string, string]
  return [from, rest.split(' ')[0] as string]
}
const within = (lines: DocumentFlow[], roles: Set<string>): DocumentFlow[] => lines.filter((l) => ends(l).every((r) => roles.has(r)))
/** The document's flows for a topology, ESB off, a version from 4.6.2 on. */
const documentFor = (x: Topology, extra: DocumentFlow[] = []): string[] => expected(within([...DOCUMENT, ...DOCKER_ENGINE(2376), ...extra], rolesOf(x)))

/** Every combination of the tiers' topologies (the database one only matters with an HA CCM). */
const TOPOLOGIES: Topology[] = (['single', 'standalone', 'ha'] as const).flatMap((ccm) =>
  (ccm === 'ha' ? ['single', 'ha'] as const : ['ha'] as const).flatMap((db) =>
    (['single', 'ha'] as const).flatMap((cco) => (['single', 'ha'] as const).flatMap((amqp) =>
      (['none', 'single', 'ha'] as const).map((monitor): Topology => ({ ccm, db, cco, amqp, monitor }))))))

const HA: Topology = { ccm: 'ha', db: 'ha', cco: 'ha', amqp: 'ha', monitor: 'ha' }
const SINGLE: Topology = { ccm: 'single', db: 'ha', cco: 'single', amqp: 'single', monitor: 'single' }

// ---- Tests -----------------------------------------------------------------------------------

t.test('HA settings: the MGMTPOSTGRES_MASTER/SLAVE, CCO_PRIMARY/SECONDARY/TERTIARY and AMQP_PRIMARY/SECONDARY tables, row by row', async (t) => {
  const actual = await catalogFlows(CATALOG, settingsOf(HA))
  const rows = expected(within([...MGMTPOSTGRES_HA, ...CCO_HA, ...DOCKER_ENGINE(2376), ...AMQP_HA], rolesOf(HA)))
  for (const x of rows) t.ok(actual.includes(x), x)
  // The only UDP row of the document: Corosync between master and slave, both ways (a mesh).
  t.same(actual.filter((l) => l.includes(' udp/')), ['mgmtpostgres-ha>mgmtpostgres-ha udp/5405 required'])
  // Cluster meshes of the three HA tables.
  for (const x of ['mgmtpostgres-ha>mgmtpostgres-ha tcp/22 required', 'mgmtpostgres-ha>mgmtpostgres-ha tcp/5432 required',
    'mgmtpostgres-ha>mgmtpostgres-ha tcp/2224 required', 'mgmtpostgres-ha>mgmtpostgres-ha tcp/3121 required',
    'mgmtpostgres-ha>mgmtpostgres-ha tcp/21064 required', 'cco-ha>cco-ha tcp/5701 required', 'cco-ha>cco-ha tcp/27017 required',
    'amqp-ha>amqp-ha tcp/4369 required', 'amqp-ha>amqp-ha tcp/25672 required', 'ccm-lb>ccm-ha tcp/8443 required',
    'cco-lb>cco-ha tcp/8443 required', 'cco-ha>cco-lb tcp/8443 required', 'amqp-lb>amqp-ha tcp/7788 required', 'amqp-ha>amqp-lb tcp/7788 required',
    'amqp-ha>amqp-ha tcp/7788 required']) {
    t.ok(actual.includes(x), x)
  }
})

t.test('HA settings: every table, exactly', async (t) => {
  t.same(await catalogFlows(CATALOG, settingsOf(HA)), documentFor(HA))
})

t.test('non-HA settings (single CCM, CCO, AMQP, Monitor): every table, exactly', async (t) => {
  const actual = await catalogFlows(CATALOG, settingsOf(SINGLE))
  t.same(actual, documentFor(SINGLE))
  t.notOk(actual.some((l) => /(-ha|-lb)[> ]/.test(l)), 'no HA role or load balancer')
})

t.test('every topology combination expands to the document, exactly', async (t) => {
  for (const x of TOPOLOGIES) t.same(await catalogFlows(CATALOG, settingsOf(x)), documentFor(x), JSON.stringify(x))
  t.equal(TOPOLOGIES.length, 48)
})

t.test('rows pairing a tier\'s single role with its HA roles are kept, marked "Never applies:", and never planned', async (t) => {
  // The rows that name both forms of one tier, for the pairs of roles that never exist together.
  const mixed = [
    'CCO_LB Ports: cco-lb>cco tcp/8443', // 8443 Egress "CCO or CCO_PRIMARY, CCO_SECONDARY, and CCM_TERTIARY"
    // AMQP, 7788 Ingress/Egress "AMQP or AMQP_PRIMARY, AMQP_SECONDARY, and AMQP_LB"
    ...['amqp-ha', 'amqp-lb'].flatMap((r) => [`AMQP Ports: amqp>${r} tcp/7788`, `AMQP Ports: ${r}>amqp tcp/7788`]),
    // AMQP_PRIMARY and AMQP_SECONDARY, 7788 Ingress/Egress "AMQP or AMQP_LB"
    'AMQP_PRIMARY and AMQP_SECONDARY Ports: amqp>amqp-ha tcp/7788', 'AMQP_PRIMARY and AMQP_SECONDARY Ports: amqp-ha>amqp tcp/7788',
    'AMQP_LB Ports: amqp>amqp-lb tcp/7788' // 7788 Ingress "AMQP or AMQP_PRIMARY, AMQP_SECONDARY, and AMQP_LB"
  ]
  const { catalog } = await loadCatalog(CATALOG)
  const never = catalog.flows.filter((f) => !TOPOLOGIES.some((x) => rolesOf(x).has(f.from) && rolesOf(x).has(f.to)))
  t.same(never.map((f) => `${(f.ref ?? '').split(',')[0] ?? ''}: ${f.from}>${f.to} tcp/${(f.tcp ?? []).join('+')}`).sort(), [...mixed].sort())
  for (const f of never) t.match(f.note, /^Never applies: /, `${f.id} says why it is kept`)
  t.same(neverApplyingFlows(catalog), [], 'catalog validate has nothing to report')
})

t.test('the defaults are the single-VM topology without Monitor', async (t) => {
  t.same(await catalogFlows(CATALOG), documentFor({ ccm: 'single', db: 'ha', cco: 'single', amqp: 'single', monitor: 'none' }))
})

t.test('standalone CCM: CCM_SA and its MGMTPOSTGRES', async (t) => {
  const actual = await catalogFlows(CATALOG, { 'ccm-topology': 'standalone' })
  t.ok(actual.includes('ccm-sa>mgmtpostgres tcp/5432 required'))
  t.notOk(actual.some((l) => l.startsWith('ccm>') || l.includes('>ccm ') || l.includes('mgmtpostgres-ha')))
})

t.test('HA CCM on a single database ("MGMTPOSTGRES or MGMTPOSTGRES_VIP")', async (t) => {
  const actual = await catalogFlows(CATALOG, { 'ccm-topology': 'ha', 'mgmtpostgres-topology': 'single' })
  t.ok(actual.includes('ccm-ha>mgmtpostgres tcp/5432 required'))
  t.notOk(actual.some((l) => l.includes('mgmtpostgres-ha')))
  t.notOk(actual.includes('ccm-sa>mgmtpostgres tcp/5432 required'), 'no CCM_SA in an HA CCM')
})

t.test('ESB on adds exactly 5671 with the ESB clients, and 15672 with the AMQP UI too; off removes them', async (t) => {
  for (const x of [HA, SINGLE, { ...SINGLE, ccm: 'standalone' } satisfies Topology]) {
    const off = await catalogFlows(CATALOG, settingsOf(x))
    const on = await catalogFlows(CATALOG, { ...settingsOf(x), esb: true })
    const ui = await catalogFlows(CATALOG, { ...settingsOf(x), esb: true, 'esb-ui': true })
    t.same(on, documentFor(x, ESB_API), `esb on, ${x.ccm}`)
    t.same(ui, documentFor(x, [...ESB_API, ...ESB_UI]), `esb and esb-ui on, ${x.ccm}`)
    t.same(await catalogFlows(CATALOG, { ...settingsOf(x), 'esb-ui': true }), off, `esb-ui alone adds nothing, ${x.ccm}`)
    const added = on.filter((l) => !off.includes(l))
    t.ok(added.length === 2 && added.every((l) => /esb-clients.* tcp\/5671 external$/.test(l)), `esb adds 2 lines, ${x.ccm}`)
    t.notOk(off.some((l) => l.includes(ESB)), `esb off, ${x.ccm}`)
  }
})

t.test('the ESB rows are required once the ESB is on: their "(optional)" is the ESB condition', async (t) => {
  const { catalog } = await loadCatalog(CATALOG)
  const { values } = resolveSettings(catalog, [['esb', { value: true, problem: (message) => ({ file: 'test', path: 'esb', message }) }],
    ['esb-ui', { value: true, problem: (message) => ({ file: 'test', path: 'esb-ui', message }) }]])
  const rows = catalogRows(catalog, values, { all: true }).filter((r) => r.fromRole === ESB || r.toRole === ESB)
  t.equal(rows.length, 12, 'CCM, CCM_SA and CCM_SA_PRIMARY/SECONDARY tables, 5671 and 15672, both ways')
  t.ok(rows.every((r) => r.required && !r.optional), 'required, not optional')
  t.ok(rows.filter((r) => [r.fromRole, r.toRole].includes('ccm')).every((r) => r.active), 'on for the single CCM of the default topology')
})

t.test('the CloudCenter version switches the Docker engine port between 2375 and 2376 (boundary 4.6.2)', async (t) => {
  const port = async (version: string, x: Topology): Promise<string[]> =>
    (await catalogFlows(CATALOG, { ...settingsOf(x), 'cloudcenter-version': version })).filter((l) => / tcp\/237[56] /.test(l))
  for (const x of [SINGLE, HA]) {
    for (const v of ['4.5', '4.6', '4.6.1']) t.same(await port(v, x), expected(within(DOCKER_ENGINE(2375), rolesOf(x))), `${v} uses 2375`)
    for (const v of ['4.6.2', '4.6.3', '4.7', '4.8', '4.10']) t.same(await port(v, x), expected(within(DOCKER_ENGINE(2376), rolesOf(x))), `${v} uses 2376`)
  }
  t.same(await catalogFlows(CATALOG, { ...settingsOf(HA), 'cloudcenter-version': '4.6' }),
    expected(within([...DOCUMENT, ...DOCKER_ENGINE(2375)], rolesOf(HA))), 'before 4.6.2: the whole document with 2375')
})

t.test('Monitor off removes every Monitor flow and nothing else', async (t) => {
  const isMon = (l: string): boolean => ends(l).some((r) => ['mon', 'mon-ha', 'mon-lb'].includes(r))
  for (const [monitor, x] of [['single', SINGLE], ['ha', HA]] as const) {
    const on = await catalogFlows(CATALOG, settingsOf(x))
    const off = await catalogFlows(CATALOG, settingsOf({ ...x, monitor: 'none' }))
    t.ok(on.some(isMon), `monitor ${monitor} has Monitor flows`)
    t.notOk(off.some(isMon), 'monitor none has none')
    t.same(off, on.filter((l) => !isMon(l)), `monitor ${monitor} -> none removes only Monitor flows`)
  }
})

// Checks an inventory's hosts must test: required document lines between internal roles,
// one per (source host, target host, protocol, port), never a host to itself.
function expectedTested (lines: DocumentFlow[], hosts: Array<{ name: string, roles: string[] }>): string[] {
  const out = new Set<string>()
  for (const l of lines) {
    if (!l.endsWith(' required')) continue
    const [from, to] = ends(l)
    const portSpec = l.split(' ')[1] as string
    for (const s of hosts.filter((h) => h.roles.includes(from))) {
      for (const d of hosts.filter((h) => h.roles.includes(to))) if (s.name !== d.name) out.add(`${s.name}>${d.name} ${portSpec}`)
    }
  }
  return [...out].sort()
}

t.test('the non-HA example inventory plans', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/cisco-cloudcenter.yaml' })
  t.equal(catalog.catalog.id, 'cisco-cloudcenter', 'the inventory names the built-in catalog')
  const plan = buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings })
  const tested = plan.checks.filter((c) => c.skip === null)
  const x: Topology = { ccm: 'standalone', db: 'ha', cco: 'single', amqp: 'single', monitor: 'single' }
  t.same(tested.map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort(), expectedTested(documentFor(x), inventory.inventory.hosts))
  t.equal(tested.length, 21)
  const has = (from: string, to: string, port: number): boolean => tested.some((c) => c.from === from && c.to === to && c.protocol === 'tcp' && c.port === port && c.required)
  t.ok(has('cc-ccm1', 'cc-db1', 5432), 'CCM_SA to MGMTPOSTGRES on 5432')
  t.ok(has('cc-cco1', 'cc-docker1', 2376), 'CCO to the script executor on 2376 (4.7)')
  t.ok(has('cc-amqp1', 'cc-ccm1', 8443) && has('cc-cco1', 'cc-amqp1', 5671))
  t.ok(has('cc-docker1', 'cc-repo1', 80), 'every component reaches the package store on 80')
  t.notOk(plan.checks.some((c) => c.port === 2375 && c.skip === null), 'no 2375 at 4.7')
  t.ok(plan.checks.filter((c) => c.from === null || c.to === null).every((c) => c.skip === 'external' || c.skip === 'condition'), 'external ends are never tested')
})

t.test('the HA example inventory plans', async (t) => {
  const { catalog, inventory } = await loadInputs({ inventory: 'examples/cisco-cloudcenter-ha.yaml' })
  const plan = buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings })
  const tested = plan.checks.filter((c) => c.skip === null)
  t.same(tested.map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`).sort(), expectedTested(documentFor(HA), inventory.inventory.hosts))
  const has = (from: string, to: string, proto: string, port: number): boolean => tested.some((c) => c.from === from && c.to === to && c.protocol === proto && c.port === port)
  t.ok(has('cc-db1', 'cc-db2', 'udp', 5405) && has('cc-db2', 'cc-db1', 'udp', 5405), 'Corosync both ways between master and slave')
  for (const [a, b] of [['cc-cco1', 'cc-cco2'], ['cc-cco2', 'cc-cco3'], ['cc-cco3', 'cc-cco1']]) {
    t.ok(has(a as string, b as string, 'tcp', 27017) && has(b as string, a as string, 'tcp', 5701), `${a} and ${b}: MongoDB and HA data`)
  }
  t.ok(has('cc-amqp1', 'cc-amqp2', 'tcp', 25672) && has('cc-amqp2', 'cc-amqp1', 'tcp', 4369))
  t.ok(has('cc-ccm-lb', 'cc-ccm2', 'tcp', 443) && has('cc-ccm1', 'cc-db2', 'tcp', 5432))
  t.notOk(plan.checks.some((c) => c.from !== null && c.from === c.to), 'no host checks itself')
})

t.test('an HA role under non-HA settings is refused', async (t) => {
  await t.rejects(loadInputs({ inventory: 'examples/cisco-cloudcenter-ha.yaml', set: { 'cco-topology': 'single' } }), /cco-ha|cco-lb/)
  await t.rejects(loadInputs({ inventory: 'examples/cisco-cloudcenter.yaml', set: { monitor: 'none' } }), /mon/)
})
