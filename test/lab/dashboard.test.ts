import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { browserReady, CHROMIUM, launchBrowser, watchPage } from '../browser/browser.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { joinArgs } from '../support/join.js'
import { Lab, filterRules } from './lab.js'

// The demo catalog in the namespace lab, with one host's firewall wrong: db2 drops every
// inbound port the catalog gives it. The coordinator runs `portcheck run --dashboard` in its
// own namespace, and so does Chromium: the browser cannot reach lab addresses from the root
// namespace, but playwright drives it over pipes, which cross namespaces.
const HOSTS: Array<[string, string, string]> = [
  ['lb1', '198.18.61.11', 'lb'],
  ['app1', '198.18.61.12', 'app'],
  ['app2', '198.18.61.13', 'app'],
  ['db1', '198.18.61.14', 'db'],
  ['db2', '198.18.61.15', 'db']
]
const COORD = '198.18.60.1'
const TOKEN = 'lab-dashboard-token-7f3a91c2'

t.test('namespace lab: the dashboard shows a firewalled host\'s flows as blocked, with the reason', async (t) => {
  if (!labReady(t) || !browserReady(t)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-lab-dashboard-')

  const coord = await lab.addHost('coord', COORD)
  for (const [name, address] of HOSTS) await lab.addHost(name, address)
  await lab.nft('db2', filterRules('input', '    tcp dport { 15432, 15433 } drop\n    udp dport { 15405, 18125 } drop'))

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
  const reportFile = path.join(dir, 'report.json')
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--include-optional', '--listen', `${COORD}:7070`,
    '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--wait', '10', '--timeout', '1500', '--format', 'json', '--output', reportFile, '--dashboard', '--log-format', 'json', '--log-level', 'debug'])
  await coordinator.waitFor(/Waiting up to/)
  for (const [name] of HOSTS) lab.spawn(name, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), name), '--log-format', 'json'])
  await coordinator.waitFor(/Dashboard: https:\/\/\S+/, 30_000)
  const url = /Dashboard: (https:\/\/\S+)/.exec(coordinator.stderr())?.[1] ?? ''
  t.equal(url, `https://${COORD}:7070/#token=${TOKEN}`, 'the dashboard address, over TLS, with the token in the fragment')
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
  t.match(report, { verdict: 'blocked', exitCode: 1 })
  const blocked = report.checks.filter((c) => c.status === 'blocked')
  t.ok(blocked.length > 0 && blocked.every((c) => c.to === 'db2' && c.reason === 'timeout'), 'every blocked check goes to db2, silently dropped')

  // Chromium inside the coordinator's namespace, through a wrapper playwright starts as the browser.
  const wrapper = path.join(dir, 'chromium-in-netns.sh')
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${coord.ns} ${CHROMIUM} "$@"\n`)
  chmodSync(wrapper, 0o755)
  const browser = await launchBrowser(t, { executablePath: wrapper })
  // The coordinator's certificate is its own, self-signed: an operator accepts it once (or gives --tls-cert).
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ignoreHTTPSErrors: true })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const watch = watchPage(page, `https://${COORD}:7070`)
  await page.goto(url)
  await page.waitForSelector('td.rc[data-from]')
  t.notMatch(page.url(), /token/, 'the token left the address bar')

  // The role matrix: app → db is blocked on tcp/15432, for the two pairs that go to db2.
  const cell = page.locator('td.rc[data-from="app"][data-to="db"]')
  t.equal(await cell.getAttribute('data-worst'), 'blocked', 'app → db is shown as blocked')
  const port = cell.locator('button.port[data-port="15432"]')
  t.equal(await port.getAttribute('data-worst'), 'blocked')
  t.match(await port.textContent(), /^✘\s*15432\/tcp\s*blocked on 2 of 4 pairs/, 'with icon, port and how many pairs')

  // Its details: the checks to db2, blocked with their reason and what to open.
  await port.click()
  await page.waitForFunction(() => document.querySelectorAll('#detail-list li.check').length === 4)
  const toDb2 = report.checks.filter((c) => c.fromRole === 'app' && c.to === 'db2' && c.protocol === 'tcp' && c.port === 15432)
  t.equal(toDb2.length, 2)
  for (const c of toDb2) {
    const li = page.locator(`#detail-list li.check[data-index="${c.index}"]`)
    t.equal(await li.getAttribute('data-status'), 'blocked', `${c.from ?? ''} → db2 is blocked`)
    const text = await li.textContent() ?? ''
    t.match(text, 'blocked · timeout', 'with its reason')
    t.match(text, /silently dropped/, 'and what the reason means')
    t.match(text, `To fix: allow tcp 15432 from ${c.fromAddress ?? ''} to 198.18.61.15 inbound on db2, before the nftables rule "tcp dport { 15432, 15433 } drop" (inet pctest input, handle 3) that drops it`, 'and what to open: before the rule that drops it')
    t.match(text, 'Droppedon db2 (inbound), by nftables rule "tcp dport { 15432, 15433 } drop" (inet pctest input, handle 3)', 'and where it was dropped')
  }
  await page.keyboard.press('Escape')

  // The host matrix: db2's column, blocked from every source, stands out.
  await page.click('.view-btn[data-view="host"]')
  await page.waitForSelector('td.hc[data-worst]')
  t.match(await page.getAttribute('.host-matrix thead th[title^="db2"]', 'class'), /line-blocked/, 'the db2 column stands out: one host\'s firewall')
  for (const from of ['app1', 'app2', 'db1']) t.equal(await page.getAttribute(`td.hc[data-from="${from}"][data-to="db2"]`, 'data-worst'), 'blocked', `${from} → db2`)
  t.equal(await page.getAttribute('td.hc[data-from="app1"][data-to="db1"]', 'data-worst'), 'pass', 'app1 → db1 passes')

  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no CSP violation')
  t.same(watch.foreignRequests, [], 'nothing loaded from outside the coordinator')

  // The page used the token on every API call and on the events socket: none of it is logged.
  await context.close()
  const logLines = coordinator.stderr().split('\n').filter((l) => l.startsWith('{'))
  t.ok(logLines.length > 3, `the coordinator logged (${logLines.length} lines at debug level)`)
  t.same(logLines.filter((l) => l.includes(TOKEN)), [], 'the token is in no log line')
})
