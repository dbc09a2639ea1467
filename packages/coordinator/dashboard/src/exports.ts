// Export buttons: the shown run's report as JSON, CSV or JUnit XML, downloaded with the token
// (a plain link could not send it), under the name the coordinator gives.
import type { ApiErrorBody } from '../../src/server/api-types.js'
import { ApiError, authHeaders, describeError, runPath } from './api.js'
import { h, showNotice } from './dom.js'
import { shownRun } from './state.js'
import { askToken } from './token.js'

/** How long the "Downloaded …" notice stays, in ms. */
const DOWNLOADED_NOTICE_MS = 5000

type ExportFormat = 'json' | 'csv' | 'junit'

async function exportRun (format: ExportFormat): Promise<void> {
  const run = shownRun()
  if (run === null) return
  try {
    const res = await fetch(runPath(`/export.${format}`), { headers: authHeaders(), cache: 'no-store' })
    if (res.status === 401) { askToken('The coordinator refused this token.'); return }
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null) as Partial<ApiErrorBody> | null)?.error)
    const blob = await res.blob()
    const cd = res.headers.get('content-disposition') ?? ''
    const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? `portcheck-${run.id}.${format === 'junit' ? 'junit.xml' : format}`
    const url = URL.createObjectURL(blob)
    const a = h('a', { href: url, download: name, class: 'sr-only', text: name })
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
    showNotice(`Downloaded ${name}.`, DOWNLOADED_NOTICE_MS)
  } catch (err) {
    showNotice(`Export failed: ${describeError(err)}`)
  }
}

/** Wires the export buttons. */
export function setupExports (): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-export]')) {
    b.addEventListener('click', () => void exportRun(b.dataset.export as ExportFormat))
  }
}
