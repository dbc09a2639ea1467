import type { RoleCell, StatusCounts } from './views.js'

/** One part of a role-matrix cell's text, with the status it is painted in. */
export interface CellPart {
  status: keyof StatusCounts
  text: string
}

/** Counts in a few characters: `✔ 4`, `✘ 1 of 4 blocked`, `? 2 of 4 unproven`, `… 4` while running; null if nothing was tested. */
function tally (c: StatusCounts): CellPart | null {
  const tested = c.pass + c.blocked + c.inconclusive + c.pending
  if (tested === 0) return null
  if (c.blocked > 0) return { status: 'blocked', text: `✘ ${c.blocked} of ${tested} blocked` }
  if (c.inconclusive > 0) return { status: 'inconclusive', text: `? ${c.inconclusive} of ${tested} unproven` }
  if (c.pending > 0) return { status: 'pending', text: `… ${tested}` }
  return { status: 'pass', text: `✔ ${tested}` }
}

/**
 * A role-matrix cell as text, for the terminal and Markdown: its required checks, then its tested
 * optional ones marked `optional`, which never decide the cell's state (the dashboard shows the
 * same cell the same way). Joined with ` · `.
 */
export function cellParts (cell: RoleCell): CellPart[] {
  const required = tally(cell.required)
  const optional = tally(cell.optional)
  const parts: CellPart[] = []
  if (required !== null) parts.push(required)
  else if (cell.required.skipped > 0) parts.push({ status: 'skipped', text: '– not tested' })
  if (optional !== null) parts.push({ status: optional.status, text: `optional ${optional.text}` })
  else if (parts.length === 0) parts.push({ status: 'skipped', text: '– optional, not tested' })
  return parts
}
