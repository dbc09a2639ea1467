import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml'
import type { Problem } from '@portcheck/protocol'

/** A path into a document, as keys and indices: `['flows', 3, 'tcp', 0]`. */
export type FieldPath = Array<string | number>

/** Formats a field path the way users write it: `flows[3].tcp[0]`. */
export function formatPath (path: FieldPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out === '' ? seg : `.${seg}`
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

  /** Parses text; syntax errors become problems with their position. */
  static parse (file: string, text: string): { source: SourceFile | null, problems: Problem[] } {
    const lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
    if (doc.errors.length > 0) {
      return {
        source: null,
        problems: doc.errors.map((e) => {
          const pos = lines.linePos(e.pos[0])
          return { file, path: '', message: `invalid YAML: ${e.message.split('\n')[0] ?? e.message}`, line: pos.line, column: pos.col }
        })
      }
    }
    return { source: new SourceFile(file, doc.toJS({ maxAliasCount: 100 }), doc.contents as Node | null, lines), problems: [] }
  }

  /** Reads and parses a file; an unreadable file is one problem. */
  static async read (file: string): Promise<{ source: SourceFile | null, problems: Problem[] }> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message)
      return { source: null, problems: [{ file, path: '', message: `cannot read: ${why}` }] }
    }
    return SourceFile.parse(file, text)
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
