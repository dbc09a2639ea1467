import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { loadOrCreateTls } from '../../packages/coordinator/src/security/state-dir.js'
import { havePromtool, promtool } from '../support/promtool.js'
import { demoHosts, startCoordinator } from '../support/loopback.js'
import { SwitchedAgents } from '../support/switched-agents.js'

// The Prometheus files the guide gives (examples/prometheus/): promtool accepts them, the alerts
// fire as their unit tests say, they name only metrics the coordinator serves, and the guide
// shows them as they are. The namespace lab runs them in a real Prometheus (test/lab/continuous.test.ts).
const DIR = 'examples/prometheus'
const GUIDE = 'docs/guide/continuous-checks.md'

t.test('promtool: the rules check, their unit tests pass, the scrape config checks', async (t) => {
  if (!havePromtool(t)) return
  const rules = await promtool(['check', 'rules', path.join(DIR, 'portcheck-alerts.yml')])
  t.equal(rules.code, 0, rules.out)
  t.match(rules.out, /SUCCESS: 5 rules found/)
  const tests = await promtool(['test', 'rules', path.join(DIR, 'portcheck-alerts.test.yml')])
  t.equal(tests.code, 0, tests.out)
  t.match(tests.out, /SUCCESS/)
  // promtool checks that the files a config names exist: in a copy, they do.
  const dir = t.testdir()
  const token = path.join(dir, 'viewer-token')
  // The certificate a coordinator makes in its state directory, as the guide says to copy it.
  await loadOrCreateTls(dir, ['localhost', '127.0.0.1'])
  const cert = path.join(dir, 'tls', 'cert.pem')
  writeFileSync(token, 'viewer\n')
  copyFileSync(path.join(DIR, 'portcheck-alerts.yml'), path.join(dir, 'portcheck-alerts.yml'))
  const config = readFileSync(path.join(DIR, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/portcheck-viewer-token', token).replace('/etc/prometheus/portcheck-cert.pem', cert)
  writeFileSync(path.join(dir, 'prometheus.yml'), config)
  const checked = await promtool(['check', 'config', path.join(dir, 'prometheus.yml')])
  t.equal(checked.code, 0, checked.out)
  t.match(checked.out, /SUCCESS: 1 rule files found/)
})

t.test('the rules use only metrics the coordinator serves', async (t) => {
  const hosts = demoHosts(85)
  const c = await startCoordinator(t, { catalogFile: 'examples/demo/catalog.yaml', hosts })
  const agents = new SwitchedAgents(c, hosts)
  t.teardown(() => agents.close())
  await agents.joined(c)
  await c.runs.finished(c.startRun())
  const served = new Set([...(await c.metrics.text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
  const used = [...readFileSync(path.join(DIR, 'portcheck-alerts.yml'), 'utf8').matchAll(/\b(portcheck_[a-z_]+)/g)].map((m) => m[1] as string)
  t.ok(used.length >= 4)
  for (const name of new Set(used)) t.ok(served.has(name), `${name} is served`)
})

t.test(`${GUIDE} shows the example files as they are`, async (t) => {
  const lines = readFileSync(GUIDE, 'utf8').split('\n')
  let seen = 0
  for (let i = 0; i < lines.length; i++) {
    const file = /^<!-- file: (\S+) -->$/.exec(lines[i] ?? '')?.[1]
    if (file === undefined) continue
    const end = lines.findIndex((l, j) => j > i + 1 && l === '```')
    t.equal(lines.slice(i + 2, end).join('\n') + '\n', readFileSync(file, 'utf8'), `${GUIDE}:${i + 1}: ${file}`)
    seen++
  }
  t.equal(seen, 2, 'the scrape config and the alert rules')
})
