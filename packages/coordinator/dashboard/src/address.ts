// The address's query holds the view, the filters, a pinned run and the host-matrix page, so
// that a reload or a shared link shows the same thing.
import { state, VIEW_LABELS, type Filters, type View } from './state.js'
import { STATUS_FILTERS } from './statuses.js'

/** Page sizes of the host matrix, in source hosts. */
export const HOST_PAGE_SIZES: readonly number[] = [25, 50, 100, 200]

/** Takes the view, filters, run and page from the address; invalid values are ignored. */
export function readAddress (): void {
  const q = new URLSearchParams(location.search)
  const view = q.get('view')
  if (view !== null && Object.hasOwn(VIEW_LABELS, view)) state.view = view as View
  const f = state.filters
  const status = q.get('status') ?? ''
  f.status = STATUS_FILTERS.has(status) ? status as Filters['status'] : ''
  const protocol = q.get('protocol') ?? ''
  f.protocol = protocol === 'tcp' || protocol === 'udp' ? protocol : ''
  f.role = q.get('role') ?? ''
  const port = Number(q.get('port'))
  f.port = Number.isInteger(port) && port >= 1 && port <= 65535 ? String(port) : ''
  f.required = q.get('required') === 'true'
  const run = q.get('run')
  if (run !== null && /^[A-Za-z0-9_-]{1,64}$/.test(run)) { state.runId = run; state.follow = false }
  const offset = Number(q.get('offset'))
  if (Number.isInteger(offset) && offset >= 0) state.hostPage.offset = offset
  const limit = Number(q.get('limit'))
  if (HOST_PAGE_SIZES.includes(limit)) state.hostPage.limit = limit
}

/** Puts the view, filters, run and page in the address, without a history entry. */
export function writeAddress (): void {
  const q = new URLSearchParams()
  if (state.view !== 'role') q.set('view', state.view)
  const f = state.filters
  if (f.status !== '') q.set('status', f.status)
  if (f.protocol !== '') q.set('protocol', f.protocol)
  if (f.role !== '') q.set('role', f.role)
  if (f.port !== '') q.set('port', f.port)
  if (f.required) q.set('required', 'true')
  if (!state.follow && state.runId !== null) q.set('run', state.runId)
  if (state.view === 'host') {
    if (state.hostPage.offset > 0) q.set('offset', String(state.hostPage.offset))
    if (state.hostPage.limit !== 50) q.set('limit', String(state.hostPage.limit))
  }
  const s = q.toString()
  history.replaceState(history.state, '', location.pathname + (s !== '' ? `?${s}` : '') + location.hash)
}
