import { existsSync } from 'node:fs'
import type { Test } from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'

/**
 * Browser tests drive Debian's Chromium through playwright-core. Nothing is ever downloaded:
 * playwright-core has no browser of its own, and every launch names this executable.
 */
export const CHROMIUM = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic'
]

/** Why the browser tests cannot run here, or null if they can. */
export function browserUnavailable (): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium is not installed at ${CHROMIUM} (Debian package \`chromium\`)`
  return null
}

/**
 * True if Chromium is there. Otherwise the test is skipped with the reason, or, where
 * PORTCHECK_REQUIRE_BROWSER=1 (CI), fails: CI must never skip the browser tests silently.
 */
export function browserReady (t: Test): boolean {
  const why = browserUnavailable()
  if (why === null) return true
  if (process.env.PORTCHECK_REQUIRE_BROWSER === '1') t.fail(`browser tests required (PORTCHECK_REQUIRE_BROWSER=1) but unavailable: ${why}`)
  else t.plan(0, `browser test skipped: ${why}`)
  return false
}

/**
 * Launches headless Chromium, closed at teardown. `executablePath` may be a wrapper script
 * (e.g. one running Chromium inside a network namespace): playwright talks to it over pipes.
 */
export async function launchBrowser (t: Test, opts: { executablePath?: string } = {}): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 60_000
  })
  t.teardown(async () => { await browser.close() })
  return browser
}

/**
 * A new page of a fresh browser (closed at teardown) at 1400×900, opened at `url` (the
 * coordinator's address, a path and the token's fragment) and watched from the start.
 */
export async function openPage (t: Test, url: string): Promise<{ browser: Browser, page: Page, watch: PageWatch }> {
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const watch = watchPage(page, new URL(url).origin)
  await page.goto(url)
  return { browser, page, watch }
}

/** What a page did that it should not: script errors, CSP violations, requests to other origins. */
export interface PageWatch {
  errors: string[]
  cspViolations: string[]
  foreignRequests: string[]
  consoleErrors: string[]
}

/** Records a page's script errors, CSP violations and any request leaving `origin`. */
export function watchPage (page: Page, origin: string): PageWatch {
  const w: PageWatch = { errors: [], cspViolations: [], foreignRequests: [], consoleErrors: [] }
  page.on('pageerror', (err) => w.errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    const text = msg.text()
    if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(text)) w.cspViolations.push(text)
    else w.consoleErrors.push(text)
  })
  page.on('request', (req) => {
    const url = req.url()
    if (url.startsWith('data:') || url.startsWith('blob:')) return
    if (new URL(url).origin !== origin) w.foreignRequests.push(url)
  })
  return w
}

/** The WCAG contrast ratio of two computed colours (`rgb(r, g, b)`). */
export function contrast (a: string, b: string): number {
  const luminance = (css: string): number => {
    const [r = 0, g = 0, b = 0] = (css.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((v) => {
      const c = v / 255
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}
