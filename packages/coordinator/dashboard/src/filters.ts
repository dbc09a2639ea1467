// The filters (status, protocol, role, port, required only, "Blocked only") and the view
// buttons. A change reloads the view, "what to open" and open details, and goes in the address.
import { writeAddress } from './address.js'
import { openDetail } from './details.js'
import { $, h } from './dom.js'
import { loadFix } from './fix-panel.js'
import { state, VIEW_LABELS, type Filters, type View } from './state.js'
import { loadView } from './view-panel.js'

/** Every filter off. */
export const NO_FILTERS: Readonly<Filters> = { status: '', protocol: '', role: '', port: '', required: false }

/** Puts the state's filters and view into the controls. */
export function syncFilterControls (): void {
  const f = state.filters
  $('f-status', HTMLSelectElement).value = f.status
  $('f-protocol', HTMLSelectElement).value = f.protocol
  const roleSel = $('f-role', HTMLSelectElement)
  if (f.role !== '' && ![...roleSel.options].some((o) => o.value === f.role)) roleSel.append(h('option', { value: f.role, text: f.role }))
  roleSel.value = f.role
  $('f-port', HTMLInputElement).value = f.port
  $('f-required', HTMLInputElement).checked = f.required
  const blocked = $('f-blocked')
  blocked.setAttribute('aria-pressed', String(f.status === 'blocked'))
  blocked.textContent = f.status === 'blocked' ? '✘ Blocked only (on)' : '✘ Blocked only'
  $('f-clear', HTMLButtonElement).disabled = f.status === '' && f.protocol === '' && f.role === '' && f.port === '' && !f.required
  for (const b of document.querySelectorAll<HTMLElement>('.view-btn')) b.setAttribute('aria-pressed', String(b.dataset.view === state.view))
  $('view-panel').setAttribute('aria-label', VIEW_LABELS[state.view])
}

/** Changes filters; from the agents view, goes back to the role matrix, which they filter. */
export function setFilters (changes: Partial<Filters>): void {
  Object.assign(state.filters, changes)
  state.hostPage.offset = 0
  syncFilterControls()
  writeAddress()
  if (state.view === 'agents') setView('role')
  else void loadView()
  void loadFix()
  if (state.detail !== null) void openDetail(state.detail.spec, { keepOrigin: true })
}

/** Shows another view. */
export function setView (view: View): void {
  state.view = view
  syncFilterControls()
  writeAddress()
  void loadView()
}

/** Wires the filter controls and the view buttons. */
export function setupFilters (): void {
  const status = $('f-status', HTMLSelectElement)
  status.addEventListener('change', () => setFilters({ status: status.value as Filters['status'] }))
  const protocol = $('f-protocol', HTMLSelectElement)
  protocol.addEventListener('change', () => setFilters({ protocol: protocol.value as Filters['protocol'] }))
  const role = $('f-role', HTMLSelectElement)
  role.addEventListener('change', () => setFilters({ role: role.value }))
  const required = $('f-required', HTMLInputElement)
  required.addEventListener('change', () => setFilters({ required: required.checked }))
  const port = $('f-port', HTMLInputElement)
  // A port filter applies once it is a valid port, half a second after typing stops.
  const applyPort = (): void => {
    const v = port.value.trim()
    const n = Number(v)
    const ok = v === '' || (Number.isInteger(n) && n >= 1 && n <= 65535)
    port.setAttribute('aria-invalid', String(!ok))
    if (ok && v !== state.filters.port) setFilters({ port: v })
  }
  let portTimer: ReturnType<typeof setTimeout> | undefined
  port.addEventListener('input', () => { clearTimeout(portTimer); portTimer = setTimeout(applyPort, 500) })
  port.addEventListener('change', () => { clearTimeout(portTimer); applyPort() })
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(portTimer); applyPort() })
  $('f-blocked').addEventListener('click', () => setFilters({ status: state.filters.status === 'blocked' ? '' : 'blocked' }))
  $('f-clear').addEventListener('click', () => setFilters({ ...NO_FILTERS }))
  for (const b of document.querySelectorAll<HTMLElement>('.view-btn')) b.addEventListener('click', () => setView(b.dataset.view as View))
}
