import { PortcheckError, type AddressFamily, type Catalog, type Flow, type InventoryHost, type Proto, type SettingValue, type SkipReason } from '@portcheck/protocol'
import { evaluate, formatCondition, type SettingValues } from '../catalog/conditions.js'
import { parsePortSpec } from '../catalog/load-catalog.js'
import { hostPortSetting } from '../catalog/settings.js'
import { familyPaths } from './families.js'
import { assertPlanSize } from './plan-size.js'

export { MAX_CHECKS, planSize, type PlanSize } from './plan-size.js'

/** Why a check is not tested. */

/** One (source, target, protocol, port) to prove, or to report as skipped. */
export interface PlannedCheck {
  /** Position in the plan; stable for a given catalog, inventory and settings. */
  index: number
  /** Every catalog flow that names this port between these hosts. */
  flowIds: string[]
  /** Source host, or null for an external source. */
  from: string | null
  /** Target host, or null for an external target. */
  to: string | null
  fromRole: string
  toRole: string
  /** The source's address this check goes from (its address of `family`), or null for an external source. */
  fromAddress: string | null
  /** The target's address probed (its address of `family`, or its name), or null for an external target. */
  toAddress: string | null
  /**
   * The IP version the check goes over: one check per family both ends have (see
   * {@link familyPaths}). Null for external ends and same-host skips, for two hosts with no
   * family in common, and for a name target that a dual-stack source resolves as its resolver answers.
   */
  family: AddressFamily | null
  protocol: Proto
  port: number
  /** Last port of a range, for external flows kept as one range. */
  portEnd?: number
  /** A required (non-optional) flow asks for it; only required checks decide the exit code. */
  required: boolean
  /** Null when the check is to be tested. */
  skip: SkipReason | null
}

/** What a run checks: the expanded, deduplicated matrix. */
export interface Plan {
  catalog: Catalog
  settings: SettingValues
  hosts: InventoryHost[]
  includeOptional: boolean
  checks: PlannedCheck[]
}

/** Inputs of {@link buildPlan}. */
export interface PlanInput {
  catalog: Catalog
  hosts: InventoryHost[]
  settings: SettingValues
  /** Test optional flows too. Default false. */
  includeOptional?: boolean
}

const SKIP_PRIORITY: Record<SkipReason, number> = { optional: 3, condition: 2, external: 1, 'same-host': 0 }

/** A flow's ports for one target: ranges expanded for hosts, kept whole for external targets. */
function portsFor (catalog: Catalog, flow: Flow, proto: Proto, settings: SettingValues, target: InventoryHost | null, tested: boolean): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const spec of flow[proto] ?? []) {
    const p = parsePortSpec(spec)
    if ('setting' in p) {
      const v = hostPortSetting(catalog, p.setting, settings, target?.settings as Record<string, SettingValue> | undefined)
      if (v === null) {
        // A flow to test needs its port; one skipped anyway (off, optional, external) has no checks.
        if (tested) throw new PortcheckError('PC_ERR_SETTING_INVALID', `flow ${flow.id} takes its port from setting "${p.setting}", which has no value: set it with --set ${p.setting}=PORT`)
        continue
      }
      out.push([v, v])
    } else if (target === null || p.lo === p.hi) out.push([p.lo, p.hi])
    else for (let port = p.lo; port <= p.hi; port++) out.push([port, port])
  }
  return out
}

/**
 * Expands a catalog over an inventory into checks. `from` and `to` the same role means every
 * host of the role to every other host of it; a host that has both ends' roles of a flow
 * gets a `same-host` skip. Checks that several flows produce are merged, listing every flow.
 * A plan of more than MAX_CHECKS checks is refused (PC_ERR_CATALOG_INVALID) from its
 * {@link planSize}, before any check is built.
 */
export function buildPlan (input: PlanInput): Plan {
  const { catalog, hosts, settings } = input
  const includeOptional = input.includeOptional ?? false
  const defs = catalog.settings ?? {}
  const byRole = new Map<string, InventoryHost[]>()
  for (const h of hosts) {
    for (const r of h.roles) {
      const list = byRole.get(r) ?? []
      list.push(h)
      byRole.set(r, list)
    }
  }
  const checks: PlannedCheck[] = []
  // Dedup key as a number (source, target, protocol, family, port: 16+16+1+1+16 bits, exact in a double):
  // a million string keys would cost hundreds of megabytes. Ranges kept whole (external flows)
  // are rare and keyed by string.
  const index = new Map<number, PlannedCheck>()
  const rangeIndex = new Map<string, PlannedCheck>()
  const hostIds = new Map<string, number>(hosts.map((h, i) => [h.name, i]))
  const roleIds = new Map<string, number>(Object.keys(catalog.roles).map((r, i) => [r, hosts.length + i]))
  if (hosts.length + roleIds.size > 65535) throw new PortcheckError('PC_ERR_INVENTORY_INVALID', 'an inventory may hold at most 65,000 hosts')
  assertPlanSize(input)
  // Checks share their flow-id lists: a million checks of one flow hold one array, not a million.
  const idLists = new Map<string, string[]>()
  const ids = (list: readonly string[]): string[] => {
    const key = list.join('\0')
    let shared = idLists.get(key)
    if (shared === undefined) { shared = Object.freeze([...list]) as string[]; idLists.set(key, shared) }
    return shared
  }
  /** Another flow names an existing check: it joins its flows, and a flow that tests the check wins over flows that skip it. */
  const merge = (existing: PlannedCheck, flowId: string, fromRole: string, toRole: string, skip: SkipReason | null, optional: boolean): void => {
    if (!existing.flowIds.includes(flowId)) existing.flowIds = ids([...existing.flowIds, flowId])
    if (skip === null && existing.skip !== null) {
      // The testing flow also names the roles.
      existing.skip = null
      existing.required = !optional
      existing.fromRole = fromRole
      existing.toRole = toRole
    } else if (skip === null || existing.skip === null) {
      if (skip === null) existing.required ||= !optional
    } else {
      if (SKIP_PRIORITY[skip] > SKIP_PRIORITY[existing.skip]) existing.skip = skip
      existing.required ||= !optional
    }
  }

  for (const flow of catalog.flows) {
    const fromExt = catalog.roles[flow.from]?.external === true
    const toExt = catalog.roles[flow.to]?.external === true
    const active = evaluate(flow.when, settings, defs) &&
      evaluate(catalog.roles[flow.from]?.when, settings, defs) &&
      evaluate(catalog.roles[flow.to]?.when, settings, defs)
    const optional = flow.optional === true
    const flowSkip: SkipReason | null = !active ? 'condition' : fromExt || toExt ? 'external' : optional && !includeOptional ? 'optional' : null
    const sources: Array<InventoryHost | null> = fromExt ? [null] : byRole.get(flow.from) ?? []
    const targets: Array<InventoryHost | null> = toExt ? [null] : byRole.get(flow.to) ?? []
    const mesh = flow.from === flow.to

    for (const src of sources) {
      for (const dst of targets) {
        if (src !== null && dst !== null && src.name === dst.name && mesh) continue
        const skip: SkipReason | null = src !== null && dst !== null && src.name === dst.name ? 'same-host' : flowSkip
        const srcId = src === null ? roleIds.get(flow.from) as number : hostIds.get(src.name) as number
        const dstId = dst === null ? roleIds.get(flow.to) as number : hostIds.get(dst.name) as number
        // Between two hosts, one check per family; an external end or one host has no family.
        const paths: ReadonlyArray<Pick<PlannedCheck, 'family' | 'fromAddress' | 'toAddress'>> = src !== null && dst !== null && skip !== 'same-host'
          ? familyPaths(src, dst)
          : [{ family: null, fromAddress: src?.address ?? null, toAddress: dst?.address ?? null }]
        for (const proto of ['tcp', 'udp'] as const) {
          for (const [port, portEnd] of portsFor(catalog, flow, proto, settings, dst, skip === null)) {
            for (const path of paths) {
              // 16+16+1+1+16 bits: a pair never has both a check without a family and one with.
              const key = (((srcId * 65536 + dstId) * 2 + (proto === 'tcp' ? 0 : 1)) * 2 + (path.family === 'ipv6' ? 1 : 0)) * 65536 + port
              const rangeKey = portEnd !== port ? `${key}-${portEnd}` : null
              const existing = rangeKey === null ? index.get(key) : rangeIndex.get(rangeKey)
              if (existing !== undefined) { merge(existing, flow.id, flow.from, flow.to, skip, optional); continue }
              const check: PlannedCheck = {
                index: checks.length,
                flowIds: ids([flow.id]),
                from: src?.name ?? null,
                to: dst?.name ?? null,
                fromRole: flow.from,
                toRole: flow.to,
                fromAddress: path.fromAddress,
                toAddress: path.toAddress,
                family: path.family,
                protocol: proto,
                port,
                ...(portEnd !== port ? { portEnd } : {}),
                required: !optional,
                skip
              }
              checks.push(check)
              if (rangeKey === null) index.set(key, check)
              else rangeIndex.set(rangeKey, check)
            }
          }
        }
      }
    }
  }
  return { catalog, settings, hosts, includeOptional, checks }
}

/** One row of `portcheck catalog show`: a flow's port between two roles. */
export interface CatalogRow {
  flowId: string
  fromRole: string
  toRole: string
  protocol: Proto
  /** The port, or the first of a range. For a port setting, its global value, or null if the user must set it. */
  port: number | null
  /** Last port of a range. */
  portEnd?: number
  /** The per-host setting the port comes from, if any. */
  portSetting?: string
  required: boolean
  optional: boolean
  /** The flow's condition as text, or null. */
  condition: string | null
  /** Whether the condition (and its roles' conditions) hold for the settings. */
  active: boolean
  external: boolean
  mesh: boolean
  purpose: string
  ref: string | null
  note: string | null
}

/** Expands a catalog's flows to one row per (fromRole, toRole, protocol, port or range). */
export function catalogRows (catalog: Catalog, settings: SettingValues, options: { all?: boolean } = {}): CatalogRow[] {
  const defs = catalog.settings ?? {}
  const rows: CatalogRow[] = []
  for (const flow of catalog.flows) {
    const roleConds = [catalog.roles[flow.from]?.when, catalog.roles[flow.to]?.when, flow.when].filter((c) => c !== undefined)
    const active = roleConds.every((c) => evaluate(c, settings, defs))
    if (!active && options.all !== true) continue
    const condition = roleConds.length === 0 ? null : roleConds.map((c) => formatCondition(c)).join(' and ')
    for (const proto of ['tcp', 'udp'] as const) {
      for (const spec of flow[proto] ?? []) {
        const p = parsePortSpec(spec)
        const base = {
          flowId: flow.id,
          fromRole: flow.from,
          toRole: flow.to,
          protocol: proto,
          required: flow.optional !== true,
          optional: flow.optional === true,
          condition,
          active,
          external: catalog.roles[flow.from]?.external === true || catalog.roles[flow.to]?.external === true,
          mesh: flow.from === flow.to,
          purpose: flow.purpose,
          ref: flow.ref ?? null,
          note: flow.note ?? null
        }
        if ('setting' in p) rows.push({ ...base, port: hostPortSetting(catalog, p.setting, settings, undefined), portSetting: p.setting })
        else rows.push({ ...base, port: p.lo, ...(p.hi !== p.lo ? { portEnd: p.hi } : {}) })
      }
    }
  }
  return rows
}
