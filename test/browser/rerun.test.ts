import dgram from 'node:dgram'
import t from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import type { RerunDifferenceResponse } from '../../packages/coordinator/src/server/api-types.js'
import { get, waitForShownRun } from '../support/dashboard-page.js'
import { demoHosts, startAgents, startCoordinator, TOKEN } from '../support/loopback.js'
import { browserReady, openPage } from './browser.js'

// Loopback addresses 127.67.0.x belong to this file (browser tests use 60-69). db2 is reached
// through NAT at .15, but the NAT forwards nothing to its agent on .25: every flow to db2 is
// refused, in both runs. A stray socket holds udp/15405 on db1 in the first run only, so the
// re-run finds db2 → db1 on it fixed.
const NET = 67

t.test('a re-run in the dashboard: labelled as one in the run picker, with its difference to the run it repeats', async (t) => {
  if (!browserReady(t)) return
  const hosts = demoHosts(NET).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? `127.${NET}.0.25` : h.address })))
  const stray = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => stray.bind(15405, `127.${NET}.0.14`, resolve))
  const first: RunReport = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  await new Promise<void>((resolve) => stray.close(() => resolve()))
  const failed = first.checks.filter((x) => x.status === 'blocked' || x.status === 'inconclusive')
  const blocked = failed.filter((x) => x.status === 'blocked')
  t.ok(blocked.length > 0 && blocked.every((x) => x.to === 'db2'), `${blocked.length} checks to db2 blocked`)
  t.same(first.checks.filter((x) => x.status === 'inconclusive').map((x) => `${x.from ?? ''}>${x.to ?? ''} ${x.protocol}/${x.port} ${x.reason ?? ''}`), ['db2>db1 udp/15405 port-in-use'])

  const { page, watch } = await openPage(t, `${c.httpUrl as string}#token=${TOKEN}`)
  t.equal(await waitForShownRun(page, first.id), first.id)
  t.ok(await page.isHidden('#rerun-diff'), 'a run that is not a re-run: no difference in the summary')
  t.notMatch(await page.locator('#run-select option:checked').textContent(), /re-run/, 'nor a re-run label')

  await page.click('#rerun-failed')
  await page.waitForFunction((id) => (document.getElementById('run-select') as HTMLSelectElement).value !== id, first.id)
  const rerunId = await waitForShownRun(page)
  const rerun = c.runs.get(rerunId)
  t.equal(rerun?.rerunOf, first.id, 'the page shows the re-run')

  const when = await page.evaluate((at) => new Date(at).toLocaleTimeString('en-GB'), first.startedAt)
  t.match(await page.locator('#run-select option:checked').textContent(), new RegExp(`^[\\d:]+ · re-run of ${when} · ✘ blocked · ${failed.length} checks \\(latest\\)$`), 'the picker labels it a re-run of the first run, by that run\'s start')
  t.notMatch(await page.locator(`#run-select option[value="${first.id}"]`).textContent(), /re-run/, 'the first run is not labelled one')

  const api = await get<RerunDifferenceResponse>(c, `/api/runs/${rerunId}/difference`)
  t.match(api.difference.counts, { fixed: 1, 'still-failing': blocked.length, 'newly-broken': 0 })
  await page.waitForSelector('#rerun-diff .rerun-count')
  const counts = Object.fromEntries(await page.locator('#rerun-diff .rerun-count').evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.change, Number((e as HTMLElement).dataset.count)])))
  t.same(counts, { fixed: 1, 'still-failing': blocked.length, 'newly-broken': 0 }, 'the summary counts fixed, still failing and newly broken, as the API says')
  t.match(await page.textContent('#rerun-diff .rerun-diff-sub'), `Re-run of the run of ${when} (${failed.length} of its ${first.checks.length} checks): 1 fixed · ${blocked.length} still failing · 0 newly broken`)

  await page.click('#rerun-diff summary')
  const fixed = await page.locator('#rerun-diff li[data-change="fixed"]').allTextContents()
  t.equal(fixed.length, 1)
  t.match(fixed[0], /db2 → db1\s*15405\/udp\s*.*inconclusive \(port-in-use\).*→.*pass/, 'the fixed check, with what it was and is')
  const still = page.locator('#rerun-diff li[data-change="still-failing"]')
  t.equal(await still.count(), blocked.length, 'every check still failing is listed')
  t.match(await still.first().textContent(), /→ db2.*blocked \(refused\).*→.*blocked \(refused\).*to fix: allow /, 'each with its fix')

  await page.selectOption('#run-select', first.id)
  await page.waitForFunction(() => (document.getElementById('rerun-diff') as HTMLElement).hidden)
  t.pass('picking the first run hides the difference')
  await page.selectOption('#run-select', rerunId)
  await page.waitForSelector('#rerun-diff .rerun-count')
  t.equal(await page.locator('#rerun-diff .rerun-count[data-change="fixed"]').getAttribute('data-count'), '1', 'and picking the re-run shows it again')

  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no Content-Security-Policy violation')
  t.same(watch.consoleErrors, [], 'no console error')
})
