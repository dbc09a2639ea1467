import { PortcheckError } from '@portcheck/protocol'

/**
 * Longest line of an error printed, in characters (default 2,000). Values are cut to 200
 * where a message quotes them; this is the backstop for any that is not.
 */
const MAX_LINE = 2000

/** Most lines of an error printed (default 120: a summary and up to 100 problems fit). */
const MAX_LINES = 120

function bounded (message: string): string {
  const lines = message.split('\n')
  const shown = lines.slice(0, MAX_LINES).map((l) => l.length <= MAX_LINE ? l : `${l.slice(0, MAX_LINE)}… (${l.length.toLocaleString('en-US')} characters)`)
  if (lines.length > MAX_LINES) shown.push(`  … ${(lines.length - MAX_LINES).toLocaleString('en-US')} more lines`)
  return shown.join('\n')
}

/** `file.js:12:29` of the innermost frame of a stack, or '' if it has none. */
function origin (stack: string | undefined): string {
  const frame = stack?.split('\n').find((l) => l.startsWith('    at '))
  const m = frame !== undefined ? /([^/\\(\s]+:\d+:\d+)\)?$/.exec(frame) : null
  return m?.[1] ?? ''
}

/**
 * What the CLI prints for an error that ends a command: always `portcheck: CODE: message`,
 * never a stack trace, whatever was thrown.
 * - A PortcheckError: its code and message (usage errors add a pointer to --help).
 * - A refusal of the system (writing --output to a full disk, a denied path): its errno
 *   code (EACCES, ENOSPC…) and what was refused; not a bug.
 * - Anything else is a bug: PC_ERR_INTERNAL, its message, where it was thrown, and a request
 *   to report it. No input is meant to get here.
 */
export function errorText (err: unknown): string {
  if (err instanceof PortcheckError) {
    return `portcheck: ${err.code}: ${bounded(err.message)}\n${err.code === 'PC_ERR_USAGE' ? 'Run `portcheck --help` for usage.\n' : ''}`
  }
  const sys = err as NodeJS.ErrnoException | null
  if (err instanceof Error && typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
    return `portcheck: ${sys.code}: ${bounded(err.message.replace(`${sys.code}: `, ''))}\n`
  }
  let what: string
  try {
    what = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  } catch {
    what = typeof err
  }
  const at = err instanceof Error ? origin(err.stack) : ''
  return `portcheck: PC_ERR_INTERNAL: ${bounded(what)}${at !== '' ? ` (at ${at})` : ''}\n` +
    'This is a bug in portcheck: please report it with the command that caused it.\n'
}
