// One check of a difference, as the History view and a re-run's summary list it: its ends and
// port, what it was and is now, and the fix if it still fails.
import type { CheckChange } from '../../src/report/report-diff.js'
import { badge, h } from './dom.js'
import { portLabel, runFamilies } from './format.js'

/** A check's state on one side of a difference: a badge with its status and reason. */
function stateBadge (s: CheckChange['before']): HTMLElement | null {
  return s?.status != null ? badge(s.status, `${s.status}${s.reason !== null ? ` (${s.reason})` : ''}`) : null
}

/**
 * A list item for one changed check: `app1 → db2 15432/tcp blocked (refused) → pass`, and `to fix: …`;
 * the port names its family only in a dual-stack run, as everywhere else.
 */
export function changeLine (c: CheckChange): HTMLElement {
  const ends = `${c.from ?? `(${c.fromRole})`} → ${c.to ?? `(${c.toRole})`}`
  return h('li', { class: 'tl-check', 'data-change': c.change },
    h('span', { class: 'tl-ends', text: ends }), ' ', h('code', { text: portLabel({ ...c, family: runFamilies() ? c.family : null }) }), ' ',
    stateBadge(c.before), ' → ', stateBadge(c.after),
    c.remedy !== null ? h('div', { class: 'tl-remedy', text: `to fix: ${c.remedy}` }) : null)
}
