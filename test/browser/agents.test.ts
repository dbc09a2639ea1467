import t from 'tap'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { browserReady, launchBrowser, watchPage } from './browser.js'

// Loopback addresses 127.62.0.x belong to this file (browser tests use 60-69).
const NET = 62

t.test('the agents view flags an agent that does not run on its inventory address, and the run says why', async (t) => {
  if (!browserReady(t)) return
  const hosts = demoHosts(NET)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true })
  // The join command of db2 run on the node of another address.
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? `127.${NET}.0.25` : h.address })))
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  const origin = new URL(c.httpUrl as string).origin
  const watch = watchPage(page, origin)
  await page.goto(`${c.httpUrl as string}#token=${TOKEN}`)
  await page.click('.view-btn[data-view="agents"]')
  await page.waitForSelector('.agents-table tr[data-host="db2"][data-placement="misplaced"]')
  t.match(await page.textContent('.agents-table tr[data-host="db2"] .placement-warning'),
    `db2's agent listens and probes on 127.${NET}.0.25 (--bind), not on db2's inventory address 127.${NET}.0.15`, 'the coordinator\'s placement, in the row')
  t.same(await page.locator('.agents-table tr[data-placement]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.host)), ['db2'], 'only db2 is flagged')
  t.match(await page.textContent('#agents-line'), /not at the inventory address: db2/, 'the line under the summary says so too')

  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  t.same(report.agents.misplaced, ['db2'])
  t.ok(report.checks.filter((x) => x.from === 'db2' || x.to === 'db2').every((x) => x.status === 'skipped' || x.reason === 'agent-misplaced'), "every check of db2's is agent-misplaced")
  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no CSP violation')
})
