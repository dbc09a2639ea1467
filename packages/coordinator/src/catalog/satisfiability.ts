import type { Catalog, Condition, Flow, Problem, SettingDef, SettingValue } from '@portcheck/protocol'
import { compareVersions, evaluate, formatCondition } from './conditions.js'
import type { SourceFile } from './source-file.js'

/**
 * Whether some values of the settings a condition names make it hold:
 * - `satisfiable`, with `witness`, one such assignment (a setting left out of it is unset);
 * - `unsatisfiable`: every assignment was tried, or one setting alone already contradicts itself;
 * - `unknown`: too many assignments to try, and no simple contradiction found.
 */
export type Satisfiability =
  | { result: 'satisfiable', witness: Record<string, SettingValue> }
  | { result: 'unsatisfiable' }
  | { result: 'unknown' }

/**
 * Most assignments tried for one condition. Catalog conditions name two or three enum or
 * boolean settings (a few dozen assignments); ten thousand keep a pathological one at about
 * 10 ms on a 2-core machine.
 */
export const MAX_ASSIGNMENTS = 10_000

/** The start of a flow's `note` that says the flow can never apply, and why (it silences the check). */
export const NEVER_APPLIES = 'Never applies:'

/** Every value a condition compares a setting with, by setting name. */
function constants (cond: Condition, out = new Map<string, SettingValue[]>()): Map<string, SettingValue[]> {
  for (const [key, expected] of Object.entries(cond)) {
    if (expected === undefined) continue
    if (key === 'any' || key === 'all') { for (const c of expected as Condition[]) constants(c, out); continue }
    if (key === 'not') { constants(expected as Condition, out); continue }
    const values = out.get(key) ?? []
    out.set(key, values)
    if (Array.isArray(expected)) values.push(...(expected as SettingValue[]))
    else if (typeof expected === 'object' && expected !== null) {
      for (const v of Object.values(expected)) {
        if (Array.isArray(v)) values.push(...(v as SettingValue[]))
        else if (v !== undefined) values.push(v as SettingValue)
      }
    } else values.push(expected)
  }
  return out
}

/**
 * A version just above `a` and below `b` (a < b): `a`, padded with zeros up to the first part
 * where they differ, plus `.1`. 4.6.2 and 4.7 give 4.6.2.1; 4.6 and 4.6.2 give 4.6.0.1.
 */
function versionBetween (a: string, b: string): string {
  const pa = a.split('.')
  const pb = b.split('.')
  let i = 0
  while (i < Math.max(pa.length, pb.length) && compareVersions(pa[i] ?? '0', pb[i] ?? '0') === 0) i++
  while (pa.length < i + 1) pa.push('0')
  return [...pa, '1'].join('.')
}

/**
 * Values of one setting that stand for all of them as far as the condition can tell: whatever
 * value the setting takes, one of these compares the same with every constant of the condition
 * (the constants, one value in each gap between them, one below and one above). `undefined`
 * stands for "unset" (a port setting without default). `complete` is false when such a set
 * could not be built (a setting the catalog does not declare, or a version gap with no value
 * found in it): then not finding a witness proves nothing.
 */
function representatives (def: SettingDef | undefined, consts: SettingValue[]): { values: Array<SettingValue | undefined>, complete: boolean } {
  if (def === undefined || def.scope === 'host') return { values: [...new Set(consts)], complete: false }
  switch (def.type) {
    case 'boolean': return { values: [true, false], complete: true }
    case 'string': {
      if (def.enum !== undefined) return { values: [...def.enum], complete: true }
      // Conditions only test strings for equality: the constants and one other value cover every case.
      const strings = [...new Set(consts.map(String))]
      let other = '*'
      while (strings.includes(other)) other += '*'
      return { values: [...strings, other], complete: true }
    }
    case 'number': {
      const n = [...new Set(consts.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b)
      if (n.length === 0) return { values: [0], complete: true }
      const values: number[] = [(n[0] as number) - 1]
      n.forEach((v, i) => { values.push(v); if (i + 1 < n.length) values.push((v + (n[i + 1] as number)) / 2) })
      values.push((n[n.length - 1] as number) + 1)
      return { values, complete: true }
    }
    case 'port': {
      // Integers: the neighbours of each constant reach into every gap that holds a port at all.
      const set = new Set<number>()
      for (const c of consts) {
        if (typeof c !== 'number') continue
        for (const v of [c - 1, c, c + 1]) if (Number.isInteger(v) && v >= 1 && v <= 65535) set.add(v)
      }
      const values: Array<number | undefined> = set.size === 0 ? [1] : [...set]
      if (def.default === undefined) values.push(undefined)
      return { values, complete: true }
    }
    case 'version': {
      const sorted = [...new Set(consts.map(String))].sort(compareVersions)
      const distinct = sorted.filter((v, i) => i === 0 || compareVersions(sorted[i - 1] as string, v) !== 0)
      // "0" is below every version but those whose later parts are text sorting before digits ("0.-"), which no one writes.
      const values = ['0']
      let complete = true
      distinct.forEach((v, i) => {
        values.push(v)
        const next = distinct[i + 1]
        if (next === undefined) { values.push(`${v}.1`); return }
        const between = versionBetween(v, next)
        if (compareVersions(v, between) < 0 && compareVersions(between, next) < 0) values.push(between)
        else complete = false
      })
      return { values, complete }
    }
  }
}

/** The settings conditions that must all hold for `cond` to hold (its keys and its `all`s, not under `any` or `not`), by setting. */
function conjuncts (cond: Condition, out = new Map<string, Condition[]>()): Map<string, Condition[]> {
  for (const [key, expected] of Object.entries(cond)) {
    if (expected === undefined || key === 'any' || key === 'not') continue
    if (key === 'all') { for (const c of expected as Condition[]) conjuncts(c, out); continue }
    out.set(key, [...(out.get(key) ?? []), { [key]: expected }])
  }
  return out
}

function witnessOf (names: string[], values: Array<SettingValue | undefined>): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {}
  names.forEach((n, i) => { const v = values[i]; if (v !== undefined) out[n] = v })
  return out
}

/**
 * Decides whether any values of the settings a condition names make it hold. The settings are
 * few and their domains small (enums, booleans) or reducible to a few representatives (numbers,
 * ports and versions compared with the condition's constants), so it tries every assignment, up
 * to {@link MAX_ASSIGNMENTS}; beyond that it only looks for a setting that contradicts itself
 * (`x = a and x = b`), and otherwise answers `unknown`.
 */
export function satisfiability (cond: Condition | undefined, defs: Readonly<Record<string, SettingDef>>, maxAssignments = MAX_ASSIGNMENTS): Satisfiability {
  if (cond === undefined) return { result: 'satisfiable', witness: {} }
  const names: string[] = []
  const domains: Array<Array<SettingValue | undefined>> = []
  let complete = true
  for (const [name, consts] of constants(cond)) {
    const r = representatives(defs[name], consts)
    names.push(name)
    domains.push(r.values)
    complete &&= r.complete
  }

  const size = domains.reduce((n, d) => n * d.length, 1)
  if (size <= maxAssignments) {
    // Odometer over the domains: index[i] is the position in domains[i].
    const index = names.map(() => 0)
    for (let k = 0; k < size; k++) {
      const values = index.map((j, i) => (domains[i] as Array<SettingValue | undefined>)[j])
      const assignment = witnessOf(names, values)
      if (evaluate(cond, assignment, defs)) return { result: 'satisfiable', witness: assignment }
      for (let i = 0; i < index.length; i++) {
        index[i] = (index[i] as number) + 1
        if ((index[i] as number) < (domains[i] as unknown[]).length) break
        index[i] = 0
      }
    }
    return complete ? { result: 'unsatisfiable' } : { result: 'unknown' }
  }

  // Too many to try: a setting whose own conditions, all required, no value meets.
  for (const [name, conds] of conjuncts(cond)) {
    const r = representatives(defs[name], constants({ all: conds }).get(name) ?? [])
    if (!r.complete) continue
    if (!r.values.some((v) => conds.every((c) => evaluate(c, witnessOf([name], [v]), defs)))) return { result: 'unsatisfiable' }
  }
  return { result: 'unknown' }
}

/** One part of the condition under which a flow applies: its own `when`, or one of its roles'. */
export interface ConditionPart { source: 'flow' | 'from' | 'to', role?: string, condition: Condition }

/** What must hold for a flow to be active: its own `when` and the `when` of both its roles (once for a mesh). */
export function flowConditionParts (catalog: Catalog, flow: Flow): ConditionPart[] {
  const parts: ConditionPart[] = []
  if (flow.when !== undefined) parts.push({ source: 'flow', condition: flow.when })
  const from = catalog.roles[flow.from]?.when
  if (from !== undefined) parts.push({ source: 'from', role: flow.from, condition: from })
  const to = catalog.roles[flow.to]?.when
  if (to !== undefined && flow.to !== flow.from) parts.push({ source: 'to', role: flow.to, condition: to })
  return parts
}

/** The parts as one line: `cco-topology = ha (role cco-lb) and cco-topology = single (role cco)`. */
export function formatConditionParts (parts: readonly ConditionPart[]): string {
  return parts.map((p) => {
    const text = formatCondition(p.condition) ?? ''
    const wrapped = parts.length > 1 && / (and|or) /.test(text) && !/^\(.*\)$/.test(text) ? `(${text})` : text
    return p.source === 'flow' ? `${wrapped} (its when)` : `${wrapped} (role ${p.role ?? ''})`
  }).join(' and ')
}

/** True when a flow's note (or a `catalog show` row's) starts with {@link NEVER_APPLIES}: its author says it can never apply, and why. */
export function markedNeverApplies (flow: { note?: string | null | undefined }): boolean {
  return flow.note?.trimStart().startsWith(NEVER_APPLIES) === true
}

/** A flow the never-applies check reports. */
export interface NeverAppliesFinding {
  /** Index of the flow in `flows`. */
  index: number
  flowId: string
  /** The condition under which it would apply, as text (see {@link formatConditionParts}); null if it has none. */
  condition: string | null
  /**
   * `never`: no settings make it active, and its note does not say so. `stale-mark`: its note
   * says it never applies, yet `witness` makes it active.
   */
  kind: 'never' | 'stale-mark'
  witness?: Record<string, SettingValue>
}

/**
 * The flows whose condition (with their roles') no settings can meet, unless their note starts
 * with `Never applies:`; and the flows so marked that can apply after all. Flows the check cannot
 * decide are not reported.
 */
export function neverApplyingFlows (catalog: Catalog): NeverAppliesFinding[] {
  const defs = catalog.settings ?? {}
  const out: NeverAppliesFinding[] = []
  catalog.flows.forEach((flow, index) => {
    const parts = flowConditionParts(catalog, flow)
    const s = satisfiability(parts.length === 0 ? undefined : { all: parts.map((p) => p.condition) }, defs)
    const marked = markedNeverApplies(flow)
    const condition = parts.length === 0 ? null : formatConditionParts(parts)
    if (s.result === 'unsatisfiable' && !marked) out.push({ index, flowId: flow.id, condition, kind: 'never' })
    if (s.result === 'satisfiable' && marked) out.push({ index, flowId: flow.id, condition, kind: 'stale-mark', witness: s.witness })
  })
  return out
}

/** The findings of {@link neverApplyingFlows} as problems at their place in the file, for `catalog validate`. */
export function neverAppliesWarnings (source: SourceFile, catalog: Catalog): Problem[] {
  return neverApplyingFlows(catalog).map((f) => {
    if (f.kind === 'never') {
      const at = catalog.flows[f.index]?.when !== undefined ? ['flows', f.index, 'when'] : ['flows', f.index]
      return source.problem(at, `flow ${f.flowId} can never apply: no values of the settings meet ${f.condition ?? ''}. Fix the flow, or start its note with "${NEVER_APPLIES}" and say why it is kept`)
    }
    const values = Object.entries(f.witness ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(', ')
    const when = f.condition === null ? 'always (neither it nor its roles have a condition)' : `when ${f.condition}, e.g. with ${values}`
    return source.problem(['flows', f.index, 'note'], `flow ${f.flowId} is marked "${NEVER_APPLIES}" but applies ${when}: correct the note or the flow`)
  })
}
