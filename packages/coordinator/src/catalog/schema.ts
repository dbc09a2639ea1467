import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { distance } from 'fastest-levenshtein'
import type { Problem } from '@portcheck/protocol'
import { quote } from '../quote.js'
import type { FieldPath, SourceFile } from './source-file.js'

/**
 * The directory of built-in catalogs and of schema.json: `catalogs/` inside the installed
 * package (copied there by prepack), or the repository's top-level `catalogs/` in development.
 */
export function catalogsDir (): string {
  const packed = fileURLToPath(new URL('../../catalogs/', import.meta.url))
  if (existsSync(packed + 'schema.json')) return packed
  return fileURLToPath(new URL('../../../../catalogs/', import.meta.url))
}

interface Validators { catalog: ValidateFunction, inventory: ValidateFunction }
let compiled: Validators | null = null

function validators (): Validators {
  if (compiled !== null) return compiled
  const schema = JSON.parse(readFileSync(catalogsDir() + 'schema.json', 'utf8')) as Record<string, unknown>
  // strictRequired off: `anyOf: [{ required: [tcp] }, { required: [udp] }]` names properties defined one level up.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true })
  // Annotations only: the human message for a subschema. `x-message` covers its whole subtree.
  ajv.addVocabulary(['x-message', 'x-message-here', 'x-unknown-field'])
  ajv.addSchema(schema)
  const id = schema.$id as string
  compiled = {
    catalog: ajv.getSchema(id) as ValidateFunction,
    inventory: ajv.getSchema(`${id}#/definitions/inventory`) as ValidateFunction
  }
  return compiled
}

function pathOf (instancePath: string): FieldPath {
  if (instancePath === '') return []
  return instancePath.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~')
    return /^\d+$/.test(seg) ? Number(seg) : seg
  })
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'an object'
  return typeof v === 'string' ? quote(v) : JSON.stringify(v)
}

function closest (word: string, candidates: string[]): string | undefined {
  // No field name is this long, and the distance costs its length times theirs.
  if (word.length > 100) return undefined
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) { bestD = d; best = c }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function messageOf (e: ErrorObject): { path: FieldPath, message: string } {
  const path = pathOf(e.instancePath)
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>
  const custom = (parent['x-message'] ?? parent['x-message-here']) as string | undefined
  const params = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required':
      return { path: [...path, params.missingProperty as string], message: 'is required' }
    case 'additionalProperties': {
      const key = params.additionalProperty as string
      const hintText = parent['x-unknown-field'] as string | undefined
      if (hintText !== undefined) return { path: [...path, key], message: `unknown protocol or field ${quote(key)}: ${hintText}` }
      const known = Object.keys((parent.properties ?? {}) as Record<string, unknown>)
      const hint = closest(key, known)
      return { path: [...path, key], message: `is not a known field${hint !== undefined ? ` (did you mean "${hint}"?)` : known.length > 0 ? ` (known: ${known.filter((k) => k !== '$schema').join(', ')})` : ''}` }
    }
    case 'propertyNames': {
      const own = ((e.schema ?? {}) as Record<string, unknown>)['x-message'] as string | undefined
      return { path: [...path, params.propertyName as string], message: `is not a valid name: it ${own ?? custom ?? 'does not fit the schema'}` }
    }
    case 'type':
      return { path, message: `must be ${String(params.type).replace(',', ' or ')} (got ${describe(e.data)})` }
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${describe(e.data)})` }
    case 'minimum': case 'maximum':
      return { path, message: `${custom ?? e.message ?? 'is out of range'} (got ${describe(e.data)})` }
    case 'minItems':
      return { path, message: params.limit === 1 ? 'must not be empty' : `must have at least ${String(params.limit)} items` }
    case 'minProperties':
      return { path, message: 'must not be empty' }
    case 'minLength':
      return { path, message: 'must not be empty' }
    case 'uniqueItems':
      return { path, message: `has a duplicate: items ${String(params.j)} and ${String(params.i)} are the same` }
    default:
      if (custom === undefined) return { path, message: e.message ?? 'is invalid' }
      return { path, message: typeof e.data === 'object' && e.data !== null ? custom : `${custom} (got ${describe(e.data)})` }
  }
}

/**
 * Turns ajv's errors into one problem per real mistake: where a subschema carries an
 * `x-message`, its message replaces the noise of every failed alternative beneath it.
 */
function toProblems (source: SourceFile, errors: ErrorObject[]): Problem[] {
  const annotation = (e: ErrorObject): 'deep' | 'here' | null => {
    const parent = (e.parentSchema ?? {}) as Record<string, unknown>
    if (!['oneOf', 'anyOf', 'pattern', 'not'].includes(e.keyword)) return null
    return parent['x-message'] !== undefined ? 'deep' : parent['x-message-here'] !== undefined ? 'here' : null
  }
  // `x-message` covers the value and everything under it; `x-message-here` only its own alternatives.
  // Chosen errors are kept by path, so that whether one covers another is a few lookups, not a
  // scan of them all: an inventory of 20,000 bad hosts has 20,000 of them.
  const deep = new Set<string>()
  const here = new Set<string>()
  const covered = (e: ErrorObject): boolean => {
    if (deep.has(e.instancePath)) return true
    for (let i = e.instancePath.indexOf('/'); i >= 0; i = e.instancePath.indexOf('/', i + 1)) {
      if (deep.has(e.instancePath.slice(0, i))) return true
    }
    for (let i = e.schemaPath.indexOf('/'); i >= 0; i = e.schemaPath.indexOf('/', i + 1)) {
      if (here.has(e.schemaPath.slice(0, i))) return true
    }
    return false
  }
  // Choose covering errors shallowest first; one covered by an already chosen one is dropped.
  const chosen = new Set<ErrorObject>()
  for (const c of errors.filter((e) => annotation(e) !== null && (e as ErrorObject & { propertyName?: string }).propertyName === undefined).sort((a, b) => a.instancePath.length - b.instancePath.length)) {
    if (covered(c)) continue
    chosen.add(c)
    if (annotation(c) === 'deep') deep.add(c.instancePath)
    else here.add(c.schemaPath)
  }
  const kept = errors.filter((e) => {
    // Errors inside a propertyNames check are reported by the propertyNames error itself.
    if ((e as ErrorObject & { propertyName?: string }).propertyName !== undefined) return false
    if (chosen.has(e) || e.keyword === 'propertyNames') return true
    return !covered(e)
  })
  const seen = new Set<string>()
  const out: Problem[] = []
  for (const e of kept) {
    const { path, message } = messageOf(e)
    const p = source.problem(path, message)
    const key = `${p.path}\0${p.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(p)
  }
  return out
}

/** Validates a parsed catalog against catalogs/schema.json. */
export function schemaProblemsOfCatalog (source: SourceFile): Problem[] {
  const v = validators().catalog
  return v(source.data) ? [] : toProblems(source, v.errors ?? [])
}

/** Validates a parsed inventory against catalogs/schema.json#/definitions/inventory. */
export function schemaProblemsOfInventory (source: SourceFile): Problem[] {
  const v = validators().inventory
  return v(source.data) ? [] : toProblems(source, v.errors ?? [])
}
