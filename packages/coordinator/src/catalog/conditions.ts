import type { Condition, ConditionOps, SettingDef, SettingValue } from '@portcheck/protocol'
import type { FieldPath } from './source-file.js'
import { quote } from '../quote.js'

/** Settings values by name, after defaults, inventory and `--set` are applied. */
export type SettingValues = Readonly<Record<string, SettingValue>>

const COMBINATORS = new Set(['any', 'all', 'not'])
const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in'] as const
const OP_TEXT: Record<string, string> = { eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' }

/** Compares dotted versions part by part (4.6.2 < 4.10); parts that are not numbers compare as text. */
export function compareVersions (a: string, b: string): number {
  const pa = a.split('.')
  const pb = b.split('.')
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0'
    const y = pb[i] ?? '0'
    const nx = Number(x)
    const ny = Number(y)
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y)
    if (c !== 0) return c < 0 ? -1 : 1
  }
  return 0
}

function compare (a: SettingValue, b: SettingValue, type: SettingDef['type'] | undefined): number {
  if (type === 'version') return compareVersions(String(a), String(b))
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}

function isOps (v: unknown): v is ConditionOps {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function equals (a: SettingValue, b: SettingValue, type: SettingDef['type'] | undefined): boolean {
  return type === 'version' ? compareVersions(String(a), String(b)) === 0 : a === b
}

/**
 * Evaluates a condition against settings values. A setting the condition names but the
 * values lack counts as not matching (validation refuses such catalogs beforehand).
 */
export function evaluate (cond: Condition | undefined, values: SettingValues, defs: Readonly<Record<string, SettingDef>> = {}): boolean {
  if (cond === undefined) return true
  for (const [key, expected] of Object.entries(cond)) {
    if (expected === undefined) continue
    if (key === 'any') { if (!(expected as Condition[]).some((c) => evaluate(c, values, defs))) return false; continue }
    if (key === 'all') { if (!(expected as Condition[]).every((c) => evaluate(c, values, defs))) return false; continue }
    if (key === 'not') { if (evaluate(expected as Condition, values, defs)) return false; continue }
    const actual = values[key]
    if (actual === undefined) return false
    const type = defs[key]?.type
    if (Array.isArray(expected)) {
      if (!(expected as SettingValue[]).some((v) => equals(actual, v, type))) return false
    } else if (isOps(expected)) {
      const o = expected as ConditionOps
      if (o.eq !== undefined && !equals(actual, o.eq, type)) return false
      if (o.ne !== undefined && equals(actual, o.ne, type)) return false
      if (o.lt !== undefined && !(compare(actual, o.lt, type) < 0)) return false
      if (o.le !== undefined && !(compare(actual, o.le, type) <= 0)) return false
      if (o.gt !== undefined && !(compare(actual, o.gt, type) > 0)) return false
      if (o.ge !== undefined && !(compare(actual, o.ge, type) >= 0)) return false
      if (o.in !== undefined && !o.in.some((v) => equals(actual, v, type))) return false
    } else if (!equals(actual, expected as SettingValue, type)) {
      return false
    }
  }
  return true
}

/** Renders a condition for people: `topology = ha and version < 4.7`. */
export function formatCondition (cond: Condition | undefined): string | null {
  if (cond === undefined) return null
  const parts: string[] = []
  for (const [key, expected] of Object.entries(cond)) {
    if (expected === undefined) continue
    if (key === 'any') parts.push(`(${(expected as Condition[]).map((c) => formatCondition(c)).join(' or ')})`)
    else if (key === 'all') parts.push(`(${(expected as Condition[]).map((c) => formatCondition(c)).join(' and ')})`)
    else if (key === 'not') parts.push(`not (${formatCondition(expected as Condition) ?? ''})`)
    else if (Array.isArray(expected)) parts.push(`${key} in [${(expected as SettingValue[]).join(', ')}]`)
    else if (isOps(expected)) {
      for (const op of OPS) {
        const v = (expected as ConditionOps)[op]
        if (v === undefined) continue
        parts.push(op === 'in' ? `${key} in [${(v as SettingValue[]).join(', ')}]` : `${key} ${OP_TEXT[op] ?? op} ${String(v)}`)
      }
    } else parts.push(`${key} = ${String(expected)}`)
  }
  return parts.join(' and ')
}

/** A problem found in a condition: where, and what. */
export interface ConditionProblem { path: FieldPath, message: string }

function valueProblem (def: SettingDef, v: SettingValue, name: string): string | null {
  switch (def.type) {
    case 'boolean': return typeof v === 'boolean' ? null : `setting ${quote(name)} is a boolean: compare it with true or false`
    case 'number': return typeof v === 'number' ? null : `setting ${quote(name)} is a number`
    case 'port': return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? null : `setting ${quote(name)} is a port: 1-65535`
    case 'version':
      // YAML reads 4.10 as the number 4.1: a version must be written as text, in quotes.
      if (typeof v === 'number') return `setting ${quote(name)} is a version: write it in quotes (${quote(String(v))}), or YAML turns 4.10 into 4.1`
      return /^[0-9]+(\.[0-9A-Za-z-]+)*$/.test(v as string) ? null : `setting ${quote(name)} is a version like 4.7 or 4.6.2`
    case 'string':
      if (typeof v !== 'string') return `setting ${quote(name)} is a string`
      return def.enum !== undefined && !def.enum.includes(v) ? `${quote(v)} is not a value of setting ${quote(name)} (${def.enum.join(', ')})` : null
  }
}

/** Checks that a condition names only declared settings, with values of their type. */
export function conditionProblems (cond: Condition | undefined, defs: Readonly<Record<string, SettingDef>>, path: FieldPath): ConditionProblem[] {
  if (cond === undefined) return []
  const out: ConditionProblem[] = []
  for (const [key, expected] of Object.entries(cond)) {
    if (expected === undefined) continue
    if (COMBINATORS.has(key)) {
      const subs = key === 'not' ? [expected as Condition] : (expected as Condition[])
      subs.forEach((c, i) => out.push(...conditionProblems(c, defs, key === 'not' ? [...path, key] : [...path, key, i])))
      continue
    }
    const def = defs[key]
    if (def === undefined) {
      const known = Object.keys(defs)
      out.push({ path: [...path, key], message: `unknown setting ${quote(key)} (declared: ${known.length > 0 ? known.join(', ') : 'none'})` })
      continue
    }
    if (def.scope === 'host') {
      out.push({ path: [...path, key], message: `setting ${quote(key)} has scope host: it can be used in ports, not in conditions` })
      continue
    }
    const values: Array<[FieldPath, SettingValue]> = []
    if (Array.isArray(expected)) (expected as SettingValue[]).forEach((v, i) => values.push([[...path, key, i], v]))
    else if (isOps(expected)) {
      for (const op of OPS) {
        const v = (expected as ConditionOps)[op]
        if (v === undefined) continue
        if (op === 'in') (v as SettingValue[]).forEach((x, i) => values.push([[...path, key, op, i], x]))
        else {
          values.push([[...path, key, op], v as SettingValue])
          if ((op === 'lt' || op === 'le' || op === 'gt' || op === 'ge') && def.type !== 'number' && def.type !== 'version' && def.type !== 'port') {
            out.push({ path: [...path, key, op], message: `setting ${quote(key)} is a ${def.type}: it cannot be compared with ${op}` })
          }
        }
      }
    } else values.push([[...path, key], expected as SettingValue])
    for (const [p, v] of values) {
      const m = valueProblem(def, v, key)
      if (m !== null) out.push({ path: p, message: m })
    }
  }
  return out
}

/** Checks a setting value against its definition; returns what is wrong, or null. */
export function settingValueProblem (def: SettingDef, v: SettingValue, name: string): string | null {
  return valueProblem(def, v, name)
}
