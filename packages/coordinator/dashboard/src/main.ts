// portcheck dashboard: no framework and no runtime dependency, bundled by esbuild into one
// module (scripts/bundle-dashboard.js). Everything shown comes from the coordinator's API, with
// the token (see token.ts); live updates come over its events socket (live.ts).
import type { AgentsResponse, CatalogResponse } from '../../src/server/api-types.js'
import { readAddress } from './address.js'
import { renderAgentsLine, setAgents, startAgentsClock } from './agents.js'
import { ApiError, api, describeError } from './api.js'
import { setupDetails } from './details.js'
import { $, h, showNotice } from './dom.js'
import { setupExports } from './exports.js'
import { setupFilters, syncFilterControls } from './filters.js'
import { loadFix } from './fix-panel.js'
import { connectEvents, startPolling } from './live.js'
import { renderNextRunForm } from './next-run.js'
import { setupRunActions } from './run-actions.js'
import { loadRuns, setupRunSelect } from './runs.js'
import { shownRun, state } from './state.js'
import { loadOptionalSkipped } from './summary.js'
import { probeAccess, setupTokenDialog, takeTokenFromAddress } from './token.js'
import { loadView } from './view-panel.js'

/** Loads the catalog, agents and runs, renders everything and goes live. Runs again once a token is entered. */
async function boot (): Promise<void> {
  $('app').setAttribute('aria-busy', 'true')
  try {
    const [catalog, agents] = await Promise.all([api<CatalogResponse>('/api/catalog'), api<AgentsResponse>('/api/agents')])
    state.catalog = catalog
    setAgents(agents)
    state.access = await probeAccess()
    const source = catalog.source !== null && catalog.source.document !== ''
      ? [h('span', { class: 'catalog-src', title: catalog.source.url ?? catalog.source.document, text: ` · ${catalog.source.document}` })]
      : []
    $('catalog-name').replaceChildren(h('strong', { text: catalog.title }), h('span', { class: 'catalog-id', text: ` (${catalog.id})` }), ...source)
    document.title = `portcheck · ${catalog.title}`
    $('f-role').replaceChildren(h('option', { value: '', text: 'any' }), ...Object.entries(catalog.roles).map(([id, r]) => h('option', { value: id, text: `${id} (${r.title})` })))
    renderNextRunForm()
    syncFilterControls()
    renderAgentsLine()
    await loadRuns()
    state.booted = true
    await Promise.all([loadView(), loadFix(), loadOptionalSkipped()])
    // The next run includes optional flows if the shown one did not skip any as optional.
    const opt = shownRun() !== null && state.runId !== null ? state.optionalSkipped.get(state.runId) : undefined
    $('opt-include-optional', HTMLInputElement).checked = opt !== undefined ? opt === 0 && catalog.flows.some((f) => f.optional === true) : false
    connectEvents()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return
    showNotice(`The dashboard could not load: ${describeError(err)}`)
    $('app').setAttribute('aria-busy', 'false')
  }
}

takeTokenFromAddress()
readAddress()
setupTokenDialog(() => void boot())
setupFilters()
setupRunSelect()
setupRunActions()
setupExports()
setupDetails()
syncFilterControls()
startPolling()
startAgentsClock()
void boot()
