import type { Page } from 'playwright-core'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { TOKEN } from './loopback.js'

/** A GET of the coordinator's API with the join token, answered 200 and parsed; throws otherwise. */
export async function get<T> (c: Coordinator, url: string): Promise<T> {
  const res = await c.app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res.json() as T
}

/** Waits until the dashboard shows a finished run with this id (or, without id, any finished run); returns its id. */
export async function waitForShownRun (page: Page, id?: string): Promise<string> {
  await page.waitForFunction((want) => {
    const sel = document.getElementById('run-select') as HTMLSelectElement | null
    const verdict = document.getElementById('verdict')
    return sel !== null && sel.value !== '' && (want === null || sel.value === want) &&
      verdict !== null && !verdict.classList.contains('verdict-running') && !verdict.classList.contains('verdict-none') &&
      document.getElementById('app')?.getAttribute('aria-busy') === 'false'
  }, id ?? null, { timeout: 20_000 })
  return await page.locator('#run-select').inputValue()
}
