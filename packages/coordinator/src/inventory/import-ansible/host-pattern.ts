import net from 'node:net'

/** The hosts a pattern of an Ansible inventory stands for, and the SSH port it gives them. */
export interface HostPattern {
  names: string[]
  /** From `host:port` (or `[v6]:port`): their `ansible_port`. */
  port?: number
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

/**
 * Expands one name with ranges, as Ansible's `expand_hostname_range`: the first `[beg:end]` or
 * `[beg:end:step]` gives numbers (zero-padded to the width of `beg` when it starts with 0, and
 * then `end` must be as wide) or letters; the rest of the name is expanded the same way.
 * Throws with Ansible's reason; stops past `max` names.
 */
function expandRanges (name: string, max: number, out: string[]): void {
  const open = name.indexOf('[')
  if (open === -1) { out.push(name); return }
  const close = name.indexOf(']', open)
  if (close === -1) throw new Error('a "[" without "]": host ranges are written [beg:end]')
  const head = name.slice(0, open)
  const tail = name.slice(close + 1)
  const bounds = name.slice(open + 1, close).split(':')
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error('host range must be begin:end or begin:end:step')
  const beg = bounds[0] === '' ? '0' : bounds[0] ?? '0'
  const end = bounds[1] ?? ''
  const step = bounds[2] === undefined ? 1 : Number(bounds[2])
  if (end === '') throw new Error('host range must specify end value')
  if (!Number.isInteger(step) || step < 1) throw new Error(`host range step must be a positive integer (got ${JSON.stringify(bounds[2])})`)
  let seq: string[]
  if (LETTERS.includes(beg) && LETTERS.includes(end) && beg.length === 1 && end.length === 1) {
    const [b, e] = [LETTERS.indexOf(beg), LETTERS.indexOf(end)]
    if (b > e) throw new Error('host range must have begin <= end')
    seq = []
    for (let i = b; i <= e; i += step) seq.push(LETTERS[i] ?? '')
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) throw new Error(`host range bounds must be numbers or single letters (got ${JSON.stringify(beg)}:${JSON.stringify(end)})`)
    const width = beg.startsWith('0') && beg.length > 1 ? beg.length : 0
    if (width > 0 && end.length !== width) throw new Error('host range must specify equal-length begin and end formats')
    seq = []
    for (let i = Number(beg); i <= Number(end); i += step) {
      seq.push(String(i).padStart(width, '0'))
      if (seq.length > max) break
    }
  }
  for (const s of seq) {
    if (out.length > max) return
    expandRanges(head + s + tail, max, out)
  }
}

/**
 * Reads a host pattern of an Ansible inventory: a name or address, optionally with `:port`
 * (`[v6]:port` for IPv6), and ranges (`web[01:03].example.com`). Throws with what is wrong;
 * a pattern that stands for more than `max` hosts is refused.
 */
export function parseHostPattern (pattern: string, max: number): HostPattern {
  if (net.isIPv6(pattern)) return { names: [pattern] }
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(pattern)
  if (v6 !== null && net.isIPv6(v6[1] ?? '')) return { names: [v6[1] ?? ''], port: Number(v6[2]) }
  // The port follows the last ":" outside a range's brackets.
  let depth = 0
  let colon = -1
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '[') depth++
    else if (pattern[i] === ']') depth--
    else if (pattern[i] === ':' && depth === 0) colon = i
  }
  let port: number | undefined
  let host = pattern
  if (colon !== -1) {
    const text = pattern.slice(colon + 1)
    if (!/^\d+$/.test(text)) throw new Error(`${JSON.stringify(text)} after ":" is not a port number`)
    port = Number(text)
    host = pattern.slice(0, colon)
  }
  if (host === '') throw new Error('no host name before the port')
  const names: string[] = []
  expandRanges(host, max, names)
  if (names.length > max) throw new Error(`stands for more than ${max.toLocaleString('en-US')} hosts`)
  return port === undefined ? { names } : { names, port }
}
