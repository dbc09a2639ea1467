import net from 'node:net'
import type { Catalog, Inventory, Problem, SettingValue } from '@portcheck/protocol'
import type { SettingValues } from '../catalog/conditions.js'
import { schemaProblemsOfInventory } from '../catalog/schema.js'
import { coerceSetting, resolveSettings, roleConditionProblem, unsetPortProblems, type SettingInput } from '../catalog/settings.js'
import { inputError } from '../catalog/input-error.js'
import { cut, quote } from '../quote.js'
import { SourceFile } from '../catalog/source-file.js'
import { assertPlanSize } from '../plan/plan-size.js'
import { resolveSshSettings, type ResolveSshOptions, type SshByHost } from './ssh-settings.js'

/** An inventory that passed validation against a catalog, with its settings resolved. */
export interface LoadedInventory {
  inventory: Inventory
  file: string
  /** Global settings: catalog defaults, then the inventory's, then `--set`. */
  settings: SettingValues
  /**
   * Each host's SSH settings (for `--launch ssh`): the inventory's `ssh:` overridden field by
   * field by the host's, `identity` made absolute. Every host has an entry, maybe empty.
   */
  ssh: SshByHost
}

/** Options of {@link loadInventory} and {@link validateInventorySource}. */
export interface InventoryOptions {
  /** What SSH settings must hold beyond the schema (see {@link ResolveSshOptions}). */
  ssh?: ResolveSshOptions
}

/**
 * Most hosts an inventory may hold (default 65,000): a plan numbers hosts and the catalog's
 * roles together in 16 bits.
 */
export const MAX_HOSTS = 65_000

/** Hands `--set` overrides to {@link resolveSettings} with problems that name the option. */
function overrideInputs (overrides: Readonly<Record<string, string>>): Array<[string, SettingInput]> {
  return Object.entries(overrides).map(([name, value]) => [name, {
    value,
    problem: (message: string): Problem => ({ file: '--set', path: cut(name), message })
  }])
}

/** Validates a parsed inventory against the catalog; returns the problems and the resolved settings. */
export function validateInventorySource (source: SourceFile, catalog: Catalog, overrides: Readonly<Record<string, string>> = {}, opts: InventoryOptions = {}): { problems: Problem[], settings: SettingValues, ssh: SshByHost } {
  // Before the schema: validating 170,000 hosts only to refuse them takes seconds.
  const listed = (source.data as { hosts?: unknown } | null)?.hosts
  if (Array.isArray(listed) && listed.length > MAX_HOSTS) {
    return { problems: [source.problem(['hosts'], `${listed.length.toLocaleString('en-US')} hosts: an inventory may hold at most ${MAX_HOSTS.toLocaleString('en-US')}; split it`)], settings: {}, ssh: new Map() }
  }
  const schema = schemaProblemsOfInventory(source)
  if (schema.length > 0) return { problems: schema, settings: {}, ssh: new Map() }
  const inv = source.data as Inventory
  const problems: Problem[] = []
  const defs = catalog.settings ?? {}

  const inputs: Array<[string, SettingInput]> = Object.entries(inv.settings ?? {}).map(([name, value]) => [name, {
    value,
    problem: (message: string) => source.problem(['settings', name], message)
  }])
  const resolved = resolveSettings(catalog, [...inputs, ...overrideInputs(overrides)])
  problems.push(...resolved.problems)

  const names = new Map<string, number>()
  const addresses = new Map<string, number>()
  inv.hosts.forEach((host, i) => {
    const firstName = names.get(host.name)
    if (firstName !== undefined) problems.push(source.problem(['hosts', i, 'name'], `duplicate host name ${quote(host.name)} (also hosts[${firstName}])`))
    else names.set(host.name, i)
    const addr = host.address.toLowerCase()
    const firstAddr = addresses.get(addr)
    if (firstAddr !== undefined) {
      problems.push(source.problem(['hosts', i, 'address'], `address ${cut(host.address)} is already host ${quote(inv.hosts[firstAddr]?.name ?? '')} (hosts[${firstAddr}]): give one host several roles instead`))
    } else addresses.set(addr, i)
    if (host.address.includes(':') && !net.isIPv6(host.address.split('%')[0] ?? '')) {
      problems.push(source.problem(['hosts', i, 'address'], `${quote(host.address)} is not a valid IPv6 address`))
    }
    host.roles.forEach((role, j) => {
      const def = catalog.roles[role]
      if (def === undefined) {
        const internal = Object.entries(catalog.roles).filter(([, r]) => r.external !== true).map(([id]) => id)
        problems.push(source.problem(['hosts', i, 'roles', j], `unknown role ${quote(role)} for catalog ${catalog.id} (roles: ${internal.join(', ')})`))
      } else if (def.external === true) {
        problems.push(source.problem(['hosts', i, 'roles', j], `role "${role}" is external (${def.title}): it stands for endpoints that run no agent, so no host can have it`))
      } else {
        const why = roleConditionProblem(catalog, role, resolved.values)
        if (why !== null) problems.push(source.problem(['hosts', i, 'roles', j], why))
      }
    })
    for (const [name, value] of Object.entries(host.settings ?? {})) {
      const def = defs[name]
      const at = ['hosts', i, 'settings', name]
      if (def === undefined) problems.push(source.problem(at, `unknown setting ${quote(name)} for catalog ${catalog.id}`))
      else if (def.scope !== 'host') problems.push(source.problem(at, `setting "${name}" applies to the whole inventory: set it under the top-level settings`))
      else {
        const c = coerceSetting(def, name, value)
        if ('error' in c) problems.push(source.problem(at, c.error))
        else (host.settings as Record<string, SettingValue>)[name] = c.value
      }
    }
  })
  const ssh = resolveSshSettings(source, inv, opts.ssh)
  problems.push(...ssh.problems)
  if (problems.length === 0) {
    for (const message of unsetPortProblems(catalog, inv.hosts, resolved.values)) problems.push(source.problem(['settings'], message))
  }
  return { problems, settings: resolved.values, ssh: ssh.ssh }
}

/**
 * Reads and validates an inventory for a catalog, applying `--set` overrides and resolving each
 * host's SSH settings (with `opts.ssh.checkFiles`, key files must exist). Throws
 * PC_ERR_INVENTORY_INVALID listing every problem (or PC_ERR_SETTING_INVALID if only `--set` is
 * wrong), and PC_ERR_CATALOG_INVALID if the plan would be too big to run: `portcheck run`
 * learns it before it waits for agents.
 */
export async function loadInventory (file: string, catalog: Catalog, overrides: Readonly<Record<string, string>> = {}, opts: InventoryOptions = {}): Promise<LoadedInventory> {
  const read = await SourceFile.read(file)
  if (read.source === null) throw inputError('PC_ERR_INVENTORY_INVALID', `inventory ${file} is invalid:`, read.problems)
  const { problems, settings, ssh } = validateInventorySource(read.source, catalog, overrides, opts)
  if (problems.length > 0) {
    const onlySet = problems.every((p) => p.file === '--set')
    throw inputError(onlySet ? 'PC_ERR_SETTING_INVALID' : 'PC_ERR_INVENTORY_INVALID', onlySet ? 'invalid --set:' : `inventory ${file} is invalid:`, problems)
  }
  const inventory = read.source.data as Inventory
  assertPlanSize({ catalog, hosts: inventory.hosts, settings })
  return { inventory, file, settings, ssh }
}
