// portcheck dashboard: plain ES module, no framework, no dependencies, no build step.
//
// Everything shown comes from the coordinator's API (/api/...), with the token as a Bearer
// header. The token arrives in the address's fragment (#token=...), which browsers never send
// to the server; the page keeps it in sessionStorage and removes it from the address bar.
// The server's CSP forbids inline scripts and styles: this file never writes `style="..."`
// or HTML strings with data in them; it builds DOM nodes and sets classes.

const TOKEN_KEY = 'portcheck.token'
const FINAL = new Set(['done', 'aborted'])
/** Worst first: the order statuses are listed and details are loaded in. */
const SEVERITY = ['blocked', 'inconclusive', 'pending', 'pass', 'skipped']
const STATUS = {
  pass: { icon: '✔', label: 'pass', on: 'passed on' },
  blocked: { icon: '✘', label: 'blocked', on: 'blocked on' },
  inconclusive: { icon: '?', label: 'inconclusive', on: 'inconclusive on' },
  skipped: { icon: '–', label: 'skipped', on: 'skipped on' },
  pending: { icon: '…', label: 'pending', on: 'pending on' }
}
/** Copied from packages/protocol/src/verdicts.ts (the page cannot import TypeScript). */
const REASONS = {
  pass: {
    'existing-listener': 'Another process already held this TCP port on the target and a connection to it completed; the agent could not put its own listener there, so the nonce was not checked.'
  },
  blocked: {
    timeout: 'The target listener was open, and nothing arrived: the traffic was silently dropped.',
    refused: 'The target listener was open, and the probe was refused (TCP RST or ICMP port unreachable): a firewall rejects it.',
    unreachable: 'An ICMP host, network or administratively-prohibited unreachable came back: a firewall or router refuses the path.',
    intercepted: 'Something answered, but the target listener never saw the nonce: a DNAT, a proxy or another host took the traffic.',
    'egress-denied': "The source host's own firewall refused to send the probe (EPERM): an egress rule on the source."
  },
  inconclusive: {
    'port-in-use': 'Another process holds this port on the target, so portcheck cannot listen there and cannot prove what arrives.',
    'bind-denied': 'The target agent was not allowed to listen on this port (e.g. a port below 1024 without root or CAP_NET_BIND_SERVICE).',
    'bind-failed': 'The target agent could not listen on this port for another reason (see detail).',
    'agent-missing': 'The agent of the source or target host never joined.',
    'agent-lost': 'The agent of the source or target host left or stopped answering during the run.',
    'probe-error': 'The source agent could not send the probe for a local reason that says nothing about the network (see detail).',
    aborted: 'The run was stopped before this check finished.'
  },
  skipped: {
    external: 'One end is an external endpoint (users, an IP range, a public service) that runs no agent: it cannot be proven by two agents.',
    optional: 'The flow is optional in the catalog; pass --include-optional to check it.',
    'same-host': 'Source and target are the same host: the traffic never crosses a firewall between hosts.',
    condition: 'The catalog condition on this flow is off for these settings.'
  }
}
const VERDICTS = {
  pass: { icon: '✔', title: 'Pass', text: 'every required flow passed' },
  blocked: { icon: '✘', title: 'Blocked', text: 'required flows are blocked' },
  inconclusive: { icon: '?', title: 'Inconclusive', text: 'nothing required is blocked, but some required flows could not be verified' }
}
const EXIT_CODES = { pass: 0, blocked: 1, inconclusive: 3 }
const VIEW_LABELS = { role: 'Role matrix', host: 'Host matrix', agents: 'Agents' }
const DETAIL_PAGE = 100
const FIX_LIMIT = 12
/** Host matrices up to this many columns show counts in each cell; wider ones show the worst status only. */
const ROOMY_COLUMNS = 16

const nf = new Intl.NumberFormat('en')
const fmt = (n) => nf.format(n)

const state = {
  token: null,
  /** 'full' (join token, or no token needed) or 'read' (viewer token). */
  access: 'full',
  catalog: null,
  agents: null,
  runs: [],
  /** The run shown; with `follow`, always the newest one. */
  runId: null,
  follow: true,
  view: 'role',
  filters: { status: '', protocol: '', role: '', port: '', required: false },
  hostPage: { offset: 0, limit: 50 },
  /** Last progress event of the run in progress. */
  live: null,
  detail: null,
  busy: false,
  wsOpen: false,
  booted: false,
  /** Host name -> inventory entry, for tooltips. */
  hostInfo: new Map(),
  optionalSkipped: new Map()
}

// ------------------------------------------------------------------ small helpers

const $ = (id) => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`#${id} missing`)
  return el
}

/** Creates an element. attrs: class, text, data-*, aria-*, on<event>, booleans; children: nodes or strings. */
function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'text') el.textContent = v
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c)
  }
  return el
}

/** An icon for a status, hidden from screen readers (the text next to it says the status). */
const icon = (status) => h('span', { class: 'icon', 'aria-hidden': 'true', text: STATUS[status]?.icon ?? '·' })

/** A status badge: icon, text and colour. */
function badge (status, text) {
  return h('span', { class: `st st-${status}` }, icon(status), ' ', text ?? STATUS[status]?.label ?? status)
}

function worstOf (counts) {
  return SEVERITY.find((s) => (counts[s] ?? 0) > 0) ?? 'skipped'
}

function totalOf (counts) {
  return SEVERITY.reduce((n, s) => n + (counts[s] ?? 0), 0)
}

function countsText (counts) {
  const parts = SEVERITY.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${fmt(counts[s])} ${STATUS[s].label}`)
  return parts.length > 0 ? parts.join(', ') : 'no checks'
}

function portLabel (p) {
  return `${p.port}${p.portEnd !== undefined && p.portEnd !== null ? `-${p.portEnd}` : ''}/${p.protocol}`
}

function pairsWord (n) {
  return n === 1 ? 'pair' : 'pairs'
}

/**
 * The state of one port over every host pair: head "blocked on 2 of 6 pairs" (the worst
 * status), rest ", 4 passed" (the others).
 */
function portPhraseParts (counts, pairs) {
  const present = SEVERITY.filter((s) => (counts[s] ?? 0) > 0)
  if (present.length === 0) return { head: `no checks (${fmt(pairs)} ${pairsWord(pairs)})`, rest: '' }
  const [first, ...rest] = present
  return {
    head: `${STATUS[first].on} ${fmt(counts[first])} of ${fmt(pairs)} ${pairsWord(pairs)}`,
    rest: rest.length === 0 ? '' : `, ${rest.map((s) => `${fmt(counts[s])} ${s === 'pass' ? 'passed' : STATUS[s].label}`).join(', ')}`
  }
}

function portPhrase (counts, pairs) {
  const { head, rest } = portPhraseParts(counts, pairs)
  return head + rest
}

function duration (ms) {
  if (ms === null || ms === undefined) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`
}

function ago (ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  return `${Math.floor(s / 3600)} h ago`
}

function clock (t) {
  const d = new Date(t)
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString('en-GB')
}

function roleTitle (id) {
  return state.catalog?.roles?.[id]?.title ?? ''
}

function isExternalRole (id) {
  return state.catalog?.roles?.[id]?.external === true
}

class ApiError extends Error {
  constructor (status, error) {
    super(error?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = error?.code ?? `HTTP_${status}`
    this.details = Array.isArray(error?.details) ? error.details : []
  }
}

function authHeaders () {
  return state.token !== null ? { authorization: `Bearer ${state.token}` } : {}
}

/** Calls the API; on 401 asks for a token and throws. */
async function api (path, { method = 'GET', body } = {}) {
  const headers = authHeaders()
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  } catch (err) {
    throw new ApiError(0, { code: 'PC_ERR_NETWORK', message: `the coordinator cannot be reached (${err.message})` })
  }
  const text = await res.text()
  let data = null
  try { data = text === '' ? null : JSON.parse(text) } catch { data = null }
  if (res.status === 401) {
    askToken(state.token !== null ? 'The coordinator refused this token. Enter a valid one.' : null)
    throw new ApiError(401, data?.error ?? { code: 'PC_ERR_UNAUTHORIZED', message: 'a token is required' })
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? { message: text.slice(0, 200) || `HTTP ${res.status}` })
  return data
}

function runPath (suffix = '') {
  return `/api/runs/${encodeURIComponent(state.runId)}${suffix}`
}

/** The global filters as API query fields (cell filters passed in `extra` win). */
function filterQuery (extra = {}, { status = true } = {}) {
  const q = new URLSearchParams()
  const f = state.filters
  if (status && f.status !== '') q.set('status', f.status)
  if (f.protocol !== '') q.set('protocol', f.protocol)
  if (f.role !== '') q.set('role', f.role)
  if (f.port !== '') q.set('port', f.port)
  if (f.required) q.set('required', 'true')
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null || v === '') q.delete(k)
    else q.set(k, String(v))
  }
  return q
}

let noticeTimer = null
/** A one-line message above the summary; `forMs` hides it after a while. */
function showNotice (text, forMs = 0) {
  const n = $('notice')
  clearTimeout(noticeTimer)
  n.textContent = text ?? ''
  n.hidden = text === null || text === undefined
  if (forMs > 0) noticeTimer = setTimeout(() => { n.hidden = true }, forMs)
}

function describeError (err) {
  if (err instanceof ApiError) return `${err.message} (${err.code})`
  return String(err?.message ?? err)
}

// ------------------------------------------------------------------ token

function takeTokenFromAddress () {
  const hash = location.hash.replace(/^#/, '')
  if (hash !== '') {
    const p = new URLSearchParams(hash)
    const t = p.get('token')
    if (t !== null && t !== '') {
      sessionStorage.setItem(TOKEN_KEY, t)
      p.delete('token')
      const rest = p.toString()
      history.replaceState(history.state, '', location.pathname + location.search + (rest !== '' ? `#${rest}` : ''))
    }
  }
  state.token = sessionStorage.getItem(TOKEN_KEY)
}

function askToken (message) {
  const dlg = $('token-dialog')
  const err = $('token-error')
  err.textContent = message ?? ''
  err.hidden = message === null || message === undefined
  $('app').setAttribute('aria-busy', 'false')
  if (!dlg.open) {
    dlg.showModal()
    $('token-input').value = ''
    $('token-input').focus()
  }
}

function setupTokenDialog () {
  const dlg = $('token-dialog')
  // The page is useless without a token: Escape does not dismiss the form.
  dlg.addEventListener('cancel', (e) => e.preventDefault())
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const t = $('token-input').value.trim()
    if (t === '') return
    state.token = t
    sessionStorage.setItem(TOKEN_KEY, t)
    dlg.close()
    void boot()
  })
}

/** Whether the token may start runs (`full`) or only look (`read`), as the API says. */
async function probeAccess () {
  try {
    const session = await api('/api/session')
    return session.access === 'read' ? 'read' : 'full'
  } catch {
    return 'full'
  }
}

// ------------------------------------------------------------------ address (view and filters survive a reload)

function readAddress () {
  const q = new URLSearchParams(location.search)
  const view = q.get('view')
  if (view !== null && VIEW_LABELS[view] !== undefined) state.view = view
  const f = state.filters
  const status = q.get('status') ?? ''
  f.status = ['', 'failing', 'blocked', 'inconclusive', 'pass', 'skipped', 'pending'].includes(status) ? status : ''
  const protocol = q.get('protocol') ?? ''
  f.protocol = ['tcp', 'udp'].includes(protocol) ? protocol : ''
  f.role = q.get('role') ?? ''
  const port = Number(q.get('port'))
  f.port = Number.isInteger(port) && port >= 1 && port <= 65535 ? String(port) : ''
  f.required = q.get('required') === 'true'
  const run = q.get('run')
  if (run !== null && /^[A-Za-z0-9_-]{1,64}$/.test(run)) { state.runId = run; state.follow = false }
  const offset = Number(q.get('offset'))
  if (Number.isInteger(offset) && offset >= 0) state.hostPage.offset = offset
  const limit = Number(q.get('limit'))
  if ([25, 50, 100, 200].includes(limit)) state.hostPage.limit = limit
}

function writeAddress () {
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

// ------------------------------------------------------------------ runs and summary

function shownRun () {
  return state.runs.find((r) => r.id === state.runId) ?? null
}

function runningRun () {
  return state.runs.find((r) => !FINAL.has(r.state)) ?? null
}

async function loadRuns () {
  const runs = await api('/api/runs')
  state.runs = Array.isArray(runs) ? runs : []
  // Live progress is fresher than the list for the run in progress.
  const live = state.live
  if (live !== null) {
    const r = state.runs.find((x) => x.id === live.id)
    if (r !== undefined && !FINAL.has(r.state) && r.progress.done < live.done) r.progress = { done: live.done, total: live.total }
  }
  if (state.follow || (state.runId !== null && shownRun() === null && state.runs.length > 0)) {
    if (!state.follow) showNotice(`Run ${state.runId} is no longer kept by the coordinator; showing the latest run.`)
    state.follow = true
    state.runId = state.runs[0]?.id ?? null
  }
  renderRunSelect()
  renderSummary()
  renderActions()
  writeAddress()
}

let runSelectSig = ''
function renderRunSelect () {
  const sel = $('run-select')
  for (const b of document.querySelectorAll('[data-export]')) b.disabled = shownRun() === null
  // Rebuilt only when something in it changed: a rebuild would close the list under the pointer.
  const sig = JSON.stringify([state.runId, state.runs.map((r) => [r.id, r.verdict, r.state === 'done' || r.state === 'aborted'])])
  if (sig === runSelectSig) return
  runSelectSig = sig
  sel.replaceChildren()
  if (state.runs.length === 0) {
    sel.append(h('option', { value: '', text: 'no run yet' }))
    sel.disabled = true
    return
  }
  sel.disabled = false
  state.runs.forEach((r, i) => {
    const v = r.verdict !== null && FINAL.has(r.state) ? `${STATUS[r.verdict]?.icon ?? ''} ${r.verdict}${r.state === 'aborted' ? ' (aborted)' : ''}` : 'running'
    const label = `${clock(r.startedAt)} · ${v} · ${fmt(r.progress.total)} checks${i === 0 ? ' (latest)' : ''}`
    sel.append(h('option', { value: r.id, text: label, selected: r.id === state.runId }))
  })
  sel.value = state.runId ?? ''
}

function renderSummary () {
  const run = shownRun()
  const box = $('verdict')
  const bar = $('progress-bar')
  const reqRow = $('count-required')
  const allRow = $('count-all')
  if (run === null) {
    box.className = 'verdict verdict-none'
    $('verdict-icon').textContent = '○'
    $('verdict-title').textContent = state.runs.length === 0 ? 'No run yet' : 'Run not found'
    $('verdict-sub').textContent = state.runs.length === 0 ? 'Start a run to check every documented flow.' : ''
    bar.hidden = true
    setProgressText('', true)
    reqRow.replaceChildren()
    allRow.replaceChildren()
    $('run-meta').replaceChildren()
    return
  }
  const live = state.live !== null && state.live.id === run.id ? state.live : null
  const running = !FINAL.has(run.state)
  const catalogTitle = state.catalog?.title ?? ''
  document.title = running ? `… running · portcheck · ${catalogTitle}` : `${VERDICTS[run.verdict]?.icon ?? ''} ${VERDICTS[run.verdict]?.title ?? run.state} · portcheck · ${catalogTitle}`
  if (running) {
    box.className = 'verdict verdict-running'
    $('verdict-icon').textContent = '…'
    $('verdict-title').textContent = `Running: ${live?.state ?? run.state}`
    $('verdict-sub').textContent = 'the verdict comes when every check is done'
    const done = live?.done ?? run.progress.done
    const total = live?.total ?? run.progress.total
    bar.hidden = false
    bar.max = Math.max(1, total)
    bar.value = done
    setProgressText(`${fmt(done)} of ${fmt(total)} checks done · ${duration(live?.elapsedMs ?? run.durationMs)} elapsed`)
  } else {
    const v = VERDICTS[run.verdict] ?? { icon: '·', title: run.state, text: '' }
    const aborted = run.state === 'aborted'
    box.className = `verdict verdict-${run.verdict ?? 'none'}${aborted ? ' verdict-aborted' : ''}`
    $('verdict-icon').textContent = v.icon
    $('verdict-title').textContent = aborted ? `Aborted · ${v.title}` : v.title
    const code = run.verdict !== null ? EXIT_CODES[run.verdict] : null
    $('verdict-sub').textContent = `${code !== null ? `exit code ${code}: ` : ''}${v.text}${aborted ? ' (run stopped early: unfinished checks are inconclusive)' : ''}`
    bar.hidden = true
    setProgressText(`${run.state} · ${fmt(run.progress.done)} of ${fmt(run.progress.total)} checks · took ${duration(run.durationMs)}`, true)
  }
  const chips = (counts, label, withPending) => {
    const row = [h('span', { class: 'count-label', text: label })]
    const pending = Math.max(0, counts.checks - counts.pass - counts.blocked - counts.inconclusive - counts.skipped)
    for (const s of ['pass', 'blocked', 'inconclusive', 'skipped', ...(withPending && pending > 0 ? ['pending'] : [])]) {
      const n = s === 'pending' ? pending : counts[s]
      const words = { pass: 'passed', blocked: 'blocked', inconclusive: 'inconclusive', skipped: 'skipped', pending: 'pending' }[s]
      row.push(h('button', {
        type: 'button',
        class: `chip st-${s}${n === 0 ? ' chip-zero' : ''}`,
        'data-status': s,
        title: `Show ${words} checks only`,
        onclick: () => setFilters({ status: s })
      }, icon(s), h('strong', { text: fmt(n) }), ` ${words}`))
    }
    return row
  }
  reqRow.replaceChildren(...chips(run.required, 'Required', running))
  allRow.replaceChildren(...chips(run.summary, `All ${fmt(run.summary.checks)}`, running))
  const meta = [`run ${run.id}`, `started ${clock(run.startedAt)}`]
  const optional = state.optionalSkipped.get(run.id)
  if (optional !== undefined && optional > 0) meta.push(`${fmt(optional)} optional not checked`)
  $('run-meta').replaceChildren(h('span', { text: meta.join(' · ') }))
}

let lastProgressText = ''
let progressTimer = null
/**
 * The aria-live progress line: while a run goes on, at most one update a second, so screen
 * readers are not flooded; a final state (`now`) is shown at once.
 */
function setProgressText (text, now = false) {
  const el = $('progress')
  lastProgressText = text
  if (now) {
    clearTimeout(progressTimer)
    progressTimer = null
    el.textContent = text
    return
  }
  if (progressTimer !== null || el.textContent === text) return
  el.textContent = text
  progressTimer = setTimeout(() => {
    progressTimer = null
    if (el.textContent !== lastProgressText) el.textContent = lastProgressText
  }, 1000)
}

function renderActions () {
  const run = shownRun()
  const running = runningRun()
  const readOnly = state.access === 'read'
  const start = $('start-run')
  const rerun = $('rerun-failed')
  const abort = $('abort-run')
  const failing = run !== null ? run.summary.blocked + run.summary.inconclusive : 0
  start.disabled = readOnly || running !== null || state.busy || state.catalog === null
  start.title = readOnly ? 'read-only token' : running !== null ? 'a run is in progress' : 'check every flow now, with the options below'
  rerun.disabled = readOnly || running !== null || state.busy || run === null || !FINAL.has(run.state) || failing === 0
  rerun.textContent = failing > 0 && run !== null && FINAL.has(run.state) ? `↻ Re-run failed (${fmt(failing)})` : '↻ Re-run failed'
  rerun.title = readOnly ? 'read-only token' : failing === 0 ? 'the shown run has no blocked or inconclusive check' : `check again the ${fmt(failing)} blocked or inconclusive checks of run ${run?.id}`
  abort.hidden = running === null
  abort.disabled = readOnly || state.busy
  $('readonly-note').hidden = !readOnly
  for (const el of $('next-run-form').elements) el.disabled = readOnly
}

function showRunError (err) {
  const box = $('run-error')
  if (err === null) { box.hidden = true; box.replaceChildren(); return }
  const items = err instanceof ApiError ? err.details : []
  box.replaceChildren(
    h('strong', { text: err instanceof ApiError && err.status === 409 ? 'A run is already in progress. ' : 'The run was not started. ' }),
    h('span', { text: describeError(err) }),
    items.length > 0 ? h('ul', {}, items.map((d) => h('li', { text: String(d) }))) : null
  )
  box.hidden = false
}

// ------------------------------------------------------------------ next run form and actions

function renderNextRunForm () {
  const box = $('settings-fields')
  box.replaceChildren()
  for (const s of state.catalog?.settings ?? []) {
    const id = `opt-set-${s.name}`
    let input
    if (s.type === 'boolean') {
      input = h('input', { type: 'checkbox', id, 'data-setting': s.name, checked: s.value === true })
    } else if (Array.isArray(s.enum) && s.enum.length > 0) {
      input = h('select', { id, 'data-setting': s.name }, s.enum.map((v) => h('option', { value: v, text: v, selected: v === s.value })))
    } else {
      const numeric = s.type === 'number' || s.type === 'port'
      input = h('input', {
        type: numeric ? 'number' : 'text',
        id,
        'data-setting': s.name,
        value: s.value !== undefined && s.value !== null ? String(s.value) : '',
        placeholder: s.value === undefined || s.value === null ? 'not set' : null,
        ...(s.type === 'port' ? { min: 1, max: 65535 } : {})
      })
    }
    const def = s.default !== undefined ? `default ${String(s.default)}` : 'no default'
    const scope = s.scope === 'host' ? '; per host: a value here applies to hosts that set none' : ''
    const help = h('span', { class: 'hint', id: `${id}-help`, text: `${s.description} (${s.type}, ${def}${scope})` })
    input.setAttribute('aria-describedby', `${id}-help`)
    box.append(s.type === 'boolean'
      ? h('div', { class: 'setting' }, h('label', { class: 'cb', for: id }, input, ' ', h('code', { text: s.name })), help)
      : h('div', { class: 'setting' }, h('label', { class: 'field', for: id }, h('code', { text: s.name }), input), help))
  }
}

/** The request body for "Start run": only the settings that differ from the coordinator's. */
function nextRunBody () {
  const body = { includeOptional: $('opt-include-optional').checked }
  const settings = {}
  for (const s of state.catalog?.settings ?? []) {
    const el = document.querySelector(`[data-setting="${CSS.escape(s.name)}"]`)
    if (el === null) continue
    let v
    if (s.type === 'boolean') v = el.checked
    else if (s.type === 'number' || s.type === 'port') v = el.value.trim() === '' ? undefined : Number(el.value)
    else v = el.value.trim() === '' ? undefined : el.value.trim()
    if (v !== undefined && v !== s.value) settings[s.name] = v
  }
  if (Object.keys(settings).length > 0) body.settings = settings
  const timeout = Number($('opt-timeout').value)
  if ($('opt-timeout').value.trim() !== '' && Number.isInteger(timeout)) body.timeoutMs = timeout
  return body
}

async function postRun (body) {
  state.busy = true
  renderActions()
  showRunError(null)
  try {
    const r = await api('/api/runs', { method: 'POST', body })
    state.follow = true
    state.runId = r.id
    state.live = { id: r.id, state: 'waiting', done: 0, total: r.checks, elapsedMs: 0 }
    await refreshAll()
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) state.access = 'read'
    if (!(err instanceof ApiError && err.status === 401)) showRunError(err)
  } finally {
    state.busy = false
    renderActions()
  }
}

async function abortRun () {
  const run = runningRun()
  if (run === null) return
  state.busy = true
  renderActions()
  try {
    await api(`/api/runs/${encodeURIComponent(run.id)}/abort`, { method: 'POST' })
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) state.access = 'read'
    showRunError(err)
  } finally {
    state.busy = false
    renderActions()
  }
}

async function exportRun (format) {
  const run = shownRun()
  if (run === null) return
  try {
    const res = await fetch(runPath(`/export.${format}`), { headers: authHeaders(), cache: 'no-store' })
    if (res.status === 401) { askToken('The coordinator refused this token.'); return }
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null))?.error)
    const blob = await res.blob()
    const cd = res.headers.get('content-disposition') ?? ''
    const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? `portcheck-${run.id}.${format === 'junit' ? 'junit.xml' : format}`
    const url = URL.createObjectURL(blob)
    const a = h('a', { href: url, download: name, class: 'sr-only', text: name })
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
    showNotice(`Downloaded ${name}.`, 5000)
  } catch (err) {
    showNotice(`Export failed: ${describeError(err)}`)
  }
}

// ------------------------------------------------------------------ filters and views

function syncFilterControls () {
  const f = state.filters
  $('f-status').value = f.status
  $('f-protocol').value = f.protocol
  const roleSel = $('f-role')
  if (f.role !== '' && ![...roleSel.options].some((o) => o.value === f.role)) roleSel.append(h('option', { value: f.role, text: f.role }))
  roleSel.value = f.role
  $('f-port').value = f.port
  $('f-required').checked = f.required
  const blocked = $('f-blocked')
  blocked.setAttribute('aria-pressed', String(f.status === 'blocked'))
  blocked.textContent = f.status === 'blocked' ? '✘ Blocked only (on)' : '✘ Blocked only'
  $('f-clear').disabled = f.status === '' && f.protocol === '' && f.role === '' && f.port === '' && !f.required
  for (const b of document.querySelectorAll('.view-btn')) b.setAttribute('aria-pressed', String(b.dataset.view === state.view))
  $('view-panel').setAttribute('aria-label', VIEW_LABELS[state.view])
}

function setFilters (changes) {
  Object.assign(state.filters, changes)
  state.hostPage.offset = 0
  syncFilterControls()
  writeAddress()
  if (state.view === 'agents') setView('role')
  else void loadView()
  void loadFix()
  if (state.detail !== null) void openDetail(state.detail.spec, { keepOrigin: true })
}

function setView (view) {
  state.view = view
  syncFilterControls()
  writeAddress()
  void loadView()
}

function setupControls () {
  $('f-status').addEventListener('change', (e) => setFilters({ status: e.target.value }))
  $('f-protocol').addEventListener('change', (e) => setFilters({ protocol: e.target.value }))
  $('f-role').addEventListener('change', (e) => setFilters({ role: e.target.value }))
  $('f-required').addEventListener('change', (e) => setFilters({ required: e.target.checked }))
  const port = $('f-port')
  const applyPort = () => {
    const v = port.value.trim()
    const n = Number(v)
    const ok = v === '' || (Number.isInteger(n) && n >= 1 && n <= 65535)
    port.setAttribute('aria-invalid', String(!ok))
    if (ok && v !== state.filters.port) setFilters({ port: v })
  }
  let portTimer = null
  port.addEventListener('input', () => { clearTimeout(portTimer); portTimer = setTimeout(applyPort, 500) })
  port.addEventListener('change', () => { clearTimeout(portTimer); applyPort() })
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(portTimer); applyPort() })
  $('f-blocked').addEventListener('click', () => setFilters({ status: state.filters.status === 'blocked' ? '' : 'blocked' }))
  $('f-clear').addEventListener('click', () => setFilters({ status: '', protocol: '', role: '', port: '', required: false }))
  for (const b of document.querySelectorAll('.view-btn')) b.addEventListener('click', () => setView(b.dataset.view))
  $('run-select').addEventListener('change', (e) => {
    const id = e.target.value
    state.follow = id === state.runs[0]?.id
    state.runId = id
    writeAddress()
    renderRunSelect()
    renderSummary()
    renderActions()
    void Promise.all([loadView(), loadFix(), state.detail !== null ? openDetail(state.detail.spec, { keepOrigin: true }) : null, loadOptionalSkipped()])
  })
  $('start-run').addEventListener('click', () => void postRun(nextRunBody()))
  $('rerun-failed').addEventListener('click', () => { if (state.runId !== null) void postRun({ rerunOf: state.runId }) })
  $('abort-run').addEventListener('click', () => void abortRun())
  for (const b of document.querySelectorAll('[data-export]')) b.addEventListener('click', () => void exportRun(b.dataset.export))
  $('next-run-form').addEventListener('submit', (e) => e.preventDefault())
  $('detail-close').addEventListener('click', () => closeDetail())
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.detail !== null && !$('token-dialog').open) {
      e.preventDefault()
      closeDetail()
    }
  })
}

let viewSeq = 0
async function loadView () {
  const seq = ++viewSeq
  const panel = $('view-panel')
  try {
    if (state.view === 'agents') {
      await loadAgents()
      if (seq === viewSeq) renderAgentsView()
      return
    }
    if (state.runId === null || shownRun() === null) {
      if (seq === viewSeq) renderNoRun()
      return
    }
    if (state.view === 'host') {
      const q = filterQuery({ by: 'host', offset: state.hostPage.offset, limit: state.hostPage.limit })
      const data = await api(runPath(`/matrix?${q}`))
      if (seq !== viewSeq) return
      if (data.rows.length === 0 && data.totalRows > 0 && state.hostPage.offset > 0) {
        state.hostPage.offset = Math.max(0, Math.floor((data.totalRows - 1) / state.hostPage.limit) * state.hostPage.limit)
        writeAddress()
        return await loadView()
      }
      renderHostMatrix(data)
    } else {
      const filtered = api(runPath(`/matrix?${filterQuery({ by: 'role' })}`))
      // With a status filter, the unfiltered matrix gives each port's number of host pairs.
      const base = state.filters.status !== '' ? api(runPath(`/matrix?${filterQuery({ by: 'role' }, { status: false })}`)) : filtered
      const [f, b] = await Promise.all([filtered, base])
      if (seq !== viewSeq) return
      renderRoleMatrix(f, b)
    }
    $('app').setAttribute('aria-busy', 'false')
  } catch (err) {
    if (seq !== viewSeq || (err instanceof ApiError && err.status === 401)) return
    panel.replaceChildren(h('p', { class: 'empty-state error-text', text: `Could not load the ${VIEW_LABELS[state.view].toLowerCase()}: ${describeError(err)}` }))
  }
}

function renderNoRun () {
  const panel = $('view-panel')
  const hosts = state.agents?.hosts ?? []
  const connected = hosts.filter((x) => x.state === 'connected').length
  const start = h('button', { type: 'button', class: 'btn btn-primary', text: '▶ Start run', disabled: state.access === 'read' || runningRun() !== null, onclick: () => void postRun(nextRunBody()) })
  panel.replaceChildren(h('div', { class: 'empty-state' },
    h('h2', { text: state.runs.length === 0 ? 'No run yet' : 'This run is not available' }),
    h('p', { text: `${connected} of ${hosts.length} agents are connected. A run checks every documented flow between the hosts whose agents are connected; the others are reported as inconclusive (agent missing).` }),
    state.access === 'read' ? h('p', { class: 'note', text: 'Read-only access: ask for the full token to start a run.' }) : start,
    connected < hosts.length ? h('p', { class: 'hint' }, 'The ', h('button', { type: 'button', class: 'btn-link', text: 'Agents view', onclick: () => setView('agents') }), ' has the command to run on each missing host.') : null
  ))
  $('app').setAttribute('aria-busy', 'false')
}

// ------------------------------------------------------------------ focus and scroll preservation across re-renders

/** Replaces the view's content, keeping the matrix's scroll position when the same view is re-rendered. */
function replaceView (kind, ...nodes) {
  const panel = $('view-panel')
  const old = panel.querySelector('.matrix-scroll')
  const pos = old !== null && old.dataset.view === kind ? { top: old.scrollTop, left: old.scrollLeft } : null
  panel.replaceChildren(...nodes)
  const now = panel.querySelector('.matrix-scroll')
  if (now !== null) {
    now.dataset.view = kind
    if (pos !== null) { now.scrollTop = pos.top; now.scrollLeft = pos.left }
  }
}

function focusKey () {
  const a = document.activeElement
  return a instanceof HTMLElement && $('view-panel').contains(a) ? a.dataset.key ?? null : null
}

function restoreFocus (key) {
  if (key === null) return
  const el = $('view-panel').querySelector(`[data-key="${CSS.escape(key)}"]`)
  if (el instanceof HTMLElement) {
    if (el.tabIndex < 0 && el.classList.contains('hc')) moveRoving(el)
    el.focus({ preventScroll: true })
  }
}

// ------------------------------------------------------------------ role matrix

function renderRoleMatrix (data, base) {
  const panel = $('view-panel')
  const key = focusKey()
  const cells = new Map(data.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  const baseCells = new Map(base.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  if (data.cells.length === 0) {
    panel.replaceChildren(h('div', { class: 'empty-state' },
      h('h2', { text: 'No check matches these filters' }),
      h('p', { text: state.filters.status === 'blocked' ? 'Nothing is blocked here.' : 'Change or clear the filters to see more.' }),
      h('button', { type: 'button', class: 'btn', text: 'Clear filters', onclick: () => setFilters({ status: '', protocol: '', role: '', port: '', required: false }) })))
    return
  }
  // A whole blocked row or column usually means one host's or one subnet's firewall.
  // Only cells with a conclusive result count: a cell whose agent is missing neither confirms nor breaks the pattern.
  const line = (cellsOf) => {
    const tested = cellsOf.filter((c) => c.counts.pass + c.counts.blocked > 0)
    const blocked = tested.filter((c) => c.counts.blocked > 0)
    // One cell alone is no pattern: a line stands out when two or more tested cells are all blocked.
    return { tested: tested.length, blockedCells: blocked.length, blockedChecks: blocked.reduce((n, c) => n + c.counts.blocked, 0), all: tested.length > 1 && blocked.length === tested.length }
  }
  // Judged on the matrix without the status filter: under "blocked only" every line would look blocked.
  const rowLine = new Map(data.rows.map((r) => [r, line(base.cells.filter((c) => c.from === r))]))
  const colLine = new Map(data.cols.map((r) => [r, line(base.cells.filter((c) => c.to === r))]))
  const roleHeader = (role, scope, info) => {
    const title = roleTitle(role)
    return h('th', { scope, class: `role-head${info.all ? ' line-blocked' : ''}`, 'data-role': role },
      h('span', { class: 'role-id', text: role }),
      isExternalRole(role) ? h('span', { class: 'tag', text: 'external' }) : null,
      title !== '' ? h('span', { class: 'role-title', text: title }) : null,
      info.blockedChecks > 0
        ? h('span', { class: `line-badge${info.all ? ' line-badge-all' : ''}` }, icon('blocked'), info.all ? ` blocked ${scope === 'row' ? 'to' : 'from'} every role · ${fmt(info.blockedChecks)} checks` : ` ${fmt(info.blockedChecks)} blocked`)
        : null)
  }
  const thead = h('thead', {}, h('tr', {},
    h('th', { scope: 'col', class: 'corner' }, h('span', { text: 'from ↓' }), h('span', { text: 'to →' })),
    data.cols.map((c) => roleHeader(c, 'col', colLine.get(c)))))
  const tbody = h('tbody')
  for (const r of data.rows) {
    const tr = h('tr', {}, roleHeader(r, 'row', rowLine.get(r)))
    for (const col of data.cols) {
      const cell = cells.get(`${r}\0${col}`)
      if (cell === undefined) {
        tr.append(h('td', { class: 'rc rc-empty' }, h('span', { 'aria-hidden': 'true', text: '·' }), h('span', { class: 'sr-only', text: `no documented flow from ${r} to ${col}${state.filters.status !== '' ? ' matching the filters' : ''}` })))
        continue
      }
      const baseCell = baseCells.get(`${r}\0${col}`) ?? cell
      const total = totalOf(cell.counts)
      const head = h('button', {
        type: 'button',
        class: 'cell-open',
        'data-key': `cell:${r}>${col}`,
        'aria-label': `${r} to ${col}: ${fmt(total)} checks, ${countsText(cell.counts)}. Open the details.`,
        onclick: (e) => void openDetail({ kind: 'role', from: r, to: col, counts: cell.counts }, { origin: e.currentTarget })
      },
      h('span', { class: 'cell-counts' }, SEVERITY.filter((s) => cell.counts[s] > 0).map((s) => h('span', { class: `mini st-${s}` }, icon(s), fmt(cell.counts[s])))),
      h('span', { class: 'cell-more', 'aria-hidden': 'true', text: 'details ›' }))
      const ports = h('ul', { class: 'ports' })
      for (const p of cell.ports) {
        const bp = baseCell.ports.find((x) => x.protocol === p.protocol && x.port === p.port && (x.portEnd ?? null) === (p.portEnd ?? null)) ?? p
        const external = isExternalRole(r) || isExternalRole(col)
        const parts = p.worst === 'skipped' && external ? { head: `not tested: external end, no agent (${fmt(bp.pairs)} ${pairsWord(bp.pairs)})`, rest: '' } : portPhraseParts(p.counts, bp.pairs)
        const phrase = parts.head + parts.rest
        ports.append(h('li', {}, h('button', {
          type: 'button',
          class: `port st-${p.worst}`,
          'data-key': `port:${r}>${col}:${portLabel(p)}`,
          'data-protocol': p.protocol,
          'data-port': p.port,
          'data-worst': p.worst,
          'aria-label': `${portLabel(p)} from ${r} to ${col}: ${phrase}. Open the details.`,
          onclick: (e) => void openDetail({ kind: 'role', from: r, to: col, protocol: p.protocol, port: p.port, portEnd: p.portEnd ?? null, counts: p.counts }, { origin: e.currentTarget })
        }, icon(p.worst), h('span', { class: 'port-id', text: portLabel(p) }),
        h('span', { class: 'port-text' }, h('span', { class: 'port-head', text: parts.head }), parts.rest !== '' ? h('span', { class: 'port-rest', text: parts.rest }) : null))))
      }
      tr.append(h('td', { class: `rc w-${cell.worst}`, 'data-from': r, 'data-to': col, 'data-worst': cell.worst }, head, ports))
    }
    tbody.append(tr)
  }
  const filtered = Object.values(state.filters).some((v) => v !== '' && v !== false)
  const table = h('table', { class: 'role-matrix' },
    h('caption', {}, 'Documented flows by source role (rows) and target role (columns), each port with its state over every host pair. Click a cell or a port for its checks.', filtered ? h('span', { class: 'caption-filter', text: ' · filtered' }) : null),
    thead, tbody)
  replaceView('role', h('div', { class: 'matrix-scroll' }, table))
  restoreFocus(key)
}

// ------------------------------------------------------------------ host matrix

let hostMatrixState = null

function hostTitle (name) {
  const info = state.hostInfo.get(name)
  if (info === undefined) return name.startsWith('(') ? `${name}: an external endpoint, no agent` : name
  return `${name} · ${info.address} · ${info.roles.join(', ')}`
}

function renderHostMatrix (data) {
  const panel = $('view-panel')
  const key = focusKey()
  const { offset, limit } = state.hostPage
  const roomy = data.cols.length <= ROOMY_COLUMNS
  const cells = new Map(data.cells.map((c) => [`${c.from}\0${c.to}`, c]))
  const pager = () => {
    const last = Math.max(0, data.totalRows - 1)
    const pages = h('div', { class: 'pager', role: 'group', 'aria-label': 'Source host pages' },
      h('button', { type: 'button', class: 'btn btn-small', text: '‹ Previous', disabled: offset === 0, onclick: () => { state.hostPage.offset = Math.max(0, offset - limit); writeAddress(); void loadView() } }),
      h('span', { class: 'pager-text', text: data.totalRows === 0 ? 'no source hosts' : `source hosts ${fmt(offset + 1)}–${fmt(Math.min(offset + data.rows.length, data.totalRows))} of ${fmt(data.totalRows)} · ${fmt(data.cols.length)} targets` }),
      h('button', { type: 'button', class: 'btn btn-small', text: 'Next ›', disabled: offset + limit > last, onclick: () => { state.hostPage.offset = offset + limit; writeAddress(); void loadView() } }),
      h('label', { class: 'pager-size' }, 'rows per page ', h('select', {
        onchange: (e) => { state.hostPage.limit = Number(e.target.value); state.hostPage.offset = 0; writeAddress(); void loadView() }
      }, [25, 50, 100, 200].map((n) => h('option', { value: n, text: n, selected: n === limit })))))
    return pages
  }
  if (data.cells.length === 0) {
    panel.replaceChildren(h('div', { class: 'empty-state' }, h('h2', { text: 'No check matches these filters' })))
    return
  }
  // Columns blocked on every row of this page stand out, as do rows blocked in every column.
  const colInfo = new Map(data.cols.map((c) => [c, { tested: 0, blocked: 0 }]))
  const rowInfo = new Map(data.rows.map((r) => [r, { tested: 0, blocked: 0 }]))
  for (const c of data.cells) {
    if (c.counts.pass + c.counts.blocked === 0) continue
    const ci = colInfo.get(c.to)
    const ri = rowInfo.get(c.from)
    if (ci !== undefined) { ci.tested++; if (c.counts.blocked > 0) ci.blocked++ }
    if (ri !== undefined) { ri.tested++; if (c.counts.blocked > 0) ri.blocked++ }
  }
  const allBlocked = (i) => i !== undefined && i.tested > 1 && i.blocked === i.tested
  const table = h('table', { class: `host-matrix${roomy ? ' roomy' : ' compact'}`, role: 'grid', 'aria-label': 'Checks by source host (rows) and target host (columns)', 'aria-rowcount': data.totalRows + 1 })
  const headRow = h('tr', {}, h('th', { scope: 'col', class: 'corner' }, h('span', { text: 'from ↓' }), h('span', { text: 'to →' })))
  for (const c of data.cols) {
    const blocked = allBlocked(colInfo.get(c))
    headRow.append(h('th', { scope: 'col', class: `hcol${blocked ? ' line-blocked' : ''}`, title: hostTitle(c) + (blocked ? ' — blocked from every source on this page' : '') },
      h('span', { class: 'hcol-text' }, blocked ? icon('blocked') : null, c),
      blocked ? h('span', { class: 'sr-only', text: ' (blocked from every source on this page)' }) : null))
  }
  const tbody = h('tbody')
  let first = true
  data.rows.forEach((r, i) => {
    const blocked = allBlocked(rowInfo.get(r))
    const tr = h('tr', { 'aria-rowindex': offset + i + 2 }, h('th', { scope: 'row', class: `hrow${blocked ? ' line-blocked' : ''}`, title: hostTitle(r) },
      blocked ? icon('blocked') : null, h('span', { text: r }), blocked ? h('span', { class: 'sr-only', text: ' (blocked to every target)' }) : null))
    for (const col of data.cols) {
      const cell = cells.get(`${r}\0${col}`)
      const k = `hc:${r}>${col}`
      if (cell === undefined) {
        tr.append(h('td', { class: 'hc hc-empty', 'data-key': k, 'data-from': r, 'data-to': col, tabindex: -1, 'aria-label': `${r} to ${col}: no checks` }))
        continue
      }
      const label = `${r} to ${col}: ${countsText(cell.counts)}`
      const td = h('td', {
        class: `hc w-${cell.worst}`,
        'data-key': k,
        'data-from': r,
        'data-to': col,
        'data-worst': cell.worst,
        tabindex: first ? 0 : -1,
        title: `${r} → ${col}: ${countsText(cell.counts)}`,
        'aria-label': `${label}. Press Enter for the details.`
      })
      first = false
      if (roomy) {
        for (const s of SEVERITY) if (cell.counts[s] > 0) td.append(h('span', { class: `mini st-${s}` }, icon(s), fmt(cell.counts[s])))
      } else {
        td.append(icon(cell.worst))
      }
      tr.append(td)
    }
    tbody.append(tr)
  })
  table.append(h('thead', {}, headRow), tbody)
  hostMatrixState = { cells }
  const scroll = h('div', { class: 'matrix-scroll host-scroll' }, table)
  table.addEventListener('click', (e) => {
    const td = e.target instanceof Element ? e.target.closest('td.hc') : null
    if (td !== null) { moveRoving(td); activateHostCell(td) }
  })
  table.addEventListener('keydown', onGridKey)
  replaceView(`host:${offset}:${limit}`, pager(), h('p', { class: 'hint', text: 'Each cell is one source host and one target host, coloured by its worst check and marked with its icon. Arrow keys move between cells; Enter opens the checks.' }), scroll)
  restoreFocus(key)
}

function activateHostCell (td) {
  const cell = hostMatrixState?.cells.get(`${td.dataset.from}\0${td.dataset.to}`)
  if (cell === undefined) return
  void openDetail({ kind: 'host', from: cell.from, to: cell.to, counts: cell.counts }, { origin: td })
}

function moveRoving (td) {
  const table = td.closest('table')
  for (const el of table.querySelectorAll('td.hc[tabindex="0"]')) el.tabIndex = -1
  td.tabIndex = 0
}

function onGridKey (e) {
  const td = e.target instanceof Element ? e.target.closest('td.hc') : null
  if (td === null) return
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault()
    activateHostCell(td)
    return
  }
  const tr = td.parentElement
  const idx = [...tr.children].indexOf(td)
  let next = null
  if (e.key === 'ArrowRight') next = td.nextElementSibling
  else if (e.key === 'ArrowLeft') next = td.previousElementSibling
  else if (e.key === 'ArrowDown') next = tr.nextElementSibling?.children[idx] ?? null
  else if (e.key === 'ArrowUp') next = tr.previousElementSibling?.children[idx] ?? null
  else if (e.key === 'Home') next = tr.children[1] ?? null
  else if (e.key === 'End') next = tr.lastElementChild
  else return
  e.preventDefault()
  if (next instanceof HTMLTableCellElement && next.classList.contains('hc')) {
    moveRoving(next)
    next.focus()
  }
}

// ------------------------------------------------------------------ agents

async function loadAgents () {
  const data = await api('/api/agents')
  state.agents = data
  state.hostInfo = new Map(data.hosts.map((x) => [x.name, x]))
  renderAgentsLine()
}

function renderAgentsLine () {
  const data = state.agents
  if (data === null) return
  const hosts = data.hosts
  const connected = hosts.filter((x) => x.state === 'connected').length
  const missing = hosts.filter((x) => x.state === 'missing').map((x) => x.name)
  const lost = hosts.filter((x) => x.state === 'lost').map((x) => x.name)
  const ok = connected === hosts.length
  const parts = [h('span', { class: `st ${ok ? 'st-pass' : 'st-inconclusive'}` }, h('span', { class: 'icon', 'aria-hidden': 'true', text: ok ? '●' : '○' }), ` ${connected} of ${hosts.length} agents connected`)]
  if (missing.length > 0) parts.push(h('span', { text: ` · missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}` }))
  if (lost.length > 0) parts.push(h('span', { text: ` · lost: ${lost.slice(0, 5).join(', ')}${lost.length > 5 ? ` and ${lost.length - 5} more` : ''}` }))
  if (data.unexpected.length > 0) parts.push(h('span', { text: ` · ${data.unexpected.length} not in the inventory` }))
  parts.push(' ', h('button', { type: 'button', class: 'btn-link', text: 'agents ›', onclick: () => setView('agents') }))
  $('agents-line').replaceChildren(...parts)
  const badgeEl = $('agents-badge')
  badgeEl.textContent = ok ? `${connected}/${hosts.length}` : `${connected}/${hosts.length} ○`
  badgeEl.className = `badge-count${ok ? '' : ' badge-warn'}`
}

async function copyText (text, codeEl, button) {
  let ok = false
  try {
    if (navigator.clipboard !== undefined && window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      ok = true
    }
  } catch { ok = false }
  if (!ok) {
    // Without the Clipboard API (plain http on another host), select the text for Ctrl+C.
    const range = document.createRange()
    range.selectNodeContents(codeEl)
    const sel = window.getSelection()
    sel.removeAllRanges()
    sel.addRange(range)
    try { ok = document.execCommand('copy') } catch { ok = false }
  }
  button.textContent = ok ? '✔ Copied' : 'Selected: press Ctrl+C'
  setTimeout(() => { button.textContent = 'Copy' }, 2500)
}

function seenText (a, hostState) {
  return hostState === 'connected' ? ago(a.lastSeen) : `${ago(a.disconnectedAt ?? a.lastSeen)} (left)`
}

function renderAgentsView () {
  const data = state.agents
  const panel = $('view-panel')
  if (data === null) return
  const stateBadge = (s) => {
    const map = { connected: ['pass', '●', 'connected'], missing: ['inconclusive', '○', 'missing'], lost: ['blocked', '✘', 'lost'] }
    const [cls, ic, text] = map[s] ?? ['skipped', '·', s]
    return h('span', { class: `st st-${cls}` }, h('span', { class: 'icon', 'aria-hidden': 'true', text: ic }), ` ${text}`)
  }
  const rows = data.hosts.map((x) => {
    const a = x.agent
    const code = h('code', { class: 'join-cmd', text: x.joinCommand })
    const copy = h('button', { type: 'button', class: 'btn btn-small', text: 'Copy', 'aria-label': `Copy the join command for ${x.name}` })
    copy.addEventListener('click', () => void copyText(x.joinCommand, code, copy))
    // The viewer token gets the command with a placeholder instead of the join token.
    const hidden = state.access === 'read' ? h('div', { class: 'hint', text: 'The token is hidden from read-only access: put in the join token.' }) : null
    const join = x.state === 'connected'
      ? h('details', { class: 'join-details' }, h('summary', { text: 'join command' }), h('div', { class: 'join' }, code, copy), hidden)
      : h('div', {}, h('div', { class: 'join' }, code, copy), hidden)
    return h('tr', { 'data-host': x.name, 'data-state': x.state },
      h('th', { scope: 'row' }, x.name),
      h('td', { class: 'mono', text: x.address }),
      h('td', { text: x.roles.join(', ') }),
      h('td', {}, stateBadge(x.state), a?.lostReason ? h('div', { class: 'hint', text: a.lostReason }) : null),
      h('td', { text: a?.version ?? '–' }),
      h('td', { class: 'mono' }, a !== null ? `${a.remoteAddress}${a.bind ? ` (bind ${a.bind})` : ''}` : '–'),
      h('td', {}, a !== null ? `${a.hostname} · ${a.platform}` : '–'),
      h('td', { title: a !== null ? new Date(a.lastSeen).toISOString() : '', 'data-seen': a !== null ? (x.state === 'connected' ? a.lastSeen : a.disconnectedAt ?? a.lastSeen) : null, 'data-left': x.state !== 'connected' }, a !== null ? seenText(a, x.state) : 'never'),
      h('td', {}, join))
  })
  const unexpected = data.unexpected.length === 0
    ? null
    : h('section', { class: 'unexpected' }, h('h3', { text: 'Agents not in the inventory' }),
      h('p', { class: 'hint', text: 'These agents joined with a name the inventory does not list: a typo in --name, or a host missing from the inventory. They take part in no check.' }),
      h('ul', {}, data.unexpected.map((a) => h('li', { class: 'mono', text: `${a.name} · ${a.remoteAddress} · ${a.version} · ${a.state}` }))))
  panel.replaceChildren(
    h('p', { class: 'hint' }, 'Agents connect out to ', h('code', { text: data.agentUrl ?? '–' }), '. On a host whose agent is missing, run its join command (it carries the token: treat it like a password).'),
    h('div', { class: 'matrix-scroll' }, h('table', { class: 'agents-table' },
      h('caption', { class: 'sr-only', text: 'Inventory hosts and their agents' }),
      h('thead', {}, h('tr', {}, ['Host', 'Address', 'Roles', 'Agent', 'Version', 'Connected from', 'Host / platform', 'Last seen', 'Join'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows))),
    ...(unexpected !== null ? [unexpected] : []))
  $('app').setAttribute('aria-busy', 'false')
}

// ------------------------------------------------------------------ "what to open"

let fixSeq = 0
async function loadFix () {
  const seq = ++fixSeq
  const body = $('fix-body')
  const run = shownRun()
  if (run === null) {
    body.replaceChildren(h('p', { class: 'hint', text: 'Nothing yet: the blocked flows of a run, and what to open for each, show here.' }))
    return
  }
  try {
    const blocked = await api(runPath(`/checks?${filterQuery({ status: 'blocked', limit: FIX_LIMIT })}`))
    let inconclusive = { total: 0, checks: [] }
    if (blocked.checks.length < FIX_LIMIT) inconclusive = await api(runPath(`/checks?${filterQuery({ status: 'inconclusive', limit: FIX_LIMIT - blocked.checks.length })}`))
    else inconclusive = await api(runPath(`/checks?${filterQuery({ status: 'inconclusive', limit: 1 })}`))
    if (seq !== fixSeq) return
    const list = [...blocked.checks, ...inconclusive.checks]
    const filtered = state.filters.protocol !== '' || state.filters.role !== '' || state.filters.port !== '' || state.filters.required
    const parts = []
    if (blocked.total === 0 && inconclusive.total === 0) {
      parts.push(h('p', { class: 'all-clear' }, badge(FINAL.has(run.state) ? 'pass' : 'pending', FINAL.has(run.state) ? 'Nothing to open' : 'Nothing blocked so far'),
        ` ${filtered ? 'among the filtered checks' : FINAL.has(run.state) ? ': every checked flow passed or was skipped by design' : ''}`))
    } else {
      parts.push(h('p', { class: 'fix-summary' },
        blocked.total > 0 ? h('button', { type: 'button', class: 'chip st-blocked', onclick: () => openDetail({ kind: 'status', status: 'blocked' }, { origin: null }) }, icon('blocked'), h('strong', { text: fmt(blocked.total) }), ' blocked') : null,
        inconclusive.total > 0 ? h('button', { type: 'button', class: 'chip st-inconclusive', onclick: () => openDetail({ kind: 'status', status: 'inconclusive' }, { origin: null }) }, icon('inconclusive'), h('strong', { text: fmt(inconclusive.total) }), ' inconclusive') : null,
        filtered ? h('span', { class: 'hint', text: ' (filtered)' }) : null))
      const ol = h('ol', { class: 'fix-list' })
      for (const c of list) {
        const route = `${c.from ?? `(${c.fromRole})`} → ${c.to ?? `(${c.toRole})`}`
        ol.append(h('li', { class: `fix-item st-border-${c.status}` }, h('button', {
          type: 'button',
          class: 'fix-open',
          'data-index': c.index,
          onclick: (e) => void openDetail({ kind: 'host', from: c.from ?? `(${c.fromRole})`, to: c.to ?? `(${c.toRole})`, protocol: c.protocol, port: c.port, portEnd: c.portEnd ?? null }, { origin: e.currentTarget })
        },
        h('span', { class: 'fix-line' }, badge(c.status, c.reason ?? STATUS[c.status].label), h('span', { class: 'port-id', text: portLabel(c) })),
        h('span', { class: 'fix-route', text: route }),
        h('span', { class: 'fix-remedy', text: c.remedy !== null ? `to fix: ${c.remedy}` : REASONS[c.status]?.[c.reason] ?? '' }))))
      }
      parts.push(ol)
      const shown = list.length
      const total = blocked.total + inconclusive.total
      if (total > shown) parts.push(h('p', { class: 'hint' }, `${fmt(total - shown)} more: `, h('button', { type: 'button', class: 'btn-link', text: 'show blocked only', onclick: () => setFilters({ status: 'blocked' }) })))
    }
    body.replaceChildren(...parts)
  } catch (err) {
    if (seq === fixSeq && !(err instanceof ApiError && err.status === 401)) body.replaceChildren(h('p', { class: 'error-text', text: describeError(err) }))
  }
}

async function loadOptionalSkipped () {
  const run = shownRun()
  if (run === null || state.optionalSkipped.has(run.id) || !FINAL.has(run.state)) return
  try {
    const r = await api(runPath('/checks?status=skipped&reason=optional&limit=1'))
    state.optionalSkipped.set(run.id, r.total)
    renderSummary()
  } catch { /* only a hint */ }
}

// ------------------------------------------------------------------ details

function detailTitle (spec) {
  if (spec.kind === 'status') return `${STATUS[spec.status].label} checks`
  const port = spec.port !== undefined ? ` · ${portLabel(spec)}` : ''
  return `${spec.from} → ${spec.to}${port}`
}

/** The API filter of a detail: the cell's own fields over the global filters. */
function detailQuery (spec) {
  if (spec.kind === 'status') return { status: spec.status }
  const own = spec.kind === 'role' ? { fromRole: spec.from, toRole: spec.to } : { from: spec.from, to: spec.to }
  if (spec.protocol !== undefined) { own.protocol = spec.protocol; own.port = spec.port }
  return own
}

/** The statuses to load, worst first; each is paged separately so blocked checks come first. */
function detailStatuses (spec) {
  const s = spec.kind === 'status' ? spec.status : state.filters.status
  if (s === 'failing') return ['blocked', 'inconclusive']
  if (s !== '') return [s]
  return SEVERITY
}

let detailSeq = 0
async function openDetail (spec, { origin = null, keepOrigin = false } = {}) {
  const seq = ++detailSeq
  const prevOrigin = state.detail?.originKey ?? null
  const originKey = keepOrigin ? prevOrigin : origin instanceof HTMLElement ? origin.dataset.key ?? null : null
  state.detail = { spec, originKey, originEl: keepOrigin ? state.detail?.originEl ?? null : origin, statuses: detailStatuses(spec), si: 0, offset: 0, totals: {}, loaded: 0 }
  const panel = $('detail')
  $('fix-panel').hidden = true
  panel.hidden = false
  $('detail-title').textContent = detailTitle(spec)
  $('detail-sub').textContent = 'Loading…'
  $('detail-list').replaceChildren()
  $('detail-more').replaceChildren()
  document.body.classList.add('detail-open')
  if (!keepOrigin) panel.focus()
  await loadMoreDetail(seq)
}

function closeDetail () {
  const d = state.detail
  if (d === null) return
  detailSeq++
  state.detail = null
  $('detail').hidden = true
  $('fix-panel').hidden = false
  document.body.classList.remove('detail-open')
  // Back to where the operator was: the same cell, even if the matrix was re-rendered since.
  let target = d.originEl instanceof HTMLElement && d.originEl.isConnected ? d.originEl : null
  if (target === null && d.originKey !== null) target = document.querySelector(`[data-key="${CSS.escape(d.originKey)}"]`)
  if (target instanceof HTMLElement) target.focus()
  else $('view-panel').focus()
}

/** Per-status totals of a detail, so that checks can be loaded worst first and counted right. */
async function detailTotals (seq) {
  const d = state.detail
  const results = await Promise.all(d.statuses.map((status) => api(runPath(`/checks?${filterQuery({ ...detailQuery(d.spec), status, limit: 1 })}`))))
  if (seq !== detailSeq) return false
  d.statuses.forEach((s, i) => { d.totals[s] = results[i].total })
  d.total = totalOf(d.totals)
  return true
}

async function loadMoreDetail (seq) {
  const d = state.detail
  if (d === null || state.runId === null) return
  const list = $('detail-list')
  let want = DETAIL_PAGE
  try {
    if (d.total === undefined && !(await detailTotals(seq))) return
    while (want > 0 && d.si < d.statuses.length) {
      const status = d.statuses[d.si]
      if ((d.totals[status] ?? 0) === 0) { d.si++; d.offset = 0; continue }
      const q = filterQuery({ ...detailQuery(d.spec), status, offset: d.offset, limit: want })
      const r = await api(runPath(`/checks?${q}`))
      if (seq !== detailSeq) return
      let checks = r.checks
      // A port range and a single port at its start match the same filter: keep the one clicked.
      if (d.spec.portEnd !== undefined) checks = checks.filter((c) => (c.portEnd ?? null) === (d.spec.portEnd ?? null))
      for (const c of checks) list.append(renderCheck(c))
      d.loaded += checks.length
      d.offset += r.checks.length
      want -= r.checks.length
      if (d.offset >= r.total || r.checks.length === 0) { d.si++; d.offset = 0 }
    }
  } catch (err) {
    if (seq === detailSeq && !(err instanceof ApiError && err.status === 401)) $('detail-sub').textContent = `Could not load the checks: ${describeError(err)}`
    return
  }
  if (seq !== detailSeq) return
  const total = d.total
  const where = d.spec.kind === 'role' ? 'every host pair of these roles' : d.spec.kind === 'host' ? 'these two hosts' : 'all hosts'
  $('detail-sub').replaceChildren(
    h('span', { text: `${fmt(total)} check${total === 1 ? '' : 's'} between ${where}${d.statuses.length > 1 ? ', worst first' : ''}:` }),
    ...SEVERITY.filter((s) => (d.totals[s] ?? 0) > 0).map((s) => badge(s, `${fmt(d.totals[s])} ${STATUS[s].label}`)))
  const more = $('detail-more')
  more.replaceChildren()
  if (d.si < d.statuses.length && d.loaded < total) {
    more.append(h('p', { class: 'hint', text: `Showing ${fmt(d.loaded)} of ${fmt(total)}.` }),
      h('button', { type: 'button', class: 'btn', text: `Show ${fmt(Math.min(DETAIL_PAGE, total - d.loaded))} more`, onclick: () => void loadMoreDetail(detailSeq) }))
  }
  if (total === 0) list.replaceChildren(h('li', { class: 'hint', text: 'No check matches (the filters or the run changed).' }))
}

function renderCheck (c) {
  const fromName = c.from ?? `(${c.fromRole})`
  const toName = c.to ?? `(${c.toRole})`
  const status = c.status ?? 'pending'
  const why = c.reason !== null ? REASONS[status]?.[c.reason] : null
  const dl = h('dl', { class: 'check-facts' })
  const fact = (term, ...value) => dl.append(h('dt', { text: term }), h('dd', {}, ...value))
  for (const f of c.flows ?? []) {
    fact('Flow', h('strong', { class: 'mono', text: f.id }), ` ${f.purpose}`, f.ref !== null ? h('span', { class: 'ref' }, ` · ref: ${f.ref}`) : null)
  }
  if (why !== null && why !== undefined) fact('Why', why)
  if (c.detail !== null && c.detail !== '') fact('Detail', c.detail)
  fact('Latency', c.latencyMs !== null ? `${c.latencyMs < 10 ? c.latencyMs.toFixed(1) : Math.round(c.latencyMs)} ms` : '–')
  fact('Attempts', c.attempts !== null ? String(c.attempts) : '–')
  const seen = c.observedSource
  fact('Target saw', seen !== null
    ? h('span', { class: `mono${c.fromAddress !== null && seen !== c.fromAddress ? ' mismatch' : ''}`, text: seen })
    : h('span', { text: '– (nothing arrived at the target’s listener)' }))
  if (c.echo !== null && c.protocol === 'udp') fact('Echo', { ours: 'our acknowledgement came back', other: 'something else answered', none: 'nothing came back' }[c.echo] ?? c.echo)
  fact('Required', c.required ? 'yes: decides the verdict' : 'no: optional flow')
  for (const n of c.notes ?? []) fact('Note', n)
  return h('li', { class: `check st-border-${status}`, 'data-index': c.index, 'data-status': status },
    h('div', { class: 'check-head' },
      badge(status, c.reason !== null ? `${STATUS[status].label} · ${c.reason}` : STATUS[status].label),
      h('span', { class: 'port-id', text: portLabel(c) })),
    h('div', { class: 'check-route' },
      h('span', { class: 'host' }, h('strong', { text: fromName }), c.fromAddress !== null ? h('span', { class: 'mono addr', text: ` ${c.fromAddress}` }) : null, h('span', { class: 'role', text: ` (${c.fromRole})` })),
      h('span', { class: 'arrow', 'aria-hidden': 'true', text: ' → ' }), h('span', { class: 'sr-only', text: ' to ' }),
      h('span', { class: 'host' }, h('strong', { text: toName }), c.toAddress !== null ? h('span', { class: 'mono addr', text: ` ${c.toAddress}` }) : null, h('span', { class: 'role', text: ` (${c.toRole})` }))),
    c.remedy !== null && c.remedy !== undefined ? h('p', { class: 'remedy' }, h('strong', { text: 'To fix: ' }), h('span', { class: 'remedy-text', text: c.remedy })) : null,
    dl)
}

// ------------------------------------------------------------------ live updates

let ws = null
let reconnecting = false
let backoff = 500
let reconnectTimer = null

function setLive (mode, text) {
  const el = $('live')
  el.className = `live live-${mode}`
  $('live-text').textContent = text
}

function connectEvents () {
  if (ws !== null) { ws.onclose = null; ws.close() }
  clearTimeout(reconnectTimer)
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/events${state.token !== null ? `?token=${encodeURIComponent(state.token)}` : ''}`
  let sock
  try {
    sock = new WebSocket(url)
  } catch {
    scheduleReconnect()
    return
  }
  ws = sock
  let opened = false
  sock.onopen = () => {
    opened = true
    state.wsOpen = true
    backoff = 500
    setLive('on', 'live')
    // Catch up on anything missed while disconnected.
    if (state.booted && reconnecting) void refreshAll({ agents: true })
    reconnecting = true
  }
  sock.onmessage = (ev) => {
    let e
    try { e = JSON.parse(ev.data) } catch { return }
    onEvent(e)
  }
  sock.onclose = () => {
    if (ws !== sock) return
    state.wsOpen = false
    if (!opened) backoff = Math.min(backoff * 2, 15_000)
    scheduleReconnect()
  }
}

function scheduleReconnect () {
  const wait = backoff
  backoff = Math.min(backoff * 2, 15_000)
  setLive('off', `reconnecting in ${Math.round(wait / 1000) || 1} s`)
  reconnectTimer = setTimeout(connectEvents, wait)
}

function onEvent (e) {
  if (e.type === 'run') {
    const known = state.runs.find((r) => r.id === e.id)
    state.live = { id: e.id, state: e.state, done: e.done, total: e.total, elapsedMs: e.elapsedMs }
    if (known === undefined) {
      // A new run (from this page, another browser or the API): show it if following the latest.
      scheduleRefresh(0)
      return
    }
    known.state = e.state
    known.progress = { done: e.done, total: e.total }
    known.durationMs = e.elapsedMs
    renderSummary()
    renderActions()
    if (known.id === state.runId) scheduleRefresh(1000)
  } else if (e.type === 'run-finished') {
    // The refresh sees the run go from running to finished (and reloads open details).
    state.live = null
    scheduleRefresh(0)
  } else if (e.type === 'agents') {
    void loadAgents().then(() => { if (state.view === 'agents') renderAgentsView() }).catch(() => {})
  }
}

let refreshing = false
let refreshQueued = false
let refreshTimer = null
let lastRefresh = 0

/** Refreshes everything, at most once per `gap` ms (the run in progress pushes 4 events a second). */
function scheduleRefresh (gap = 1000) {
  if (refreshing) { refreshQueued = true; return }
  const wait = Math.max(0, lastRefresh + gap - Date.now())
  if (refreshTimer !== null) {
    if (wait > 0) return
    clearTimeout(refreshTimer)
  }
  refreshTimer = setTimeout(() => { refreshTimer = null; void refreshAll() }, wait)
}

async function refreshAll ({ agents = false } = {}) {
  if (refreshing) { refreshQueued = true; return }
  refreshing = true
  try {
    const before = state.runId
    const wasRunning = shownRun() !== null && !FINAL.has(shownRun().state)
    await loadRuns()
    const run = shownRun()
    const finishedNow = wasRunning && run !== null && FINAL.has(run.state)
    const changed = before !== state.runId
    const tasks = [loadView(), loadFix(), loadOptionalSkipped()]
    if (state.detail !== null && (changed || finishedNow)) tasks.push(openDetail(state.detail.spec, { keepOrigin: true }))
    if (agents && state.view !== 'agents') tasks.push(loadAgents().catch(() => {}))
    await Promise.all(tasks)
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showNotice(`Could not refresh: ${describeError(err)}`)
  } finally {
    refreshing = false
    lastRefresh = Date.now()
    if (refreshQueued) { refreshQueued = false; scheduleRefresh() }
  }
}

// ------------------------------------------------------------------ start-up

async function boot () {
  $('app').setAttribute('aria-busy', 'true')
  try {
    const [catalog, agents] = await Promise.all([api('/api/catalog'), api('/api/agents')])
    state.catalog = catalog
    state.agents = agents
    state.hostInfo = new Map(agents.hosts.map((x) => [x.name, x]))
    state.access = await probeAccess()
    $('catalog-name').replaceChildren(h('strong', { text: catalog.title }), h('span', { class: 'catalog-id', text: ` (${catalog.id})` }),
      catalog.source?.document ? h('span', { class: 'catalog-src', title: catalog.source.url ?? catalog.source.document, text: ` · ${catalog.source.document}` }) : null)
    document.title = `portcheck · ${catalog.title}`
    const roleSel = $('f-role')
    roleSel.replaceChildren(h('option', { value: '', text: 'any' }), ...Object.entries(catalog.roles).map(([id, r]) => h('option', { value: id, text: `${id} (${r.title})` })))
    renderNextRunForm()
    syncFilterControls()
    renderAgentsLine()
    await loadRuns()
    // The next run includes optional flows if the shown one did not skip any as optional.
    state.booted = true
    await Promise.all([loadView(), loadFix(), loadOptionalSkipped()])
    const opt = shownRun() !== null ? state.optionalSkipped.get(state.runId) : undefined
    $('opt-include-optional').checked = opt !== undefined ? opt === 0 && catalog.flows.some((f) => f.optional === true) : false
    connectEvents()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return
    showNotice(`The dashboard could not load: ${describeError(err)}`)
    $('app').setAttribute('aria-busy', 'false')
  }
}

// Poll only when the live socket is down and a run is in progress.
setInterval(() => {
  if (state.booted && !state.wsOpen && runningRun() !== null) scheduleRefresh(2000)
  for (const td of document.querySelectorAll('td[data-seen]')) td.textContent = `${ago(Number(td.dataset.seen))}${td.hasAttribute('data-left') ? ' (left)' : ''}`
}, 5000)
// Heartbeats move "last seen" without any event: refresh the agents view now and then.
setInterval(() => {
  if (state.booted && state.view === 'agents' && !document.hidden) void loadAgents().then(renderAgentsView).catch(() => {})
}, 15_000)

takeTokenFromAddress()
readAddress()
setupTokenDialog()
setupControls()
syncFilterControls()
void boot()
