import { readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { PortcheckError, sortProblems, type Catalog, type PortSpec, type Problem } from '@portcheck/protocol'
import { conditionProblems, settingValueProblem } from './conditions.js'
import { inputError } from './input-error.js'
import { neverAppliesWarnings } from './satisfiability.js'
import { cut } from '../quote.js'
import { catalogsDir, schemaProblemsOfCatalog } from './schema.js'
import { SourceFile, type FieldPath } from './source-file.js'

/** A catalog that passed validation, and where it came from. */
export interface LoadedCatalog {
  catalog: Catalog
  /** The file it was read from. */
  file: string
  /** True for one of the catalogs shipped in catalogs/. */
  builtin: boolean
}

/** A port spec with its range worked out: a single port has lo === hi. */
export type ParsedPort = { lo: number, hi: number } | { setting: string }

/** Parses a port spec that passed the schema: 9638, "30000-32767" or { setting }. */
export function parsePortSpec (spec: PortSpec): ParsedPort {
  if (typeof spec === 'number') return { lo: spec, hi: spec }
  if (typeof spec === 'string') {
    const [lo, hi] = spec.split('-').map(Number) as [number, number]
    return { lo, hi }
  }
  return { setting: spec.setting }
}

/** Consistency checks the schema cannot express: references between roles, flows and settings. */
export function semanticProblemsOfCatalog (source: SourceFile, catalog: Catalog): Problem[] {
  const problems: Problem[] = []
  const add = (p: FieldPath, message: string): void => { problems.push(source.problem(p, message)) }
  const roleIds = Object.keys(catalog.roles)
  const defs = catalog.settings ?? {}

  for (const [name, def] of Object.entries(defs)) {
    if (def.enum !== undefined && def.type !== 'string') add(['settings', name, 'enum'], 'only a string setting can have enum values')
    if (def.default === undefined) {
      if (def.type !== 'port') add(['settings', name], 'a default is required (only a port setting may leave it to the user)')
    } else {
      const wrong = settingValueProblem(def, def.default, name)
      if (wrong !== null) add(['settings', name, 'default'], `default does not fit: ${wrong}`)
    }
    if (def.scope === 'host' && def.type !== 'port') add(['settings', name, 'scope'], 'only a port setting can have scope host (a per-host port)')
  }
  for (const [id, role] of Object.entries(catalog.roles)) {
    for (const c of conditionProblems(role.when, defs, ['roles', id, 'when'])) add(c.path, c.message)
  }

  const flowIds = new Map<string, number>()
  catalog.flows.forEach((flow, i) => {
    const at = (...rest: FieldPath): FieldPath => ['flows', i, ...rest]
    const first = flowIds.get(flow.id)
    if (first !== undefined) add(at('id'), `duplicate flow id "${flow.id}" (also flows[${first}])`)
    else flowIds.set(flow.id, i)
    for (const end of ['from', 'to'] as const) {
      if (!Object.hasOwn(catalog.roles, flow[end])) add(at(end), `unknown role "${flow[end]}" (roles: ${roleIds.join(', ')})`)
    }
    if (catalog.roles[flow.from]?.external === true && catalog.roles[flow.to]?.external === true) {
      add(at(), `both ends ("${flow.from}" and "${flow.to}") are external roles: no agent could ever check it`)
    }
    for (const proto of ['tcp', 'udp'] as const) {
      const seen = new Map<string, number>()
      ;(flow[proto] ?? []).forEach((spec, j) => {
        const p = parsePortSpec(spec)
        if ('setting' in p) {
          const def = defs[p.setting]
          if (def === undefined) add(at(proto, j, 'setting'), `unknown setting "${p.setting}" (declared: ${Object.keys(defs).join(', ') || 'none'})`)
          else if (def.type !== 'port') add(at(proto, j, 'setting'), `setting "${p.setting}" is a ${def.type}, not a port`)
        } else {
          if (p.lo < 1 || p.hi > 65535) add(at(proto, j), `port range "${String(spec)}" must stay within 1-65535`)
          else if (p.lo > p.hi) add(at(proto, j), `port range "${String(spec)}" runs backwards: write "${p.hi}-${p.lo}"`)
        }
        const key = JSON.stringify(p)
        const dup = seen.get(key)
        if (dup !== undefined) add(at(proto, j), `port listed twice (also ${proto}[${dup}])`)
        else seen.set(key, j)
      })
    }
    for (const c of conditionProblems(flow.when, defs, at('when'))) add(c.path, c.message)
  })
  return problems
}

/** Validates a parsed catalog: schema first, then consistency. */
export function validateCatalogSource (source: SourceFile): Problem[] {
  const schema = schemaProblemsOfCatalog(source)
  if (schema.length > 0) return schema
  return semanticProblemsOfCatalog(source, source.data as Catalog)
}

async function readValidCatalog (file: string): Promise<{ source: SourceFile, catalog: Catalog }> {
  const { source, problems } = await SourceFile.read(file)
  const all = source === null ? problems : validateCatalogSource(source)
  if (all.length > 0 || source === null) {
    throw inputError('PC_ERR_CATALOG_INVALID', `catalog ${file} is invalid:`, all)
  }
  return { source, catalog: source.data as Catalog }
}

/** Reads and validates a catalog file; throws PC_ERR_CATALOG_INVALID listing every problem. */
export async function loadCatalogFile (file: string, builtin = false): Promise<LoadedCatalog> {
  const { catalog } = await readValidCatalog(file)
  return { catalog, file, builtin }
}

/**
 * Validates a catalog file like {@link loadCatalogFile}, and also returns its warnings: what is
 * valid but almost certainly a mistake (today, flows that can never apply; see satisfiability.ts).
 * Warnings do not stop a catalog from loading, so `plan` and `run` never compute them.
 */
export async function checkCatalogFile (file: string): Promise<{ catalog: Catalog, warnings: Problem[] }> {
  const { source, catalog } = await readValidCatalog(file)
  return { catalog, warnings: sortProblems(neverAppliesWarnings(source, catalog)) }
}

const ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/

/**
 * Loads a catalog by built-in id (`chef-automate-ha`) or by path (`./my-product.yaml`).
 * A bare word that is not a built-in and not a file gets PC_ERR_CATALOG_NOT_FOUND listing the built-ins.
 */
export async function loadCatalog (idOrPath: string): Promise<LoadedCatalog> {
  const dir = catalogsDir()
  // A bare id names a built-in catalog first; a file is named with a path or an extension.
  if (ID_RE.test(idOrPath)) {
    const file = path.join(dir, `${idOrPath}.yaml`)
    if (existsSync(file)) return await loadCatalogFile(file, true)
    if (existsSync(idOrPath)) return await loadCatalogFile(idOrPath)
    const ids = (await listCatalogFiles()).map((f) => path.basename(f, '.yaml'))
    throw new PortcheckError('PC_ERR_CATALOG_NOT_FOUND', `no built-in catalog "${idOrPath}" and no such file (built-in: ${ids.join(', ')})`)
  }
  if (!existsSync(idOrPath)) throw new PortcheckError('PC_ERR_CATALOG_NOT_FOUND', `catalog file ${cut(idOrPath)} not found`)
  return await loadCatalogFile(idOrPath)
}

/** The built-in catalog files, sorted. */
export async function listCatalogFiles (): Promise<string[]> {
  const dir = catalogsDir()
  const names = await readdir(dir)
  return names.filter((n) => n.endsWith('.yaml')).sort().map((n) => path.join(dir, n))
}
