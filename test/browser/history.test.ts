import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { Recorded } from '../../packages/coordinator/src/history/run-history.js'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { demoHosts, startAgents, startCoordinator } from '../support/loopback.js'
import { browserReady, openPage } from './browser.js'

// Loopback addresses 127.64.0.x belong to this file (browser tests use 60-69).
const NET = 64
const VIEWER = 'viewer-token-64-history'
const SCREENSHOT = path.resolve('docs/history.png')

/** Waits for the first complete run started after `ms`. */
async function runStartedAfter (c: Coordinator, seen: Recorded[], ms: number): Promise<Recorded> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = seen.find((x) => x.run.startedAt.getTime() > ms)
    if (r !== undefined) return r
    if (Date.now() > deadline) throw new Error(`no complete run started after ${new Date(ms).toISOString()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('the history view: a timeline of the scheduled runs, each flow\'s state over time, and what changed from one run to the next', async (t) => {
  if (!browserReady(t)) return
  const hosts = demoHosts(NET)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts, requireAuth: true, viewerToken: VIEWER })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.address })))
  const seen: Recorded[] = []
  c.history.on('recorded', (r) => seen.push(r))
  const schedule = c.startSchedule({ everyMs: 2000 })

  // Run 1: everything passes. Run 2: a stray socket holds udp/15405 on db1, so db2 → db1 on the
  // DEMO-05 heartbeat cannot be proven. Run 3: the socket is gone, and it passes again.
  const first = await runStartedAfter(c, seen, 0)
  const stray = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => stray.bind(15405, `127.${NET}.0.14`, resolve))
  const second = await runStartedAfter(c, seen, Date.now())
  await new Promise<void>((resolve) => stray.close(() => resolve()))
  const third = await runStartedAfter(c, seen, Date.now())
  await schedule.stop()
  t.same([first, second, third].map((r) => r.digest.flowWorst.get('DEMO-05')), ['pass', 'inconclusive', 'pass'], 'the coordinator saw DEMO-05 pass, fail to be proven, pass')
  const ids = [first, second, third].map((r) => r.run.id)

  const { page, watch } = await openPage(t, `${c.httpUrl as string}?view=history#token=${VIEWER}`)
  await page.waitForSelector('table.timeline')
  t.equal(await page.getAttribute('.view-btn[data-view="history"]', 'aria-pressed'), 'true', 'the History view, from the address')

  const columns = await page.locator('table.timeline thead th[data-run]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.run))
  t.ok(columns.length >= 3, `${columns.length} runs in the timeline`)
  const at = ids.map((id) => columns.indexOf(id)) as [number, number, number]
  t.ok(at[0] !== -1 && at[0] < at[1] && at[1] < at[2], 'one column per run, oldest on the left')
  const state = async (flow: string): Promise<Array<string | undefined>> => {
    const cells = await page.locator(`table.timeline tr[data-flow="${flow}"] td`).evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.status))
    return at.map((i) => cells[i])
  }
  t.same(await state('DEMO-05'), ['pass', 'inconclusive', 'pass'], 'DEMO-05 (db mesh): pass, inconclusive, pass')
  t.same(await state('DEMO-03'), ['pass', 'pass', 'pass'], 'DEMO-03 (app → db): pass throughout')
  t.same(await state('DEMO-01'), ['skipped', 'skipped', 'skipped'], 'DEMO-01 (from users, external): skipped')
  t.same(await state('DEMO-06'), ['skipped', 'skipped', 'skipped'], 'DEMO-06 (optional, not included): skipped')
  t.match(await page.textContent('table.timeline caption'), /complete runs \(every 2s\)/)
  const head = page.locator(`table.timeline thead th[data-run="${ids[1] as string}"] button`)
  t.match(await head.getAttribute('aria-label'), /\(scheduled\): Inconclusive, 0 required checks blocked, 1 inconclusive, \d+ passed; 1 changed since the run before/, 'each column says its verdict and counts')

  // The newest run is picked at first; the second run's difference on a click.
  await head.click()
  await page.waitForSelector('#tl-diff .tl-newlyInconclusive')
  t.match(await page.textContent('#tl-diff .tl-diff-sub'), /compared with the run of [\d:]+: 1 no longer proven/)
  t.match(await page.textContent('#tl-diff .tl-flows'), /DEMO-05 db → db 15405\/udp: 1 host pair/)
  t.match(await page.textContent('#tl-diff .tl-checks'), /db2 → db1 15405\/udp.*pass → .*inconclusive \(port-in-use\)/s)
  t.equal(await page.getAttribute(`table.timeline thead th[data-run="${ids[1] as string}"] button`, 'aria-pressed'), 'true')
  const shotFile = process.env.UPDATE_SCREENSHOTS === '1' ? SCREENSHOT : path.join(t.testdir(), 'history.png')
  await page.screenshot({ path: shotFile })
  t.ok(readFileSync(shotFile).length > 10_000, `screenshot written to ${shotFile}`)

  await page.click(`table.timeline thead th[data-run="${ids[2] as string}"] button`)
  await page.waitForSelector('#tl-diff .tl-fixed')
  t.match(await page.textContent('#tl-diff .tl-fixed'), /Fixed: 1.*DEMO-05 db → db 15405\/udp: 1 host pair.*db2 → db1 15405\/udp.*inconclusive \(port-in-use\) → .*pass/s)
  await page.click(`table.timeline thead th[data-run="${ids[0] as string}"] button`)
  await page.waitForFunction((id) => document.querySelector(`th[data-run="${id}"] button`)?.getAttribute('aria-pressed') === 'true', ids[0])
  if (columns.indexOf(ids[0] as string) === 0) {
    // The timeline is drawn first, the difference box filled after: wait for its text.
    await page.waitForFunction(() => /nothing before it/.test(document.querySelector('#tl-diff')?.textContent ?? ''), undefined, { timeout: 5000 }).catch(() => {})
    t.match(await page.textContent('#tl-diff'), /The first complete run: nothing before it to compare with/)
  }

  t.same(watch.errors, [], 'no script error')
  t.same(watch.cspViolations, [], 'no Content-Security-Policy violation')
  t.same(watch.foreignRequests, [], 'nothing loaded from outside the coordinator')
})
