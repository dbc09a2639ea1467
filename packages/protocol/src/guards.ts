/**
 * Small field readers for validating untrusted JSON. Each throws a {@link GuardError}
 * naming the path of the offending field, so a refusal says exactly what was wrong.
 */

/** Thrown by the readers below; `path` is the dotted path of the field. */
export class GuardError extends Error {
  readonly path: string
  constructor (path: string, message: string) {
    super(`${path}: ${message}`)
    this.name = 'GuardError'
    this.path = path
  }
}

/** A plain object (not null, not an array). */
export type Obj = Record<string, unknown>

export function isObj (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function obj (v: unknown, path: string): Obj {
  if (!isObj(v)) throw new GuardError(path, 'must be an object')
  return v
}

export function str (v: unknown, path: string, opts: { max?: number, pattern?: RegExp } = {}): string {
  if (typeof v !== 'string') throw new GuardError(path, 'must be a string')
  const max = opts.max ?? 1024
  if (v.length > max) throw new GuardError(path, `must be at most ${max} characters`)
  if (opts.pattern !== undefined && !opts.pattern.test(v)) throw new GuardError(path, `must match ${String(opts.pattern)}`)
  return v
}

export function int (v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new GuardError(path, 'must be an integer')
  if (v < min || v > max) throw new GuardError(path, `must be between ${min} and ${max}`)
  return v
}

export function num (v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GuardError(path, 'must be a finite number')
  if (v < min || v > max) throw new GuardError(path, `must be between ${min} and ${max}`)
  return v
}

export function bool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new GuardError(path, 'must be true or false')
  return v
}

export function oneOf<T extends string> (v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new GuardError(path, `must be one of ${values.join(', ')}`)
  }
  return v as T
}

export function arr (v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new GuardError(path, 'must be an array')
  if (v.length > max) throw new GuardError(path, `must have at most ${max} items`)
  return v
}

/** Refuses keys the schema does not know, so a typo or a smuggled field is not silently ignored. */
export function onlyKeys (o: Obj, path: string, allowed: readonly string[]): void {
  for (const k in o) {
    if (!allowed.includes(k)) throw new GuardError(path ? `${path}.${k}` : k, 'is not a known field')
  }
}
