import { PortcheckError, type Catalog, type InventoryHost, type Problem, type SettingDef, type SettingValue } from '@portcheck/protocol'
import { evaluate, formatCondition, settingValueProblem, type SettingValues } from './conditions.js'
import { inputError } from './input-error.js'
import { cut, quote } from '../quote.js'

/**
 * Parses repeated `--set name=value` arguments. Values stay text here; they are typed
 * against the catalog's setting definitions by {@link resolveSettings}.
 */
export function parseSetArgs (args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const a of args) {
    const eq = a.indexOf('=')
    if (eq <= 0) throw new PortcheckError('PC_ERR_USAGE', `--set ${cut(a)}: expected name=value`)
    out[a.slice(0, eq).trim()] = a.slice(eq + 1).trim()
  }
  return out
}

/** Turns a value from the command line or a file into the setting's type, or says why it cannot. */
export function coerceSetting (def: SettingDef, name: string, raw: SettingValue): { value: SettingValue } | { error: string } {
  let v: SettingValue = raw
  if (typeof raw === 'string') {
    if (def.type === 'boolean' && (raw === 'true' || raw === 'false')) v = raw === 'true'
    else if ((def.type === 'number' || def.type === 'port') && raw.trim() !== '' && Number.isFinite(Number(raw))) v = Number(raw)
  }
  const problem = settingValueProblem(def, v, name)
  return problem === null ? { value: v } : { error: problem }
}

/** Where a setting value came from, for error messages. */
export interface SettingInput {
  value: SettingValue
  /** Builds a problem pointing at the value. */
  problem: (message: string) => Problem
}

/**
 * Computes the global settings: catalog defaults, then the inventory's `settings`, then
 * `--set` overrides. Every unknown name or ill-typed value is a problem.
 */
export function resolveSettings (catalog: Catalog, inputs: ReadonlyArray<[string, SettingInput]>): { values: SettingValues, problems: Problem[] } {
  const defs = catalog.settings ?? {}
  const values: Record<string, SettingValue> = {}
  const problems: Problem[] = []
  for (const [name, def] of Object.entries(defs)) {
    if (def.scope !== 'host' && def.default !== undefined) values[name] = def.type === 'version' ? String(def.default) : def.default
  }
  for (const [name, input] of inputs) {
    const def = defs[name]
    if (def === undefined) {
      const known = Object.keys(defs)
      problems.push(input.problem(`unknown setting ${quote(name)} for catalog ${catalog.id} (settings: ${known.length > 0 ? known.join(', ') : 'none'})`))
      continue
    }
    const c = coerceSetting(def, name, input.value)
    if ('error' in c) { problems.push(input.problem(c.error)); continue }
    // For a per-host setting, a global value becomes the default of every host.
    values[name] = c.value
  }
  return { values, problems }
}

/**
 * The value of a port setting for one host: the host's own, else the global one, else the
 * default; null when none is set (a port the catalog leaves to the user).
 */
export function hostPortSetting (catalog: Catalog, name: string, global: SettingValues, host: Readonly<Record<string, SettingValue>> | undefined): number | null {
  const v = host?.[name] ?? global[name] ?? catalog.settings?.[name]?.default
  return v === undefined ? null : Number(v)
}

/**
 * Every active flow whose port comes from a setting needs a value for each target host. Returns
 * what is missing, one message per flow and setting, naming the hosts.
 */
export function unsetPortProblems (catalog: Catalog, hosts: readonly InventoryHost[], values: SettingValues): string[] {
  const defs = catalog.settings ?? {}
  const out: string[] = []
  for (const flow of catalog.flows) {
    const active = evaluate(flow.when, values, defs) && evaluate(catalog.roles[flow.from]?.when, values, defs) && evaluate(catalog.roles[flow.to]?.when, values, defs)
    // Optional flows are only checked on request; `--include-optional` without the port fails then, by name.
    if (!active || flow.optional === true) continue
    const sourcesExist = catalog.roles[flow.from]?.external === true || hosts.some((h) => h.roles.includes(flow.from))
    if (!sourcesExist) continue
    const targets = catalog.roles[flow.to]?.external === true ? [undefined] : hosts.filter((h) => h.roles.includes(flow.to))
    for (const spec of [...(flow.tcp ?? []), ...(flow.udp ?? [])]) {
      if (typeof spec !== 'object') continue
      const unset = targets.filter((h) => hostPortSetting(catalog, spec.setting, values, h?.settings) === null)
      if (unset.length === 0) continue
      const who = unset[0] === undefined ? '' : ` (for ${unset.map((h) => h?.name ?? '').join(', ')})`
      out.push(`flow ${flow.id} (${flow.from} to ${flow.to}) is on and takes its port from setting "${spec.setting}", which has no value${who}: the document names no port, so set it with --set ${spec.setting}=PORT or under settings:${defs[spec.setting]?.scope === 'host' ? ' (or per host)' : ''}`)
    }
  }
  return out
}

/** Why a host cannot have this role under these settings (an HA-only role in a non-HA setup), or null. */
export function roleConditionProblem (catalog: Catalog, role: string, values: SettingValues): string | null {
  const def = catalog.roles[role]
  if (def === undefined || evaluate(def.when, values, catalog.settings ?? {})) return null
  return `role "${role}" exists only when ${formatCondition(def.when) ?? ''}, which these settings do not meet`
}

/**
 * Applies per-run overrides (from the API or the dashboard) on top of resolved settings.
 * Throws PC_ERR_SETTING_INVALID if a value is wrong or leaves a host with a role that no
 * longer exists.
 */
export function applyOverrides (catalog: Catalog, hosts: readonly InventoryHost[], base: SettingValues, overrides: Readonly<Record<string, SettingValue>>): SettingValues {
  const inputs: Array<[string, SettingInput]> = Object.entries(base).map(([name, value]) => [name, { value, problem: (message) => ({ file: 'settings', path: name, message }) }])
  for (const [name, value] of Object.entries(overrides)) {
    // A request's names are anyone's text: cut like a path in a file.
    inputs.push([name, { value, problem: (message) => ({ file: 'settings', path: cut(name), message }) }])
  }
  const { values, problems } = resolveSettings(catalog, inputs)
  hosts.forEach((h, i) => h.roles.forEach((r, j) => {
    const why = roleConditionProblem(catalog, r, values)
    if (why !== null) problems.push({ file: 'inventory', path: `hosts[${i}].roles[${j}]`, message: `${h.name}: ${why}` })
  }))
  if (problems.length === 0) for (const message of unsetPortProblems(catalog, hosts, values)) problems.push({ file: 'settings', path: '', message })
  if (problems.length > 0) throw inputError('PC_ERR_SETTING_INVALID', 'invalid settings:', problems)
  return values
}
