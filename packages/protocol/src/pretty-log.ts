/**
 * A dependency-free pino destination that prints log lines for humans when the output is a
 * terminal. pino-pretty would pull a dozen packages into the agent; this is all we need.
 * Anything that is not a pino JSON line is written through unchanged.
 */

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[41m']
}
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v'])

/** Something with a `write(string)`, as pino's destinations are. */
export interface LineSink {
  write: (chunk: string) => unknown
}

function formatValue (v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v
  return JSON.stringify(v)
}

/** Formats one pino JSON line; returns it unchanged if it is not one. */
export function formatLogLine (line: string, color: boolean): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  if (typeof rec !== 'object' || rec === null || typeof rec.level !== 'number') return line
  const [label, tint] = LEVELS[rec.level] ?? ['LOG  ', '']
  const time = new Date(typeof rec.time === 'number' ? rec.time : Date.now()).toISOString().slice(11, 23)
  const extras: string[] = []
  for (const [k, v] of Object.entries(rec)) {
    if (OMIT.has(k)) continue
    if (k === 'err' && typeof v === 'object' && v !== null) {
      const e = v as { message?: string, code?: string, stack?: string }
      extras.push(`err=${formatValue(e.code !== undefined ? `${e.code}: ${e.message ?? ''}` : e.message ?? '')}`)
      continue
    }
    extras.push(`${k}=${formatValue(v)}`)
  }
  const lvl = color ? `${tint}${label}\x1b[0m` : label
  const name = typeof rec.name === 'string' ? `${rec.name}: ` : ''
  const msg = typeof rec.msg === 'string' ? rec.msg : ''
  const tail = extras.length > 0 ? (color ? ` \x1b[90m${extras.join(' ')}\x1b[0m` : ` ${extras.join(' ')}`) : ''
  return `${time} ${lvl} ${name}${msg}${tail}\n`
}

/** A pino destination that pretty-prints to `out`. */
export function prettyStream (out: NodeJS.WriteStream = process.stderr): LineSink {
  const color = out.isTTY && process.env.NO_COLOR === undefined
  return {
    write (chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line.length > 0) out.write(formatLogLine(line, color))
      }
    }
  }
}
