import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { formatDiffMarkdown, formatDiffTable } from '../src/report/format-diff.js'
import { diffReports } from '../src/report/report-diff.js'
import { failedChecks } from '../src/report/rerun-plan.js'
import { equalsExpected } from './expected-output.js'
import { expectError } from './helpers.js'
import { OUTCOMES, fixtureReport } from './report-fixture.js'

const run = promisify(execFile)

/** The cluster a day later: db1's rules fixed, db4's agent started, the port on db1 freed; lb1 to app1 now dropped. */
async function later (): Promise<Awaited<ReturnType<typeof fixtureReport>>> {
  const outcomes = { ...OUTCOMES }
  delete outcomes['app1>db1 tcp/15432']
  delete outcomes['app2>db1 tcp/15432']
  delete outcomes['db2>db1 udp/15405']
  outcomes['lb1>app1 tcp/18080'] = { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 18080 is silently dropped between lb1 and app1 (this path lost 0% of 24 attempts)' }
  outcomes['db1>db2 tcp/15433'] = { status: 'blocked', reason: 'timeout', detail: 'no answer to 6 attempt(s): TCP 15433 is silently dropped between db1 and db2 (this path lost 0% of 24 attempts)' }
  return await fixtureReport({ id: 'fixrun02', outcomes, missing: [], startedAt: '2026-01-16T09:30:00.000Z' })
}

t.test('diff of two runs: fixed, newly broken, still failing, unchanged', async (t) => {
  const a = await fixtureReport()
  const b = await later()
  const d = diffReports(a, b)
  t.same(d.counts, { 'newly-broken': 1, fixed: 21, 'still-failing': 8, changed: 0, 'only-before': 0, 'only-after': 0, unchanged: 34 })
  t.match(d.changes.find((c) => c.change === 'newly-broken'), { from: 'lb1', to: 'app1', before: { status: 'pass' }, after: { status: 'blocked', reason: 'timeout' }, remedy: /^allow tcp 18080 from 198\.18\.1\.11/ })
  t.match(d.changes.find((c) => c.from === 'db1' && c.to === 'db2' && c.port === 15433), { change: 'still-failing', before: { reason: 'intercepted' }, after: { reason: 'timeout' } }, 'a failure whose reason changed is still failing')
  t.notOk(d.changes.some((c) => c.change === 'unchanged'), 'unchanged checks are counted, not listed')
  equalsExpected(t, formatDiffTable(d), 'diff/fixrun01-fixrun02.txt')
  equalsExpected(t, formatDiffMarkdown(d), 'diff/fixrun01-fixrun02.md')
  equalsExpected(t, JSON.stringify(d, null, 2) + '\n', 'diff/fixrun01-fixrun02.json')
})

t.test('diff against a re-run of the failed checks: what was not re-checked is only counted', async (t) => {
  const a = await fixtureReport()
  const full = await later()
  const keys = new Set(failedChecks(a).map((c) => c.index))
  const b = { ...full, id: 'fixrun03', rerunOf: a.id, checks: full.checks.filter((c) => keys.has(c.index)).map((c, i) => ({ ...c, index: i })) }
  const d = diffReports(a, b)
  t.same(d.counts, { 'newly-broken': 0, fixed: 21, 'still-failing': 8, changed: 0, 'only-before': 35, 'only-after': 0, unchanged: 0 })
  const table = formatDiffTable(d)
  t.match(table, 'not re-checked 35')
  t.notMatch(table, /Only in the first report/, 'not listed one by one')
})

t.test('reports of different catalogs do not compare', async (t) => {
  const a = await fixtureReport()
  const err = await expectError(async () => diffReports(a, { ...a, catalog: 'oakestra' }, { before: 'a.json', after: 'b.json' }))
  t.equal(err.code, 'PC_ERR_REPORT_MISMATCH')
  t.equal(err.message, 'a.json is a report of catalog "demo" and b.json of "oakestra": only reports of one catalog compare')
})

t.test('portcheck diff: exit 1 when something newly broke', async (t) => {
  const dir = t.testdir()
  const [a, b] = [path.join(dir, 'a.json'), path.join(dir, 'b.json')]
  writeFileSync(a, JSON.stringify(await fixtureReport()))
  writeFileSync(b, JSON.stringify(await later()))
  const cli = async (args: string[]): Promise<{ code: number, stdout: string }> => {
    try { return { code: 0, stdout: (await run(process.execPath, ['packages/coordinator/bin/portcheck.js', ...args])).stdout } } catch (err) { return err as { code: number, stdout: string } }
  }
  const forward = await cli(['diff', a, b])
  t.equal(forward.code, 1, 'lb1 to app1 broke')
  equalsExpected(t, forward.stdout, 'diff/fixrun01-fixrun02.txt')
  const md = await cli(['diff', a, b, '--format', 'markdown'])
  equalsExpected(t, md.stdout, 'diff/fixrun01-fixrun02.md')
  const same = await cli(['diff', a, a, '--format', 'json'])
  t.equal(same.code, 0, 'nothing broke')
  const parsed = JSON.parse(same.stdout) as { counts: Record<string, number>, changes: unknown[] }
  t.match(parsed.counts, { unchanged: 35, 'still-failing': 29, fixed: 0, 'newly-broken': 0 }, 'a report against itself: what failed still fails')
  t.equal(parsed.changes.length, 29)
})
