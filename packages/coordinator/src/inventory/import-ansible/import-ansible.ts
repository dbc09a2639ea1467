import net from 'node:net'
import path from 'node:path'
import { PortcheckError, type Catalog, type Inventory, type InventoryHost, type Problem, type SshSettings } from '@portcheck/protocol'
import { inputError } from '../../catalog/input-error.js'
import { loadCatalog } from '../../catalog/load-catalog.js'
import { readBounded, SourceFile } from '../../catalog/source-file.js'
import { quote } from '../../quote.js'
import { validateInventorySource } from '../load-inventory.js'
import { SSH_FIELDS } from '../ssh-settings.js'
import type { AnsibleInventory, Locator } from './ansible-inventory.js'
import { formatImported } from './format-imported.js'
import { importHost, ImportNotes, type ImportedHost } from './host-settings.js'
import { parseIniInventory } from './parse-ini.js'
import { parseYamlInventory } from './parse-yaml.js'

/** Options of {@link importAnsibleInventory}. */
export interface AnsibleImportOptions {
  /** The Ansible inventory: YAML if its name ends in .yaml, .yml or .json, else INI. */
  file: string
  /** `--role-map GROUP=ROLE[,ROLE…]`, repeatable: a host gets the roles of every group it is in (through child groups too). */
  roleMap: readonly string[]
  /** A built-in catalog id or a catalog file: roles are checked against it, and the inventory names it. Default: none (roles unchecked). */
  catalog?: string
  /** The command line, for the header comment. Default: rebuilt from the options. */
  command?: string
}

/** A portcheck inventory as written: its `catalog:` too. */
export type ImportedInventory = Inventory & { catalog?: string }

/** An imported inventory: its data, its text (YAML with a header comment), and what was said about it. */
export interface AnsibleImport {
  inventory: ImportedInventory
  text: string
  /** Not fatal: groups without a role, hosts left out, settings not imported. Each names file and line. */
  warnings: Problem[]
  /** Ansible hosts in no group of the role map: not in the inventory. */
  leftOut: string[]
}

/** `--role-map` as group → roles; throws PC_ERR_USAGE for a malformed one. */
function parseRoleMap (entries: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const e of entries) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(e)
    const roles = m?.[2]?.split(',').filter((r) => r !== '') ?? []
    if (m === null || roles.length === 0) throw new PortcheckError('PC_ERR_USAGE', `--role-map ${quote(e)}: expected GROUP=ROLE (or GROUP=ROLE,ROLE), e.g. webservers=frontend`)
    const group = m[1] ?? ''
    map.set(group, [...new Set([...(map.get(group) ?? []), ...roles])])
  }
  if (map.size === 0) throw new PortcheckError('PC_ERR_USAGE', '--role-map GROUP=ROLE is required: which Ansible groups play which roles of the catalog')
  return map
}

/** Checks the role map against the inventory's groups and the catalog's roles. */
function checkRoleMap (map: ReadonlyMap<string, string[]>, inv: AnsibleInventory, catalog: Catalog | null): void {
  const groups = [...inv.groups.keys()].filter((g) => g !== 'all')
  for (const [group, roles] of map) {
    if (!inv.groups.has(group)) throw new PortcheckError('PC_ERR_USAGE', `--role-map ${group}=${roles.join(',')}: ${inv.file} has no group ${quote(group)} (groups: ${groups.join(', ')})`)
    if (catalog === null) continue
    for (const role of roles) {
      const def = catalog.roles[role]
      const internal = Object.entries(catalog.roles).filter(([, r]) => r.external !== true).map(([id]) => id)
      if (def === undefined) throw new PortcheckError('PC_ERR_USAGE', `--role-map ${group}=${roles.join(',')}: catalog ${catalog.id} has no role ${quote(role)} (roles: ${internal.join(', ')})`)
      if (def.external === true) throw new PortcheckError('PC_ERR_USAGE', `--role-map ${group}=${roles.join(',')}: role "${role}" of catalog ${catalog.id} is external (${def.title}): no host can have it`)
    }
  }
}

/** Reads and parses an Ansible inventory in either form; throws PC_ERR_INVENTORY_INVALID with every problem. */
async function readAnsible (file: string): Promise<{ inventory: AnsibleInventory, warnings: Problem[] }> {
  const read = await readBounded(file)
  if ('problem' in read) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${file} is invalid:`, [read.problem])
  let parsed: { inventory: AnsibleInventory, problems: Problem[], warnings?: Problem[] }
  if (/\.(ya?ml|json)$/i.test(file)) {
    const { source, problems } = SourceFile.parse(file, read.text)
    if (source === null) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${file} is invalid:`, problems)
    parsed = parseYamlInventory(source)
  } else parsed = parseIniInventory(file, read.text)
  if (parsed.problems.length > 0) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${file} is invalid:`, parsed.problems)
  return { inventory: parsed.inventory, warnings: parsed.warnings ?? [] }
}

/**
 * Moves what every host's SSH settings share to the inventory's top-level `ssh:` (the
 * `all:vars` of most Ansible inventories), keeping each host's differences.
 */
function hoistSsh (hosts: ImportedHost[], origins: Map<string, Locator>): SshSettings {
  const top: Record<string, unknown> = {}
  for (const field of SSH_FIELDS) {
    const values = hosts.map((h) => h.host.ssh[field])
    if (values[0] === undefined || values.some((v) => v !== values[0])) continue
    top[field] = values[0]
    const from = hosts[0]?.origins.get(`ssh.${field}`)
    if (from !== undefined) origins.set(`ssh.${field}`, from)
    for (const h of hosts) delete h.host.ssh[field]
  }
  return top as SshSettings
}

/**
 * Imports an Ansible inventory (INI or YAML) as a portcheck inventory: each host in a group of
 * the role map, with the roles of all its groups, its address (`ansible_host`, else its name,
 * never resolved) and its SSH settings. The result is validated as `portcheck run` would load
 * it (against the catalog, when one is given); a problem names the Ansible file and line the
 * value came from. Throws PC_ERR_INVENTORY_INVALID for the file, PC_ERR_USAGE for the options.
 */
export async function importAnsibleInventory (o: AnsibleImportOptions): Promise<AnsibleImport> {
  const roleMap = parseRoleMap(o.roleMap)
  const catalog = o.catalog !== undefined ? (await loadCatalog(o.catalog)).catalog : null
  const { inventory: inv, warnings } = await readAnsible(o.file)
  inv.reconcile()
  const order = inv.depths()
  if ('cycle' in order) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${o.file} is invalid:`, [{ file: o.file, path: '', message: `its groups are their own children: ${order.cycle.join(' > ')}` }])
  checkRoleMap(roleMap, inv, catalog)

  const notes = new ImportNotes()
  const imported: ImportedHost[] = []
  const leftOut: string[] = []
  for (const host of inv.hosts.values()) {
    const roles = [...new Set([...inv.groupsOf(host.name)].flatMap((g) => roleMap.get(g) ?? []))]
    if (roles.length === 0) { leftOut.push(host.name); continue }
    imported.push(importHost(host.name, roles, host.at, inv.hostVars(host.name, order.depths), notes))
  }
  if (notes.problems.length > 0) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${o.file} cannot be imported:`, notes.problems)
  if (imported.length === 0) throw new PortcheckError('PC_ERR_USAGE', `no host of ${o.file} is in a group of --role-map (${[...roleMap.keys()].join(', ')}): nothing to import`)

  const origins = new Map<string, Locator>()
  const ssh = hoistSsh(imported, origins)
  imported.forEach((h, i) => { for (const [field, at] of h.origins) origins.set(`hosts[${i}].${field}`, at) })
  const hosts: InventoryHost[] = imported.map(({ host }) => {
    const { ssh: own, ...rest } = host
    return Object.keys(own).length > 0 ? { ...rest, ssh: own } : rest
  })
  // A catalog file is named by its absolute path: the inventory may be written anywhere.
  const catalogRef = o.catalog !== undefined && /[/\\]|\.ya?ml$|\.json$/.test(o.catalog) ? path.resolve(o.catalog) : o.catalog
  const inventory: ImportedInventory = { ...(catalogRef !== undefined ? { catalog: catalogRef } : {}), hosts, ...(Object.keys(ssh).length > 0 ? { ssh } : {}) }

  // The groups whose mapping would have given a left-out host a role.
  const unmapped = [...inv.groups.keys()].filter((g) => g !== 'all' && !roleMap.has(g) && leftOut.some((h) => inv.groupsOf(h).has(g)))
  if (unmapped.length > 0) warnings.push({ file: o.file, path: '', message: `groups with no --role-map, whose hosts have no role: ${unmapped.join(', ')}` })
  if (leftOut.length > 0) warnings.push({ file: o.file, path: '', message: `left out, in no group of --role-map: ${leftOut.slice(0, 20).join(', ')}${leftOut.length > 20 ? `, … (${leftOut.length} hosts)` : ''}` })
  const names = hosts.filter((h) => net.isIP(h.address) === 0).map((h) => h.address)
  const text = formatImported(inventory, {
    file: o.file,
    form: inv.form,
    command: o.command ?? ['portcheck inventory import', o.file, ...o.roleMap.map((r) => `--role-map ${r}`), ...(o.catalog !== undefined ? [`--catalog ${o.catalog}`] : [])].join(' '),
    leftOut,
    names
  })
  const validation = validateOutput(text, catalog ?? roleMapCatalog(roleMap), origins, o.file)
  if (validation.problems.length > 0) throw inputError('PC_ERR_INVENTORY_INVALID', `Ansible inventory ${o.file} cannot be imported:`, validation.problems)
  return { inventory, text, warnings: [...warnings, ...notes.warnings(), ...validation.warnings], leftOut }
}

/**
 * Without `--catalog`, what the inventory is checked against: a catalog with exactly the roles
 * of the role map and no flow, so that all the rest (names, addresses, SSH settings) is checked
 * as `portcheck run` will, and the roles when the real catalog is given there.
 */
function roleMapCatalog (roleMap: ReadonlyMap<string, string[]>): Catalog {
  const roles = Object.fromEntries([...new Set([...roleMap.values()].flat())].map((r) => [r, { title: r }]))
  return { id: 'role-map', title: 'the roles of --role-map', roles, flows: [] }
}

/**
 * Loads the written inventory as `portcheck run` will, against the catalog, and turns each problem into one at the Ansible line its value came from. Problems
 * of the whole inventory (a setting the catalog needs) are warnings: the operator adds them.
 */
function validateOutput (text: string, catalog: Catalog, origins: ReadonlyMap<string, Locator>, file: string): { problems: Problem[], warnings: Problem[] } {
  const { source } = SourceFile.parse(file, text)
  if (source === null) throw new Error('the imported inventory does not parse as YAML')
  const found = validateInventorySource(source, catalog).problems
  const problems: Problem[] = []
  const warnings: Problem[] = []
  for (const p of found) {
    const key = [...origins.keys()].filter((k) => p.path === k || p.path.startsWith(`${k}.`) || p.path.startsWith(`${k}[`)).sort((a, b) => b.length - a.length)[0]
    const at = key !== undefined ? origins.get(key) : undefined
    if (at !== undefined) problems.push(at(p.message))
    else warnings.push({ file, path: '', message: `the imported inventory: ${p.path !== '' ? `${p.path}: ` : ''}${p.message}` })
  }
  return { problems, warnings }
}
