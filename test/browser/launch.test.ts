import t from 'tap'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { browserReady, launchBrowser, watchPage } from './browser.js'

// Loopback addresses 127.63.0.x belong to this file (browser tests use 60-69).
const NET = 63

t.test('the agents view shows how each launch over SSH goes, and why one failed', async (t) => {
  if (!browserReady(t)) return
  const hosts = demoHosts(NET)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true })
  await startAgents(t, c, hosts.filter((h) => h.name === 'lb1').map((h) => ({ name: h.name, bind: h.address })))
  // The launcher records its states on the hub's board; here they are set as it would.
  c.hub.launches.set('lb1', 'running')
  c.hub.launches.set('app1', 'copying')
  c.hub.launches.set('app2', 'running')
  c.hub.launches.set('db1', 'failed', 'ops@127.63.0.14: Permission denied (publickey).')
  c.hub.launches.set('db2', 'queued')
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const watch = watchPage(page, new URL(c.httpUrl as string).origin)
  await page.goto(`${c.httpUrl as string}#token=${TOKEN}`)
  await page.click('.view-btn[data-view="agents"]')
  await page.waitForSelector('.agents-table tr[data-host="db1"] .launch')
  const hints = await page.locator('.agents-table tbody tr').evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset.host, r.querySelector('.launch')?.textContent ?? null]))
  t.same(hints, [
    ['lb1', null],
    ['app1', 'launch over SSH: copying the agent'],
    ['app2', 'launch over SSH: agent started'],
    ['db1', 'launch over SSH failed: ops@127.63.0.14: Permission denied (publickey).'],
    ['db2', 'launch over SSH: waiting for a launch slot']
  ], 'each host\'s launch, in words; none once its agent is connected')
  t.match(await page.textContent('#agents-line'), /launch over SSH failed: db1/, 'the line under the summary names the failure')
  // A change reaches an open dashboard through its events.
  c.hub.launches.set('db2', 'connecting')
  await page.waitForSelector('.agents-table tr[data-host="db2"] .launch[data-launch="connecting"]')
  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no CSP violation')
})
