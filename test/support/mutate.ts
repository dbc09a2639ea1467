/**
 * Seeded mutations of protocol frames, for the fuzz tests: reproducible (the seed is printed),
 * mostly structural (a field's type, range or presence changed) and sometimes byte-level.
 */

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same mutations. */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T

/** Values of every JSON type, and of sizes and ranges a validator must refuse. */
function oddValue (r: () => number): unknown {
  return pick(r, [
    null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -1e308, 1e308, '', 'x', 'x'.repeat(5000), '../../etc/passwd', '\u0000\uffff',
    [], [1, 2, 3], {}, { a: 1 }, { __proto__: { polluted: true } }, Array.from({ length: 5000 }, () => 1),
    JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'), nested(r, 200)
  ])
}

function nested (r: () => number, depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = r() < 0.5 ? [v] : { v }
  return v
}

/** Every path to a value in a JSON value. */
function paths (v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix]
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])))
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]))
  return out
}

function setAt (root: unknown, path: Array<string | number>, value: unknown, remove = false): unknown {
  if (path.length === 0) return value
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => o !== null && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined, root) as Record<string | number, unknown>
  // An earlier mutation replaced what this path went through: nothing to set.
  if (parent === null || typeof parent !== 'object') return root
  const key = path[path.length - 1] as string | number
  if (remove) {
    if (Array.isArray(parent)) parent.splice(key as number, 1)
    else Reflect.deleteProperty(parent, key)
  } else parent[key] = value
  return root
}

/**
 * One mutation of a valid frame: the JSON text to send, or a Buffer to send as a binary frame.
 * Structural mutations keep valid JSON (so the validator, not the parser, has to refuse them).
 */
export function mutate (r: () => number, frame: Record<string, unknown>): string | Buffer {
  const kind = r()
  if (kind < 0.05) return Buffer.from(JSON.stringify(frame))
  if (kind < 0.15) {
    // Bytes: flip, cut, or garble.
    const text = JSON.stringify(frame)
    const at = Math.floor(r() * text.length)
    const ops = [
      () => text.slice(0, at),
      () => text.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + text.slice(at + 1),
      () => text + text,
      () => text.replace(/"/g, "'"),
      () => `[${text}]`
    ]
    return pick(r, ops)()
  }
  const copy = JSON.parse(JSON.stringify(frame)) as Record<string, unknown>
  const n = 1 + Math.floor(r() * 3)
  let out: unknown = copy
  for (let i = 0; i < n; i++) {
    const all = paths(out)
    const p = pick(r, all)
    const op = r()
    if (op < 0.5) out = setAt(out, p, oddValue(r))
    else if (op < 0.7 && p.length > 0) out = setAt(out, p, undefined, true)
    else if (op < 0.85 && out !== null && typeof out === 'object' && !Array.isArray(out)) (out as Record<string, unknown>)[pick(r, ['extra', '__proto__', 'type', 'runId', 'constructor'])] = oddValue(r)
    else if (op < 0.95) out = setAt(out, ['type'], pick(r, ['hello', 'run-ready', 'probe-results', 'received', 'accepted', 'flushed', 'run-closed', 'welcome', 'run-start', 'probe', 'flush', 'run-end', 'rejected', 'launch-missiles']))
    else out = setAt(out, p, JSON.parse(JSON.stringify(frame)))
  }
  return JSON.stringify(out)
}

/**
 * Replaces every host an agent might be told to probe with `safe`: a fuzzed frame must never make
 * an agent send a packet (or a DNS query) anywhere but the test's own loopback address.
 */
export function confine (text: string | Buffer, safe: string): string | Buffer {
  if (typeof text !== 'string') return text
  let v: unknown
  try { v = JSON.parse(text) } catch { return text }
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk)
    if (x === null || typeof x !== 'object') return x
    const o = x as Record<string, unknown>
    for (const k of Object.keys(o)) {
      if (k === 'host') o[k] = safe
      else if (k === 'peers') o[k] = Array.isArray(o[k]) ? (o[k] as unknown[]).map(() => safe) : o[k]
      else o[k] = walk(o[k])
    }
    return o
  }
  return JSON.stringify(walk(v))
}
