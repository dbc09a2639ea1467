/**
 * Text tables and paragraphs that fit a terminal's width: prose is wrapped at spaces, never cut,
 * so that a narrow terminal shows everything a wide one does, on more lines.
 */

/** The narrowest a prose column is wrapped to before it moves under its row, in characters. */
const MIN_PROSE_WIDTH = 24
/** The indent of prose moved under its row, past the row's own indent. */
const DETAIL_INDENT = 4

const len = (s: string): number => [...s].length

/**
 * Wraps text at spaces into lines of at most `width` characters (`restWidth` after the first).
 * A word longer than its line is broken only with `breakWords` (table cells, which must keep
 * their column); elsewhere it stays whole, so that a URL can still be copied.
 */
export function wrap (text: string, width: number, opts: { breakWords?: boolean, restWidth?: number } = {}): string[] {
  return pack(text.split(/ +/), ' ', width, opts)
}

/** Packs units (words, or a row's cells) into lines, `sep` between two on a line; see {@link wrap}. */
function pack (units: readonly string[], sep: string, width: number, opts: { breakWords?: boolean, restWidth?: number } = {}): string[] {
  const lines: string[] = []
  const room = (): number => Math.max(1, lines.length === 0 ? width : opts.restWidth ?? width)
  let line = ''
  for (const u of units) {
    let unit = u
    while (opts.breakWords === true && len(unit) > room()) {
      if (line !== '') lines.push(line)
      line = ''
      const cut = room()
      lines.push([...unit].slice(0, cut).join(''))
      unit = [...unit].slice(cut).join('')
    }
    if (line === '') line = unit
    else if (len(line) + len(sep) + len(unit) <= room()) line += sep + unit
    else {
      lines.push(line)
      line = unit
    }
  }
  lines.push(line)
  return lines
}

/**
 * A paragraph of `width` columns at most, at `indent`, its continuation lines hanging `hang`
 * characters further in. Infinity keeps it on one line.
 */
export function paragraph (text: string, width: number, indent = 2, hang = 2): string[] {
  if (!Number.isFinite(width)) return [' '.repeat(indent) + text]
  return wrap(text, width - indent, { restWidth: width - indent - hang }).map((l, i) => ' '.repeat(i === 0 ? indent : indent + hang) + l)
}

/** A column of {@link fitTable}. */
export interface TableColumn {
  header: string
  /**
   * Prose can be wrapped within its column and, when the table still does not fit, moved under
   * its row as `label: text`. The other columns (identifiers, ports) are never wrapped.
   */
  prose?: { label: string, moveOrder: number }
}

/** How wide each column is, each cell's width being its longest line. */
function naturalWidths (columns: readonly TableColumn[], rows: readonly string[][]): number[] {
  return columns.map((c, i) => Math.max(len(c.header), ...rows.map((r) => len(r[i] ?? ''))))
}

/**
 * Shares `room` among columns: each gets its natural width if it can, and what is left is split
 * evenly among the wider ones.
 */
function share (naturals: readonly number[], room: number): number[] {
  const out = naturals.map(() => 0)
  const order = naturals.map((_, i) => i).sort((a, b) => (naturals[a] ?? 0) - (naturals[b] ?? 0))
  let left = room
  order.forEach((i, k) => {
    out[i] = Math.min(naturals[i] ?? 0, Math.floor(left / (order.length - k)))
    left -= out[i] ?? 0
  })
  return out
}

/**
 * A table of `width` columns at most, each line starting with `indent` spaces. When the natural
 * table is wider, prose columns are wrapped within narrower columns; when that is not enough
 * (a prose column would be narrower than 24 characters), prose columns move under their row, in
 * `moveOrder`, until the rest fits. Identifier columns are never wrapped: when they alone are
 * wider than `width`, their cells are no longer padded into columns but wrapped as a paragraph.
 * Infinity: one line per row.
 */
export function fitTable (columns: readonly TableColumn[], rows: readonly string[][], width: number, indent = 2): string[] {
  const pad = ' '.repeat(indent)
  const naturals = naturalWidths(columns, rows)
  const moveOrder = columns.map((c, i) => ({ c, i })).filter(({ c }) => c.prose !== undefined).sort((a, b) => (a.c.prose?.moveOrder ?? 0) - (b.c.prose?.moveOrder ?? 0)).map(({ i }) => i)
  const moved = new Set<number>()
  let widths = naturals
  let ragged = false
  for (;;) {
    const kept = columns.map((_, i) => i).filter((i) => !moved.has(i))
    const total = indent + kept.reduce((sum, i) => sum + (naturals[i] ?? 0), 0) + 2 * (kept.length - 1)
    if (total <= width) { widths = naturals; break }
    const prose = kept.filter((i) => columns[i]?.prose !== undefined)
    const fixed = indent + kept.filter((i) => !prose.includes(i)).reduce((sum, i) => sum + (naturals[i] ?? 0), 0) + 2 * (kept.length - 1)
    const shared = share(prose.map((i) => naturals[i] ?? 0), width - fixed)
    if (prose.length > 0 && shared.every((w, k) => w >= Math.min(naturals[prose[k] as number] ?? 0, MIN_PROSE_WIDTH))) {
      widths = naturals.map((w, i) => prose.includes(i) ? shared[prose.indexOf(i)] ?? w : w)
      break
    }
    const next = moveOrder.find((i) => !moved.has(i))
    if (next === undefined) { ragged = true; break }
    moved.add(next)
  }
  const kept = columns.map((_, i) => i).filter((i) => !moved.has(i))
  // Prose moved under its row, in the columns' order.
  const details = (row: readonly string[]): string[] => columns.flatMap((c, i) => moved.has(i) && (row[i] ?? '') !== '' ? paragraph(`${c.prose?.label ?? ''}: ${row[i] ?? ''}`, width, indent + DETAIL_INDENT) : [])
  const line = (cells: string[]): string => pad + cells.map((c, k) => c + ' '.repeat(Math.max(0, (widths[kept[k] as number] ?? 0) - len(c)))).join('  ').trimEnd()
  if (ragged) {
    // Each cell stays whole; a row that does not fit on one line continues on the next.
    const cells = (row: readonly string[]): string[] => pack(kept.map((i) => row[i] ?? ''), '  ', width - indent, { restWidth: width - indent - DETAIL_INDENT })
      .map((l, n) => ' '.repeat(n === 0 ? indent : indent + DETAIL_INDENT) + l)
    const out = cells(kept.map((i) => columns[i]?.header ?? ''))
    for (const row of rows) out.push(...cells(row), ...details(row))
    return out
  }
  const out = [line(kept.map((i) => columns[i]?.header ?? '')), line(kept.map((i) => '-'.repeat(widths[i] ?? 0)))]
  for (const row of rows) {
    const cells = kept.map((i) => columns[i]?.prose !== undefined ? wrap(row[i] ?? '', widths[i] ?? 0, { breakWords: true }) : [row[i] ?? ''])
    const height = Math.max(...cells.map((c) => c.length))
    for (let h = 0; h < height; h++) out.push(line(cells.map((c) => c[h] ?? '')))
    out.push(...details(row))
  }
  return out
}
