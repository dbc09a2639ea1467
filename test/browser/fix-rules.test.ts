import t from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { formatFix } from '../../packages/coordinator/src/fix/format-fix.js'
import { parseReport } from '../../packages/coordinator/src/report/read-report.js'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { browserReady, launchBrowser, watchPage } from './browser.js'

// Loopback addresses 127.63.0.x belong to this file (browser tests use 60-69).
const NET = 63

// "What to open", the rules themselves: for the shown run, per host and per format, exactly what
// `portcheck fix` writes from the run's report, each with a button that puts it on the clipboard.
t.test('the dashboard offers portcheck fix\'s rules per host and format, each with a copy button', async (t) => {
  if (!browserReady(t)) return
  // db2 is reached through NAT at .15, but the NAT forwards nothing to its agent on .25: every
  // flow to db2 is refused, so db2 is the one host that needs rules.
  const hosts = demoHosts(NET).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? `127.${NET}.0.25` : h.address })))
  const run = c.startRun({ timeoutMs: 1000, includeOptional: true })
  const report = await c.runs.wait(run)
  t.match(report, { verdict: 'blocked' })
  // The rules as `portcheck fix` writes them from the saved report.
  const saved = parseReport(JSON.stringify(report satisfies RunReport), 'report.json')

  const base = c.httpUrl as string
  const origin = new URL(base).origin
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  t.teardown(() => context.close())
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
  const page = await context.newPage()
  const watch = watchPage(page, origin)
  await page.goto(`${base}#token=${TOKEN}`)

  const db2 = page.locator('#fix-rules .fix-host[data-host="db2"]')
  await db2.locator('pre.fix-text').waitFor({ timeout: 20_000 })
  t.same(await page.locator('#fix-rules .fix-host[data-host]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.host)), ['db2'], 'one host needs rules: db2')
  t.equal(await page.locator('#fix-format').inputValue(), 'nftables', 'nftables first')
  const nft = formatFix(saved, 'nftables', { host: 'db2' }).text
  t.match(nft, /add rule inet filter portcheck-fix-input ip saddr 127\.63\.0\.12 tcp dport 15432 accept/, 'the rules open the refused flows')
  t.equal(await db2.locator('pre.fix-text').textContent(), nft, 'db2\'s text is exactly `portcheck fix --format nftables --host db2`')
  t.match(await db2.locator('.fix-host-head').textContent(), /db2\s*127\.63\.0\.15 · \d+ rules on the host itself/)

  await db2.locator('button.fix-copy').click()
  await page.waitForFunction(() => document.querySelector('#fix-rules .fix-host[data-host="db2"] button.fix-copy')?.textContent?.includes('Copied'))
  t.equal(await page.evaluate(async () => await navigator.clipboard.readText()), nft, 'Copy puts that very text on the clipboard')
  t.equal(await db2.locator('button.fix-copy').getAttribute('aria-label'), 'Copy the nftables rules for db2')

  // Another format: the same host, that format's text.
  await page.selectOption('#fix-format', 'iptables')
  const ipt = formatFix(saved, 'iptables', { host: 'db2' }).text
  await page.waitForFunction((want) => document.querySelector('#fix-rules .fix-host[data-host="db2"] pre.fix-text')?.textContent === want, ipt, { timeout: 10_000 })
  t.pass('iptables: db2\'s text is exactly `portcheck fix --format iptables --host db2`')
  await db2.locator('button.fix-copy').click()
  await page.waitForFunction(() => document.querySelector('#fix-rules .fix-host[data-host="db2"] button.fix-copy')?.textContent?.includes('Copied'))
  t.equal(await page.evaluate(async () => await navigator.clipboard.readText()), ipt, 'and Copy copies that one')

  // A network format: the change request, with what JSON and CSV cannot hold as comments beside it.
  await page.selectOption('#fix-format', 'csv')
  const csv = formatFix(saved, 'csv', { host: 'db2' })
  await page.waitForFunction((want) => document.querySelector('#fix-rules .fix-host[data-host="db2"] pre.fix-text')?.textContent === want, csv.text, { timeout: 10_000 })
  t.same(await db2.locator('.fix-aside li').allTextContents(), csv.aside, 'the notes portcheck fix prints on stderr are listed under it')

  // The check's details say where it was dropped: not localized here (the loopback agents do not trace).
  await page.locator('#fix-body .fix-open').first().click()
  await page.waitForSelector('#detail-list li.check')
  t.match(await page.locator('#detail-list li.check').first().textContent(), /Droppednot localized/, 'a blocked check\'s details say whether its drop was localized')

  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no Content-Security-Policy violation')
  t.same(watch.foreignRequests, [], 'nothing loaded from outside the coordinator')
})
