import { PortcheckError, type Catalog, type InventoryHost } from '@portcheck/protocol'
import { evaluate, type SettingValues } from '../catalog/conditions.js'
import { parsePortSpec } from '../catalog/load-catalog.js'
import { hostPortSetting } from '../catalog/settings.js'
import { familyClass, familyPathCount, type FamilyClass } from './families.js'

const FAMILY_CLASSES: readonly FamilyClass[] = ['one', 'dual', 'name']

/**
 * Most checks one plan may hold (default 1,000,000). What the rest of the tool is measured
 * to handle (docs/benchmarks.md): 999,000 checks run in about 10 s with a 688 MB coordinator,
 * and `portcheck plan --format json` writes 1,000,000 checks as 317 MB of text, where
 * 1,700,000 would pass V8's longest string (512 MiB) and die.
 */
export const MAX_CHECKS = 1_000_000

/** What one flow adds to a plan, before checks it shares with other flows are merged. */
export interface FlowSize {
  flowId: string
  from: string
  to: string
  /** (source, target) pairs: hosts of the roles, or one for an external end; a pair checked over two families counts twice. */
  pairs: number
  /** Ports per pair, TCP and UDP together; a range toward hosts counts each of its ports. */
  ports: number
  /** `pairs × ports`. */
  checks: number
  /** False when every check is listed as skipped (a condition that is off, optional, external). */
  tested: boolean
}

/** How big a plan would be, worked out without building it. */
export interface PlanSize {
  /**
   * At most this many checks; exact unless a host has two roles whose flows name the same
   * port toward the same target, or a port setting's value is also a listed port (those
   * checks merge into one).
   */
  checks: number
  /** Every flow with checks, most checks first. */
  flows: FlowSize[]
}

/** Inputs of {@link planSize}: those of `buildPlan`. */
export interface PlanSizeInput {
  catalog: Catalog
  hosts: readonly InventoryHost[]
  settings: SettingValues
  /** Test optional flows too; it changes what is skipped, not the size. Default false. */
  includeOptional?: boolean
}

/** Distinct ports in a set of ranges. */
function unionSize (ranges: Array<[number, number]>): number {
  ranges.sort((a, b) => a[0] - b[0])
  let total = 0
  let end = -1
  for (const [lo, hi] of ranges) {
    if (hi <= end) continue
    total += hi - Math.max(lo, end + 1) + 1
    end = hi
  }
  return total
}

/**
 * The ports a set of flows asks for toward one target: toward hosts a range counts port by
 * port, toward an external role it is one check, as `buildPlan` expands them.
 */
function portCount (specs: ReadonlyArray<ReturnType<typeof parsePortSpec>>, externalTarget: boolean, valued: (setting: string) => boolean): number {
  const ranges: Array<[number, number]> = []
  const whole = new Set<string>()
  const settings = new Set<string>()
  for (const p of specs) {
    // A port setting without a value has no checks (or, for a flow to test, fails the plan).
    if ('setting' in p) {
      if (valued(p.setting)) settings.add(p.setting)
    } else if (externalTarget) whole.add(`${p.lo}-${p.hi}`)
    else ranges.push([p.lo, p.hi])
  }
  // A port setting is one port per target; it may equal a listed port, hence "at most".
  return unionSize(ranges) + whole.size + settings.size
}

/**
 * Counts the checks {@link buildPlan} would make, from the number of hosts in each role and
 * the ports of each flow, in time proportional to the hosts and the flows: a plan too big to
 * build is refused before a single check exists. Flows between the same two roles are merged
 * port by port, as the plan merges them; see {@link PlanSize.checks} for when the count is an
 * upper bound.
 */
export function planSize (input: PlanSizeInput): PlanSize {
  const { catalog, hosts, settings } = input
  const defs = catalog.settings ?? {}
  // Hosts per role and family class: a pair of hosts is checked once per family they share.
  const perRole = new Map<string, Record<FamilyClass, number>>()
  for (const h of hosts) {
    const c = familyClass(h)
    for (const r of h.roles) {
      let counts = perRole.get(r)
      if (counts === undefined) { counts = { one: 0, dual: 0, name: 0 }; perRole.set(r, counts) }
      counts[c]++
    }
  }
  const EXTERNAL: Record<FamilyClass, number> = { one: 1, dual: 0, name: 0 }
  const NONE: Record<FamilyClass, number> = { one: 0, dual: 0, name: 0 }
  const ends = (role: string): Record<FamilyClass, number> => catalog.roles[role]?.external === true ? EXTERNAL : perRole.get(role) ?? NONE
  const pairsOf = (from: string, to: string): number => {
    const a = ends(from)
    const b = ends(to)
    let n = 0
    for (const x of FAMILY_CLASSES) for (const y of FAMILY_CLASSES) n += a[x] * b[y] * familyPathCount(x, y)
    // A flow from a role to itself is a mesh: every host to every other one.
    if (from === to && catalog.roles[from]?.external !== true) for (const x of FAMILY_CLASSES) n -= a[x] * familyPathCount(x, x)
    return n
  }

  const valuedFor = (role: string) => (setting: string): boolean =>
    hostPortSetting(catalog, setting, settings, undefined) !== null ||
    hosts.some((h) => h.roles.includes(role) && h.settings?.[setting] !== undefined)

  const flows: FlowSize[] = []
  // Flows between the same roles reach the same pairs: their ports merge, per protocol.
  const groups = new Map<string, { pairs: number, external: boolean, valued: (setting: string) => boolean, tcp: Array<ReturnType<typeof parsePortSpec>>, udp: Array<ReturnType<typeof parsePortSpec>> }>()
  for (const flow of catalog.flows) {
    const pairs = pairsOf(flow.from, flow.to)
    if (pairs === 0) continue
    const external = catalog.roles[flow.to]?.external === true
    const key = `${flow.from}\0${flow.to}`
    const group = groups.get(key) ?? { pairs, external, valued: valuedFor(flow.to), tcp: [], udp: [] }
    groups.set(key, group)
    let ports = 0
    for (const proto of ['tcp', 'udp'] as const) {
      const specs = (flow[proto] ?? []).map(parsePortSpec)
      group[proto].push(...specs)
      ports += portCount(specs, external, group.valued)
    }
    const active = evaluate(flow.when, settings, defs) && evaluate(catalog.roles[flow.from]?.when, settings, defs) && evaluate(catalog.roles[flow.to]?.when, settings, defs)
    const tested = active && !external && catalog.roles[flow.from]?.external !== true && (flow.optional !== true || input.includeOptional === true)
    flows.push({ flowId: flow.id, from: flow.from, to: flow.to, pairs, ports, checks: pairs * ports, tested })
  }
  let checks = 0
  for (const g of groups.values()) checks += g.pairs * (portCount(g.tcp, g.external, g.valued) + portCount(g.udp, g.external, g.valued))
  flows.sort((a, b) => b.checks - a.checks)
  return { checks, flows }
}

const n = (x: number): string => x.toLocaleString('en-US')

/**
 * Throws PC_ERR_CATALOG_INVALID when the plan would have more than {@link MAX_CHECKS}
 * checks, naming the figure, the flows that make it and how to narrow it.
 */
export function assertPlanSize (input: PlanSizeInput): PlanSize {
  const size = planSize(input)
  if (size.checks <= MAX_CHECKS) return size
  const top = size.flows.slice(0, 3).map((f) => `${f.flowId} (${f.from} to ${f.to}${f.tested ? '' : ', skipped'}) ${n(f.checks)} (${n(f.pairs)} host pairs × ${n(f.ports)} ports)`)
  const skipped = size.flows.slice(0, 3).some((f) => !f.tested) ? ' Skipped flows count too: the plan lists each of their checks.' : ''
  throw new PortcheckError('PC_ERR_CATALOG_INVALID',
    `the plan would have up to ${n(size.checks)} checks, more than the ${n(MAX_CHECKS)} a run can hold; ` +
    `the largest ${top.length === 1 ? 'flow' : 'flows'}: ${top.join(', ')}. Narrow it: fewer hosts in these roles per run (split the inventory ` +
    `and run each part), or fewer ports in the catalog's flows (a range toward hosts is one check per port).${skipped}`)
}
