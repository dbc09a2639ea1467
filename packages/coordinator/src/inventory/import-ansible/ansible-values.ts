import { split } from 'shlex'

/**
 * An INI inventory's value as Ansible reads it (`ast.literal_eval`, falling back to the text):
 * decimal integers and floats become numbers, `True`/`False`/`None` booleans and null, a
 * quoted string loses its quotes; anything else (a name, an address, a list) stays text.
 */
export function parseIniValue (text: string): unknown {
  if (/^[-+]?(0|[1-9]\d*)$/.test(text)) return Number(text)
  if (/^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text)
  if (text === 'True') return true
  if (text === 'False') return false
  if (text === 'None') return null
  const quoted = /^'((?:[^'\\]|\\.)*)'$/s.exec(text) ?? /^"((?:[^"\\]|\\.)*)"$/s.exec(text)
  if (quoted !== null) {
    const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' }
    return (quoted[1] ?? '').replace(/\\(.)/gs, (all, c: string) => escapes[c] ?? all)
  }
  return text
}

/**
 * Ansible's `boolean()`: `yes`/`no`, `true`/`false`, `on`/`off`, `y`/`n`, `t`/`f`, `1`/`0`
 * in any case, and YAML booleans and the numbers 1 and 0. Null for anything else.
 */
export function ansibleBoolean (value: unknown): boolean | null {
  if (typeof value === 'boolean') return value
  if (value === 1 || value === 0) return value === 1
  if (typeof value !== 'string') return null
  const v = value.trim().toLowerCase()
  if (['y', 'yes', 'on', '1', 'true', 't'].includes(v)) return true
  if (['n', 'no', 'off', '0', 'false', 'f'].includes(v)) return false
  return null
}

/** True if a value is a Jinja2 template (`{{ … }}`, `{% … %}`): Ansible evaluates those, portcheck cannot. */
export function isTemplate (value: unknown): boolean {
  return typeof value === 'string' && /\{\{|\{%/.test(value)
}

/**
 * A host line without its comment: Ansible splits host lines with Python's `shlex` in comment
 * mode, where a `#` outside quotes ends the line, even inside a word.
 */
export function cutComment (line: string): string {
  let quote: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '\\' && quote !== "'") { i++; continue }
    if (quote !== null) { if (c === quote) quote = null; continue }
    if (c === "'" || c === '"') quote = c
    else if (c === '#') return line.slice(0, i)
  }
  return line
}

/** Splits words as a POSIX shell does (quotes, backslashes); throws with what is wrong (an unclosed quote). */
export function splitWords (text: string): string[] {
  return split(text)
}

/** What `ansible_ssh_common_args` and `ansible_ssh_extra_args` say that portcheck can use. */
export interface SshArgs {
  /** The ProxyJump of `-J x`, `-Jx`, `-o ProxyJump=x` or `-o "ProxyJump x"`; the last wins, as with ssh. */
  jump?: string
  /** A ProxyCommand was given: it is not imported (portcheck's SSH settings have ProxyJump only). */
  proxyCommand: boolean
  /** Every other argument, as written: not imported. */
  ignored: string[]
}

/** Reads the ssh arguments of an Ansible host for a ProxyJump; throws if they cannot be split. */
export function parseSshArgs (args: string): SshArgs {
  const words = splitWords(args)
  const out: SshArgs = { proxyCommand: false, ignored: [] }
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? ''
    if (w === '-J' || w === '-o') {
      const value = words[++i]
      if (value === undefined) { out.ignored.push(w); break }
      if (w === '-J') out.jump = value
      else option(value, `-o ${value}`)
    } else if (w.startsWith('-J')) out.jump = w.slice(2)
    else if (w.startsWith('-o')) option(w.slice(2), w)
    else out.ignored.push(w)
  }
  return out

  function option (text: string, written: string): void {
    const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/s.exec(text)
    const key = m?.[1]?.toLowerCase()
    if (key === 'proxyjump') out.jump = (m?.[2] ?? '').trim()
    else if (key === 'proxycommand') out.proxyCommand = true
    else out.ignored.push(written)
  }
}
