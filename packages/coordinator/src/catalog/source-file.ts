import { open } from 'node:fs/promises'
import { Composer, LineCounter, Parser, YAMLParseError, isAlias, isMap, isNode, isPair, isSeq, type CST, type Document, type Node } from 'yaml'
import type { Problem } from '@portcheck/protocol'
import { cut } from '../quote.js'

/**
 * Largest catalog or inventory portcheck reads, in bytes (default 4 MiB). The YAML parser holds
 * about 200 bytes of memory for each byte of its input and reads about 1.5 MB a second on the
 * benchmark machine, so 4 MiB is some 800 MB and 3 s; a 50 MB file ran out of memory. The
 * largest built-in catalog is 110 KB, and 65,000 hosts (the most an inventory may have) written
 * one a line take 3.7 MB.
 */
export const MAX_FILE_BYTES = 4 * 1024 * 1024

/**
 * Deepest nesting of maps and lists, in levels (default 64). Catalogs and inventories need 6;
 * the parser and the validators recurse once per level, and run out of stack near 800.
 */
export const MAX_DEPTH = 64

/**
 * Most values aliases may add to a document, counting every value of an anchor each time an
 * alias repeats it (default 1,000,000). The data shares what aliases repeat, but the validators
 * walk every copy: ten anchors of nine aliases to the one before (a "billion laughs") make 3.9
 * billion. Plain reuse stays far below: 65,000 hosts sharing a 10-value anchor add 650,000.
 * (yaml's own `maxAliasCount` is off: it refuses any anchor used more than 100 times.)
 */
export const MAX_ALIAS_VALUES = 1_000_000

/** Most YAML syntax errors reported for one file (default 20). */
const MAX_YAML_ERRORS = 20

/** A path into a document, as keys and indices: `['flows', 3, 'tcp', 0]`. */
export type FieldPath = Array<string | number>

/** Formats a field path the way users write it: `flows[3].tcp[0]`. */
export function formatPath (path: FieldPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    // A key is the user's text too: a 50 MB one must not fill the message.
    else out += out === '' ? cut(seg) : `.${cut(seg)}`
  }
  return out
}

/**
 * A parsed YAML (or JSON) document that remembers where each field came from, so a
 * validation problem can name its line and column.
 */
export class SourceFile {
  private constructor (
    /** The file name as the user gave it. */
    readonly file: string,
    readonly data: unknown,
    private readonly root: Node | null,
    private readonly lines: LineCounter
  ) {}

  /**
   * Parses text; syntax errors become problems with their position. Text over
   * {@link MAX_FILE_BYTES} characters, nesting deeper than {@link MAX_DEPTH} and aliases that
   * expand too far are problems too, found before the document is built from them.
   */
  static parse (file: string, text: string): { source: SourceFile | null, problems: Problem[] } {
    const fail = (message: string, offset?: number): { source: null, problems: Problem[] } => {
      const problem: Problem = { file, path: '', message }
      if (offset !== undefined) {
        const pos = lines.linePos(offset)
        problem.line = pos.line
        problem.column = pos.col
      }
      return { source: null, problems: [problem] }
    }
    const lines = new LineCounter()
    if (text.length > MAX_FILE_BYTES) return fail(tooLarge(`${text.length.toLocaleString('en-US')} characters`))
    const tokens = Array.from(new Parser(lines.addNewLine).parse(text))
    const deep = tooDeep(tokens)
    if (deep !== null) return fail(`nested deeper than ${MAX_DEPTH} levels of maps and lists: a catalog or inventory needs a handful`, deep)
    const doc = composeOne(tokens, text.length)
    if (doc.errors.length > 0) {
      // Past the first few, syntax errors mostly follow from the first: a binary file has thousands.
      const problems: Problem[] = doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => {
        const pos = lines.linePos(e.pos[0])
        return { file, path: '', message: `invalid YAML: ${cut(e.message.split('\n')[0] ?? e.message)}`, line: pos.line, column: pos.col }
      })
      const more = doc.errors.length - MAX_YAML_ERRORS
      if (more > 0) problems.push({ file, path: '', message: `and ${more.toLocaleString('en-US')} more YAML errors after these` })
      return { source: null, problems }
    }
    const alias = aliasProblem(doc.contents)
    if (alias !== null) return fail(alias.message, alias.offset)
    let data: unknown
    try {
      data = doc.toJS({ maxAliasCount: -1 })
    } catch (err) {
      // Not expected once the aliases are checked: still a problem with the file, not a crash.
      return fail(`invalid YAML: ${cut(String((err as Error).message))}`)
    }
    return { source: new SourceFile(file, data, doc.contents as Node | null, lines), problems: [] }
  }

  /**
   * Reads and parses a file; an unreadable file is one problem, and so is one over
   * {@link MAX_FILE_BYTES}, refused from its size before reading (or, for a pipe or a device,
   * as soon as it has sent more).
   */
  static async read (file: string): Promise<{ source: SourceFile | null, problems: Problem[] }> {
    const read = await readBounded(file)
    return 'problem' in read ? { source: null, problems: [read.problem] } : SourceFile.parse(file, read.text)
  }

  /** Builds a problem at a field, with the line and column of the deepest node that exists on the path. */
  problem (path: FieldPath, message: string): Problem {
    const p: Problem = { file: this.file, path: formatPath(path), message }
    const node = this.nodeAt(path)
    if (node?.range !== undefined && node.range !== null) {
      const pos = this.lines.linePos(node.range[0])
      p.line = pos.line
      p.column = pos.col
    }
    return p
  }

  private nodeAt (path: FieldPath): Node | null {
    let node: Node | null = this.root
    for (const seg of path) {
      if (node === null) return null
      let next: unknown = null
      if (isMap(node)) {
        const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg)
        // Prefer the value's position; for a missing value, the key's.
        next = pair?.value ?? pair?.key ?? null
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg] ?? null
      }
      if (next === null || typeof next !== 'object') return node
      node = next as Node
    }
    return node
  }
}

/**
 * Reads a catalog or inventory file as text: an unreadable file is a problem, and so is one over
 * {@link MAX_FILE_BYTES}, refused from its size before reading (or, for a pipe or a device, as
 * soon as it has sent more).
 */
export async function readBounded (file: string): Promise<{ text: string } | { problem: Problem }> {
  const unreadable = (message: string): { problem: Problem } => ({ problem: { file, path: '', message } })
  try {
    const handle = await open(file, 'r')
    try {
      const stat = await handle.stat()
      if (stat.isDirectory()) return unreadable('cannot read: is a directory')
      if (stat.isFile() && stat.size > MAX_FILE_BYTES) return unreadable(tooLarge(`${stat.size.toLocaleString('en-US')} bytes`))
      // A pipe or a device says nothing of its size (or 0): read at most one byte past the cap to know.
      const buf = Buffer.allocUnsafe(MAX_FILE_BYTES + 1)
      let length = 0
      for (let n = -1; n !== 0 && length < buf.length;) {
        n = (await handle.read(buf, length, buf.length - length, null)).bytesRead
        length += n
      }
      if (length > MAX_FILE_BYTES) return unreadable(tooLarge(null))
      return { text: buf.toString('utf8', 0, length) }
    } finally {
      await handle.close()
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : cut(String((err as Error).message))
    return unreadable(`cannot read: ${why}`)
  }
}

function tooLarge (size: string | null): string {
  return `too large${size !== null ? ` (${size})` : ''}: a catalog or inventory may have at most ${MAX_FILE_BYTES.toLocaleString('en-US')} bytes (4 MiB), room for the 65,000 hosts an inventory may hold, one a line; split a bigger inventory`
}

/**
 * The offset of the first map or list nested deeper than {@link MAX_DEPTH}, or null. Walks
 * the parser's tokens with a stack of its own, not by recursion: it must not overflow on what
 * it is there to refuse.
 */
function tooDeep (tokens: CST.Token[]): number | null {
  // Pushed last to first, so that they are walked in document order and the first found is the first in the file.
  const stack: Array<[CST.Token, number]> = tokens.map((t): [CST.Token, number] => [t, 0]).reverse()
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [token, depth] = next
    if (token.type === 'document') {
      if (token.value !== undefined) stack.push([token.value, depth])
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_DEPTH) return token.offset
      for (let i = token.items.length - 1; i >= 0; i--) {
        const item = token.items[i] as CST.CollectionItem
        if (item.value !== undefined) stack.push([item.value, depth + 1])
        if (item.key !== undefined && item.key !== null) stack.push([item.key, depth + 1])
      }
    }
  }
  return null
}

/** Builds the document from the parser's tokens, as `parseDocument` does; a second document in the file is an error. */
function composeOne (tokens: CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ uniqueKeys: true })
  let doc: Document.Parsed | null = null
  for (const d of composer.compose(tokens, true, length)) {
    if (doc === null) { doc = d; continue }
    doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'the file holds more than one document (a second "---"): a catalog or inventory is one document'))
    break
  }
  // compose(…, forceDoc) always yields a document, if only an empty one.
  return doc as Document.Parsed
}

/**
 * Checks what the document's aliases (`*name`) stand for: an anchor defined before them, not
 * one they sit inside (the data would loop forever), and at most {@link MAX_ALIAS_VALUES}
 * values repeated in all. Returns the first problem with the alias's offset, or null. Recurses
 * once per level, which the depth check bounds; the values of an anchor are counted once.
 */
function aliasProblem (root: unknown): { message: string, offset: number | undefined } | null {
  const anchors = new Map<string, Node>()
  // Values under each node, aliases expanded; a node anchored but not yet counted is being walked.
  const values = new Map<Node, number>()
  let added = 0
  let problem: { message: string, offset: number | undefined } | null = null
  const count = (node: unknown): number => {
    if (problem !== null || node === null || node === undefined) return 0
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      const at = node.range?.[0]
      const n = target === undefined ? undefined : values.get(target)
      if (target === undefined) problem = { message: `alias *${cut(node.source)} has no anchor &${cut(node.source)} before it`, offset: at }
      else if (n === undefined) problem = { message: `alias *${cut(node.source)} is inside its own anchor: the data would repeat itself forever`, offset: at }
      else if ((added += n) > MAX_ALIAS_VALUES) {
        problem = { message: `aliases expand too far: repeating their anchors adds more than ${MAX_ALIAS_VALUES.toLocaleString('en-US')} values by this one (anchors of aliases of anchors: a "billion laughs"?); write the values out`, offset: at }
      }
      return n ?? 0
    }
    if (isPair(node)) return count(node.key) + count(node.value)
    if (!isNode(node)) return 1
    if (node.anchor !== undefined) anchors.set(node.anchor, node)
    let n = 1
    if (isMap(node) || isSeq(node)) for (const item of node.items) n += count(item)
    values.set(node, n)
    return n
  }
  count(root)
  return problem
}
