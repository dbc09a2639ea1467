import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import type { CheckReport, RunReport } from '../../packages/coordinator/src/report/report.js'
import type { RoleCell, HostCell } from '../../packages/coordinator/src/report/views.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { get, waitForShownRun } from '../support/dashboard-page.js'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { browserReady, contrast, launchBrowser, watchPage, type PageWatch } from './browser.js'

// Loopback addresses 127.61.0.x belong to this file (browser tests use 60-69).
const NET = 61
const VIEWER = 'viewer-token-61-readonly'
const CATALOG = 'examples/demo/catalog.yaml'
const SCREENSHOT = path.resolve('docs/dashboard.png')

type RoleMatrix = { rows: string[], cols: string[], cells: RoleCell[] }
type HostMatrix = { rows: string[], cols: string[], totalRows: number, cells: HostCell[] }
type Checks = { total: number, checks: Array<CheckReport & { remedy: string | null, flows: Array<{ id: string, purpose: string, ref: string | null }> }> }
type RunEntry = { id: string, state: string, verdict: string | null }

const ON: Record<string, string> = { pass: 'passed on', blocked: 'blocked on', inconclusive: 'inconclusive on', skipped: 'skipped on', pending: 'pending on' }
const key = (c: Pick<CheckReport, 'from' | 'to' | 'fromRole' | 'toRole' | 'protocol' | 'port'>): string => `${c.from ?? `(${c.fromRole})`}>${c.to ?? `(${c.toRole})`} ${c.protocol}/${c.port}`

/** Waits until the detail panel lists `n` checks. */
async function waitForDetail (page: Page, n: number): Promise<number[]> {
  await page.waitForFunction((count) => !(document.getElementById('detail') as HTMLElement).hidden &&
    document.querySelectorAll('#detail-list li.check').length === count, n, { timeout: 10_000 })
  return await page.locator('#detail-list li.check').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.index)))
}

function assertClean (t: Test, w: PageWatch, what: string): void {
  t.same(w.errors, [], `${what}: no script error`)
  t.same(w.cspViolations, [], `${what}: no Content-Security-Policy violation`)
  t.same(w.foreignRequests, [], `${what}: nothing loaded from outside the coordinator`)
}

t.test('the dashboard in headless Chromium', async (t) => {
  if (!browserReady(t)) return
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-browser-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  // The faults of `npm run demo`: db2 is reached through NAT at .15, but the NAT forwards nothing
  // to its agent on .25, so flows to db2 are refused; a plain server answers tcp/15432 on .15
  // (intercepted); a stray socket holds udp/15405 on db1 (port-in-use). db2's agent joins only
  // once the page has shown it missing.
  const hosts = demoHosts(NET).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts, requireAuth: true, viewerToken: VIEWER })
  const decoy = net.createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')) })
  await new Promise<void>((resolve) => decoy.listen({ host: `127.${NET}.0.15`, port: 15432 }, resolve))
  t.teardown(() => new Promise<void>((resolve) => decoy.close(() => resolve())))
  const stray = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => stray.bind(15405, `127.${NET}.0.14`, resolve))
  t.teardown(() => new Promise<void>((resolve) => stray.close(() => resolve())))
  await startAgents(t, c, hosts.filter((h) => h.name !== 'db2').map((h) => ({ name: h.name, bind: h.address })))

  const top = t
  const base = c.httpUrl as string
  const origin = new URL(base).origin
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true })
  t.teardown(() => context.close())
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
  const page = await context.newPage()
  const watch = watchPage(page, origin)

  await page.goto(`${base}#token=${TOKEN}`)
  let runId = ''

  await t.test('the agents view lists every host; a missing one with its join command, until it joins', async (t) => {
    await page.waitForSelector('.empty-state h2')
    t.match(await page.textContent('#agents-line'), /4 of 5 agents connected.*missing: db2/s)
    const agents = await get<{ hosts: Array<{ name: string, state: string, joinCommand: string, executableJoinCommand: string | null }> }>(c, '/api/agents')
    await page.click('.view-btn[data-view="agents"]')
    await page.waitForSelector('.agents-table')
    for (const h of agents.hosts) t.equal(await page.getAttribute(`.agents-table tr[data-host="${h.name}"]`, 'data-state'), h.state, `${h.name}: ${h.state}`)
    const row = page.locator('.agents-table tr[data-host="db2"]')
    const missing = agents.hosts.find((h) => h.name === 'db2')
    t.equal(missing?.state, 'missing')
    t.equal(await row.locator('.join-cmd').textContent(), missing?.joinCommand, 'the exact join command')
    t.match(missing?.joinCommand, `--token ${agentCredential(TOKEN, 'db2')} --name db2`, 'with db2\'s own credential')
    t.notMatch(missing?.joinCommand, TOKEN, 'never the join token itself')
    const standalone = missing?.executableJoinCommand ?? null
    if (standalone !== null) t.equal(await row.locator('.join-exe-cmd').textContent(), standalone, 'and the one for a node without Node.js (this coordinator\'s platform)')
    else t.equal(await row.locator('.join-exe-cmd').count(), 0, 'no command for a node without Node.js: this coordinator makes no standalone agent')
    await row.getByRole('button', { name: 'Copy the join command for db2', exact: true }).click()
    await page.waitForFunction(() => document.querySelector('.agents-table tr[data-host="db2"] .join button')?.textContent?.includes('Copied'))
    t.equal(await page.evaluate(async () => await navigator.clipboard.readText()), missing?.joinCommand, 'Copy puts it on the clipboard')

    await startAgents(top, c, [{ name: 'db2', bind: `127.${NET}.0.25` }]) // lives as long as the whole test
    await page.waitForSelector('.agents-table tr[data-host="db2"][data-state="connected"]')
    t.match(await page.textContent('.agents-table tr[data-host="db2"]'), `127.${NET}.0.25`, 'live: db2 is connected, from the address it bound')
    t.match(await page.textContent('#agents-line'), /5 of 5 agents connected/)
    t.equal(await row.getAttribute('data-placement'), null, 'db2 is reached through NAT (nat: true): its agent on another address is expected, not flagged')
    t.match(await row.locator('.placement-note').textContent(), `reached through NAT at 127.${NET}.0.15; its agent runs on 127.${NET}.0.25`)
    t.same(await page.locator('.agents-table tr[data-placement]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.host)), [], 'no agent is flagged')
    t.notMatch(await page.textContent('#agents-line'), /not at the inventory address/, 'nor does the line under the summary')
    await page.click('.view-btn[data-view="role"]')
  })

  await t.test('with no run yet, the page says so and starts one with the chosen options', async (t) => {
    await page.waitForSelector('.empty-state h2')
    t.equal(await page.textContent('.empty-state h2'), 'No run yet')
    t.notMatch(page.url(), /token/, 'the token left the address bar')
    t.equal(await page.evaluate(() => sessionStorage.getItem('portcheck.token')), TOKEN, 'and is kept for this tab only')

    await page.click('#next-run summary')
    await page.check('#opt-include-optional')
    t.ok(await page.isChecked('[data-setting="metrics"]'), 'catalog settings are in the form, with their current value')
    t.match(await page.textContent('#settings-fields'), /optional metrics pipeline.*boolean, default true/s, 'with description and default')
    await page.fill('#opt-timeout', '10')
    await page.click('.empty-state button.btn-primary')
    await page.waitForSelector('#run-error:not([hidden])')
    t.match(await page.textContent('#run-error'), /PC_ERR_OPTION_INVALID/, 'a refused request is shown with its error')
    t.equal(c.runs.list().length, 0, 'and no run started')

    await page.fill('#opt-timeout', '1000')
    await page.click('#start-run')
    runId = await waitForShownRun(page)
    const run = c.runs.get(runId)
    t.ok(run, 'the page started a run')
    const report = await c.runs.wait(run as NonNullable<typeof run>)
    t.match(report, { includeOptional: true, timeoutMs: 1000, verdict: 'blocked' }, 'with the options of the form')
    t.ok(await page.isHidden('#run-error'), 'the earlier error is gone')
    await page.click('#next-run summary')
  })

  const report = c.runs.get(runId)?.report() as RunReport

  await t.test('the summary gives the verdict and the counts the API reports', async (t) => {
    t.equal(await page.textContent('#verdict-title'), 'Blocked')
    t.match(await page.textContent('#verdict-sub'), /exit code 1/)
    for (const s of ['pass', 'blocked', 'inconclusive', 'skipped'] as const) {
      t.equal(await page.textContent(`#count-required [data-status="${s}"] strong`), String(report.required[s]), `required ${s}`)
      t.equal(await page.textContent(`#count-all [data-status="${s}"] strong`), String(report.summary[s]), `all ${s}`)
    }
    t.match(await page.textContent('#progress'), new RegExp(`${report.progress.done} of ${report.progress.total} checks`))
    const fixes = await page.locator('#fix-body .fix-remedy').allTextContents()
    t.ok(fixes.some((f) => f.includes(`to fix: allow udp 18125 from 127.${NET}.0.12 to 127.${NET}.0.15`)), '"what to open" lists the rules to open')
  })

  await t.test('the role matrix shows what GET /api/runs/:id/matrix?by=role reports', async (t) => {
    const m = await get<RoleMatrix>(c, `/api/runs/${runId}/matrix?by=role`)
    await page.waitForSelector('td.rc[data-from]')
    t.equal(await page.locator('td.rc[data-from]').count(), m.cells.length, 'one cell per (source role, target role) with flows')
    t.same(await page.locator('.role-matrix thead th[data-role]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.role)), m.cols, 'target roles as columns')
    t.same(await page.locator('.role-matrix tbody th[data-role]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.role)), m.rows, 'source roles as rows')
    for (const cell of m.cells) {
      const td = page.locator(`td.rc[data-from="${cell.from}"][data-to="${cell.to}"]`)
      t.equal(await td.getAttribute('data-worst'), cell.worst, `${cell.from} → ${cell.to}: worst status`)
      const ports = await td.locator('button.port').evaluateAll((els) => els.map((e) => {
        const b = e as HTMLElement
        return { protocol: b.dataset.protocol, port: Number(b.dataset.port), worst: b.dataset.worst, text: b.textContent ?? '' }
      }))
      t.same(ports.map((p) => `${p.port}/${p.protocol} ${p.worst ?? ''}`), cell.ports.map((p) => `${p.port}/${p.protocol} ${p.worst}`), `${cell.from} → ${cell.to}: each port with its state`)
      cell.ports.forEach((p, i) => {
        const text = ports[i]?.text ?? ''
        const icon = { pass: '✔', blocked: '✘', inconclusive: '?', skipped: '–', pending: '…' }[p.worst]
        t.ok(text.startsWith(icon), `${p.port}/${p.protocol}: icon ${icon}`)
        if (p.worst === 'skipped' && cell.from === 'users') t.match(text, /not tested: external end/)
        else t.match(text, `${ON[p.worst] ?? ''} ${p.counts[p.worst]} of ${p.pairs} pair`, `${cell.from} → ${cell.to} ${p.port}/${p.protocol}: "${text}"`)
        for (const s of ['pass', 'blocked', 'inconclusive'] as const) {
          if (s !== p.worst && p.counts[s] > 0) t.match(text, `${p.counts[s]} ${s === 'pass' ? 'passed' : s}`, `and ${s} count`)
        }
      })
    }
    t.match(await page.getAttribute('.role-matrix thead th[data-role="db"]', 'class'), /line-blocked/, 'the db column, blocked from every source role, stands out')
    t.match(await page.textContent('.role-matrix thead th[data-role="db"]'), /blocked from every role/)
  })

  // The README's screenshot: a run with blocked flows, in the default view. Written to docs/
  // only when asked (UPDATE_SCREENSHOTS=1), so that a test run never changes the tree.
  const shotFile = process.env.UPDATE_SCREENSHOTS === '1' ? SCREENSHOT : path.join(dir, 'dashboard.png')
  await page.screenshot({ path: shotFile })
  t.ok(readFileSync(shotFile).length > 10_000, `screenshot written to ${shotFile}`)

  await t.test('clicking a cell opens the checks behind it, worst first, with what to open', async (t) => {
    const api = await get<Checks>(c, `/api/runs/${runId}/checks?fromRole=app&toRole=db`)
    await page.click('td.rc[data-from="app"][data-to="db"] button.cell-open')
    const shown = await waitForDetail(page, api.total)
    t.same([...shown].sort((a, b) => a - b), api.checks.map((x) => x.index).sort((a, b) => a - b), 'the checks the API reports for app → db')
    t.equal(await page.textContent('#detail-title'), 'app → db')
    t.equal(await page.getAttribute('#detail-list li.check >> nth=0', 'data-status'), 'blocked', 'blocked checks first')
    const blocked = api.checks.find((x) => x.status === 'blocked' && x.reason === 'refused')
    t.ok(blocked, 'a refused check to db2')
    if (blocked !== undefined) {
      const li = page.locator(`#detail-list li.check[data-index="${blocked.index}"]`)
      t.equal(await li.locator('.remedy-text').textContent(), blocked.remedy, 'the remedy, as the API gives it')
      const text = await li.textContent() ?? ''
      t.match(text, 'blocked · refused')
      t.match(text, `${blocked.from ?? ''} 127.${NET}.0.${blocked.from === 'app1' ? 12 : 13}`, 'source host and address')
      t.match(text, 'db2 127.61.0.15', 'target host and address')
      for (const f of blocked.flows) {
        t.match(text, f.id, 'flow id')
        t.match(text, f.purpose, 'purpose')
        t.match(text, f.ref ?? '', 'document reference')
      }
      t.match(text, /Attempts\d/, 'attempts')
      t.match(text, /Why.*firewall rejects it/s, 'what the reason means')
      t.same(await li.locator('dl.check-facts > dt').allTextContents(), [...blocked.flows.map(() => 'Flow'), 'Why', 'Dropped', 'Detail', 'Required'], 'Why, where it was dropped, then Detail')
      t.match(text, /Droppednot localized/, 'these loopback agents do not trace: not localized')
      t.same((await li.locator('dl.check-evidence > dt').allTextContents()).slice(0, 3), ['Target saw', 'Attempts', 'Latency'], 'Detail is the evidence: what the target saw, attempts, latency')
      t.ok(blocked.detail !== null && !text.includes(blocked.detail), 'and not the reason again in other words')
    }
    const pass = api.checks.find((x) => x.status === 'pass' && x.observedSource !== null)
    if (pass !== undefined) {
      const text = await page.locator(`#detail-list li.check[data-index="${pass.index}"]`).textContent() ?? ''
      t.match(text, `Target saw${pass.observedSource ?? ''}`, 'the address the target observed')
      t.match(text, /Latency[\d.]+ ms/, 'latency')
    }

    // A port inside the cell narrows to that port.
    const udp = await get<Checks>(c, `/api/runs/${runId}/checks?fromRole=app&toRole=db&protocol=udp&port=18125`)
    await page.click('td.rc[data-from="app"][data-to="db"] button.port[data-port="18125"]')
    await page.waitForFunction(() => document.getElementById('detail-title')?.textContent === 'app → db · 18125/udp')
    const ports = await waitForDetail(page, udp.total)
    t.same([...ports].sort((a, b) => a - b), udp.checks.map((x) => x.index).sort((a, b) => a - b), 'a port opens its own checks')
    await page.click('#detail-close')
    t.ok(await page.isHidden('#detail'), 'the close button closes the details')
  })

  await t.test('"Blocked only" filters the matrices and details, and survives a reload', async (t) => {
    const m = await get<RoleMatrix>(c, `/api/runs/${runId}/matrix?by=role&status=blocked`)
    await page.click('#f-blocked')
    await page.waitForFunction((n) => new URL(location.href).searchParams.get('status') === 'blocked' &&
      document.querySelectorAll('td.rc[data-from]').length === n, m.cells.length)
    const shown = await page.locator('button.port').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.worst))
    t.ok(shown.length > 0 && shown.every((w) => w === 'blocked'), 'only blocked ports are shown')
    t.equal(shown.length, m.cells.reduce((n, x) => n + x.ports.length, 0), 'every blocked port the API reports')
    t.equal(await page.getAttribute('#f-blocked', 'aria-pressed'), 'true')
    const all = await get<RoleMatrix>(c, `/api/runs/${runId}/matrix?by=role`)
    const pg = all.cells.find((x) => x.from === 'app' && x.to === 'db')?.ports.find((p) => p.port === 15432)
    t.match(await page.textContent('td.rc[data-from="app"][data-to="db"] button.port[data-port="15432"]'), `blocked on ${pg?.counts.blocked ?? -1} of ${pg?.pairs ?? -1} pairs`, 'counted over all pairs, not only the blocked ones')
    await page.hover('#f-blocked')
    const pressed = await page.$eval('#f-blocked', (el) => ({ color: getComputedStyle(el).color, background: getComputedStyle(el).backgroundColor }))
    t.equal(pressed.color, 'rgb(255, 255, 255)', 'pressed and hovered: white text')
    t.ok(contrast(pressed.color, pressed.background) >= 4.5, `on a background dark enough to read it (${pressed.background})`)

    await page.reload()
    await page.waitForFunction((n) => document.querySelectorAll('td.rc[data-from]').length === n, m.cells.length)
    t.equal(await page.getAttribute('#f-blocked', 'aria-pressed'), 'true', 'a reload keeps the filter')
    t.equal(await page.inputValue('#f-status'), 'blocked')

    const api = await get<Checks>(c, `/api/runs/${runId}/checks?fromRole=db&toRole=db&status=blocked`)
    await page.click('td.rc[data-from="db"][data-to="db"] button.cell-open')
    const ids = await waitForDetail(page, api.total)
    t.same([...ids].sort((a, b) => a - b), api.checks.map((x) => x.index).sort((a, b) => a - b), 'the details follow the filter')
    await page.keyboard.press('Escape')
    await page.click('#f-blocked')
    await page.waitForFunction((n) => !location.search.includes('status') && document.querySelectorAll('td.rc[data-from]').length === n, all.cells.length)
    t.pass('one more click shows everything again')
  })

  await t.test('the host matrix shows each host pair by its worst status', async (t) => {
    const m = await get<HostMatrix>(c, `/api/runs/${runId}/matrix?by=host&offset=0&limit=50`)
    await page.click('.view-btn[data-view="host"]')
    await page.waitForSelector('td.hc[data-worst]')
    t.match(page.url(), /view=host/)
    t.equal(await page.locator('.host-matrix tbody tr').count(), m.rows.length, 'one row per source host')
    t.match(await page.textContent('.pager-text'), `source hosts 1–${m.totalRows} of ${m.totalRows}`)
    for (const cell of m.cells) {
      const td = page.locator(`td.hc[data-from="${cell.from}"][data-to="${cell.to}"]`)
      t.equal(await td.getAttribute('data-worst'), cell.worst, `${cell.from} → ${cell.to}`)
      t.match(await td.getAttribute('aria-label'), `${cell.from} to ${cell.to}: `, 'a text label, not colour alone')
    }
    t.match(await page.getAttribute('.host-matrix thead th[title^="db2"]', 'class'), /line-blocked/, 'the db2 column, blocked from every source that could be tested, stands out')
    t.notMatch(await page.getAttribute('.host-matrix thead th[title^="db1"]', 'class'), /line-blocked/, 'db1 does not')

    const api = await get<Checks>(c, `/api/runs/${runId}/checks?from=app1&to=db2`)
    await page.click('td.hc[data-from="app1"][data-to="db2"]')
    const ids = await waitForDetail(page, api.total)
    t.same([...ids].sort((a, b) => a - b), api.checks.map((x) => x.index).sort((a, b) => a - b), 'a host cell opens the checks of that pair')

    // Keyboard: arrows move between cells, Enter opens, Escape closes and returns.
    await page.keyboard.press('Escape')
    t.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key), 'hc:app1>db2', 'focus is back on the cell')
    await page.keyboard.press('ArrowLeft')
    t.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key), 'hc:app1>db1', 'ArrowLeft moves to the next cell')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.getElementById('detail-title')?.textContent === 'app1 → db1')
    t.pass('Enter opens the focused cell')
    await page.keyboard.press('Escape')
    await page.click('.view-btn[data-view="role"]')
    await page.waitForSelector('td.rc[data-from]')
  })

  await t.test('keyboard: Tab reaches a cell, Enter opens its details, Escape closes them', async (t) => {
    await page.click('.brand')
    let reached = false
    for (let i = 0; i < 100 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await page.evaluate(() => document.activeElement?.classList.contains('cell-open') ?? false)
    }
    t.ok(reached, 'Tab reaches a matrix cell')
    const cellKey = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key)
    t.ok(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle !== 'none'), 'the focus is visible')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => !(document.getElementById('detail') as HTMLElement).hidden && document.querySelectorAll('#detail-list li.check').length > 0)
    t.ok(await page.evaluate(() => document.getElementById('detail')?.contains(document.activeElement)), 'focus moves into the details')
    await page.keyboard.press('Escape')
    t.ok(await page.isHidden('#detail'), 'Escape closes them')
    t.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key), cellKey, 'and focus returns to the cell')
  })

  await t.test('the JSON export downloads the run', async (t) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-export="json"]')])
    t.equal(download.suggestedFilename(), `portcheck-demo-${runId}.json`)
    const file = path.join(dir, 'export.json')
    await download.saveAs(file)
    const json = JSON.parse(readFileSync(file, 'utf8')) as RunReport
    t.equal(json.id, runId, 'valid JSON, of the shown run')
    t.equal(json.checks.length, report.checks.length)
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-export="csv"]')])
    t.equal(csv.suggestedFilename(), `portcheck-demo-${runId}.csv`)
    const [junit] = await Promise.all([page.waitForEvent('download'), page.click('[data-export="junit"]')])
    t.equal(junit.suggestedFilename(), `portcheck-demo-${runId}.junit.xml`)
    await page.waitForSelector('#notice:visible')
    t.equal(await page.textContent('#notice'), `Downloaded portcheck-demo-${runId}.junit.xml.`, 'a notice says what was downloaded')
    await page.waitForSelector('#notice', { state: 'hidden', timeout: 10_000 })
    t.pass('and goes away after a few seconds')
  })

  await t.test('"Re-run failed" runs only the checks that did not pass, and the page shows it', async (t) => {
    const failed = report.checks.filter((x) => x.status === 'blocked' || x.status === 'inconclusive')
    t.equal(await page.textContent('#rerun-failed'), `↻ Re-run failed (${failed.length})`)
    await page.click('#rerun-failed')
    await page.waitForFunction((first) => (document.getElementById('run-select') as HTMLSelectElement).value !== first, runId)
    const rerunId = await waitForShownRun(page)
    t.not(rerunId, runId, 'a new run')
    const runs = await get<RunEntry[]>(c, '/api/runs')
    t.equal(runs[0]?.id, rerunId, 'the newest run, per the API')
    const again = await c.runs.wait(c.runs.get(rerunId) as NonNullable<ReturnType<typeof c.runs.get>>)
    t.same(again.checks.map(key).sort(), failed.map(key).sort(), 'exactly the failed checks of the first run')
    const m = await get<RoleMatrix>(c, `/api/runs/${rerunId}/matrix?by=role`)
    await page.waitForFunction((n) => document.querySelectorAll('td.rc[data-from]').length === n, m.cells.length)
    t.equal(await page.locator('td.rc[data-from="lb"][data-to="app"]').count(), 0, 'the matrix shows the new run: lb → app passed before and is not re-run')
    t.equal(await page.textContent('#verdict-title'), 'Blocked')
    t.notMatch(page.url(), /[?&]run=/, 'following the latest run: no run pinned in the address')
  })

  await t.test('live: a run started elsewhere shows up without a reload', async (t) => {
    const before = await page.locator('#run-select').inputValue()
    const run = c.startRun({ includeOptional: true, timeoutMs: 1000 })
    t.not(run.id, before)
    const shown = await waitForShownRun(page, run.id)
    t.equal(shown, run.id, 'the page switched to the new run on the events socket')
    await c.runs.wait(run)
    await page.waitForFunction(() => document.getElementById('progress')?.textContent?.startsWith('done'))
    t.pass('and shows it finished')
  })

  await t.test('the token is required: without it the page asks for it', async (t) => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    t.teardown(() => ctx.close())
    const p = await ctx.newPage()
    const w = watchPage(p, origin)
    await p.goto(base)
    await p.waitForSelector('#token-dialog[open]')
    t.equal(await p.locator('td.rc').count(), 0, 'no data without a token')
    await p.fill('#token-input', 'not-the-token')
    await p.click('#token-form button[type="submit"]')
    await p.waitForSelector('#token-error:not([hidden])')
    t.match(await p.textContent('#token-error'), /refused/, 'a wrong token is refused')
    await p.fill('#token-input', TOKEN)
    await p.click('#token-form button[type="submit"]')
    await p.waitForSelector('td.rc[data-from]')
    t.ok(await p.isEnabled('#start-run'), 'the full token may start runs')
    assertClean(t, w, 'token form')
  })

  await t.test('with the viewer token, the run buttons are disabled, with the reason', async (t) => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    t.teardown(() => ctx.close())
    const p = await ctx.newPage()
    await p.goto(`${base}#token=${VIEWER}`)
    await p.waitForSelector('td.rc[data-from]')
    await p.waitForSelector('#readonly-note:not([hidden])')
    t.ok(await p.isDisabled('#start-run'), 'Start run disabled')
    t.ok(await p.isDisabled('#rerun-failed'), 'Re-run failed disabled')
    t.ok(await p.isDisabled('#opt-include-optional'), 'next-run options disabled')
    t.match(await p.textContent('#readonly-note'), /Read-only access/)
    t.ok(await p.isEnabled('[data-export="json"]'), 'exports still work')
    await p.click('.view-btn[data-view="agents"]')
    await p.waitForSelector('.agents-table')
    t.match(await p.textContent('.agents-table'), /token is hidden from read-only access/, 'join commands come without the join token')
    t.notOk((await p.content()).includes(TOKEN), 'the join token is nowhere in a viewer\'s page')
  })

  assertClean(t, watch, 'main page')
  // The one expected failed request: the start refused for its 10 ms timeout (HTTP 400).
  t.same(watch.consoleErrors.filter((e) => !/status of 400/.test(e)), [], 'no other console error on the main page')
})

t.test('300 hosts: the role matrix aggregates, the host matrix pages', async (t) => {
  if (!browserReady(t)) return
  // No agent at all: every check ends inconclusive (agent missing) at once, which is enough to
  // put 120,000 checks between 300 hosts on the page.
  const hosts = Array.from({ length: 300 }, (_, i) => {
    const role = i < 20 ? 'lb' : i < 160 ? 'app' : 'db'
    return { name: `${role}-${String(i + 1).padStart(3, '0')}`, address: `127.${NET + 1}.${Math.floor(i / 250)}.${(i % 250) + 1}`, roles: [role] }
  })
  // Loopback without requireAuth, like `npm run demo`: no token needed, none asked for.
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  t.notOk(c.requireAuth)
  const report = await c.runs.wait(c.startRun({ includeOptional: true, timeoutMs: 1000 }))
  t.ok(report.checks.length > 100_000, `${report.checks.length} checks`)

  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const watch = watchPage(page, new URL(c.httpUrl as string).origin)
  await page.goto(c.httpUrl as string)
  await page.waitForSelector('td.rc[data-from]')
  t.notOk(await page.isVisible('#token-dialog'), 'no token asked for')
  t.ok(await page.isEnabled('#start-run'), 'and the run buttons work')
  const role = await get<RoleMatrix>(c, `/api/runs/${report.id}/matrix?by=role`)
  t.equal(await page.locator('td.rc[data-from]').count(), role.cells.length, 'the role matrix stays a few cells')
  const appApp = role.cells.find((x) => x.from === 'app' && x.to === 'app')?.ports[0]
  t.match(await page.textContent('td.rc[data-from="app"][data-to="app"] button.port >> nth=0'), `inconclusive on ${(appApp?.pairs ?? 0).toLocaleString('en')} of ${(appApp?.pairs ?? 0).toLocaleString('en')} pairs`)

  const started = Date.now()
  await page.click('.view-btn[data-view="host"]')
  await page.waitForSelector('td.hc[data-worst]')
  const ms = Date.now() - started
  const host = await get<HostMatrix>(c, `/api/runs/${report.id}/matrix?by=host&offset=0&limit=50`)
  t.equal(host.totalRows, 301, '300 hosts and the external users as sources')
  t.equal(await page.locator('.host-matrix tbody tr').count(), 50, 'one page of 50 source rows')
  t.equal(await page.locator('.host-matrix thead th.hcol').count(), host.cols.length, 'every target as a column')
  t.ok(await page.locator('.host-matrix').evaluate((el) => el.classList.contains('compact')), 'compact cells: the worst status icon, details in the label')
  t.match(await page.textContent('.pager-text'), 'source hosts 1–50 of 301')
  t.ok(ms < 15_000, `the first page shows in ${ms} ms`)
  t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.host-matrix thead th.hcol') as Element).position), 'sticky', 'sticky column headers')
  t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.host-matrix tbody th') as Element).position), 'sticky', 'sticky row headers')

  await page.click('.pager button:has-text("Next")')
  await page.waitForFunction(() => document.querySelector('.pager-text')?.textContent?.includes('51–100 of 301'))
  t.match(page.url(), /offset=50/)
  const next = await get<HostMatrix>(c, `/api/runs/${report.id}/matrix?by=host&offset=50&limit=50`)
  t.same(await page.locator('.host-matrix tbody th').allTextContents(), next.rows, 'the next page of source hosts')
  await page.reload()
  await page.waitForFunction(() => document.querySelector('.pager-text')?.textContent?.includes('51–100 of 301'))
  t.pass('a reload stays on that page')
  t.same(watch.errors, [], 'no script error')
})
