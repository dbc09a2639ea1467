import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { DifferenceMessage } from '../../packages/coordinator/src/notify/announce.js'
import { parseMetrics, sampleValue, type Sample } from '../support/metrics-text.js'
import { joinArgs } from '../support/join.js'
import { AGENT_BIN, CLI_BIN, labReady } from './guard.js'
import { Lab, filterRules, listNamespaces, type LabProcess } from './lab.js'

// `portcheck serve --every` left alone in the lab with real agents, as after an install: a
// firewall rule added between two scheduled runs must show up in the log, in /metrics (on the
// --metrics-listen address, and through a real Prometheus that scrapes the API port with the
// viewer token and the state directory's certificate, with the example alert rules), and in a
// webhook; removing it must show it fixed.
const HOSTS: Array<[string, string, string]> = [
  ['lb1', '198.18.81.11', 'lb'],
  ['app1', '198.18.81.12', 'app'],
  ['db1', '198.18.81.14', 'db']
]
const COORD = '198.18.80.1'
const TOKEN = 'lab-continuous-token-3c9d'
const VIEWER = 'lab-continuous-viewer-51e2'
const DB_PORT = { flow: 'DEMO-03', from_role: 'app', to_role: 'db', protocol: 'tcp', port: '15432' }
const PROMETHEUS = '/usr/bin/prometheus'

/** JSON lines a process printed (its log on stderr, or what a helper prints on stdout). */
const jsonLines = (text: string): Array<Record<string, unknown>> => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

async function until<T> (get: () => T | undefined | Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

t.test('namespace lab: serve --every, unattended; a drop rule added between two runs is in the log, the metrics, Prometheus and a webhook, and fixed once removed', async (t) => {
  if (!labReady(t, () => existsSync(PROMETHEUS) ? null : `Prometheus is not installed at ${PROMETHEUS} (Debian package \`prometheus\`)`)) return
  const { lab, dir } = await Lab.forTest(t, 'portcheck-lab-continuous-')
  await lab.addHost('coord', COORD)
  for (const [name, address] of HOSTS) await lab.addHost(name, address)

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
  const hook = lab.spawn('coord', 'node', ['test/lab/webhook-receiver.js', '127.0.0.1', '8088'])
  await hook.waitFor(/listening/)
  const state = path.join(dir, 'state')
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'serve', '--inventory', inventory, '--listen', `${COORD}:7070`, '--token', TOKEN, '--viewer-token', VIEWER,
    '--state-dir', state, '--every', '3s', '--timeout', '1000', '--metrics-listen', '127.0.0.1:9464', '--notify-url', 'http://127.0.0.1:8088/hooks/portcheck', '--log-format', 'json'])
  await coordinator.waitFor(/Metrics \(no token\): http:\/\/127\.0\.0\.1:9464\/metrics/)
  const agents: LabProcess[] = HOSTS.map(([name]) => lab.spawn(name, 'node', [AGENT_BIN, ...joinArgs(coordinator.stderr(), name), '--log-format', 'json']))
  const log = (): Array<Record<string, unknown>> => jsonLines(coordinator.stderr())
  // On failure, the coordinator's last words: what the runs found, and when.
  t.teardown(() => { if (!t.passing()) t.comment(coordinator.stderr().split('\n').slice(-40).join('\n')) })
  const finished = (): Array<Record<string, unknown>> => log().filter((r) => r.msg === 'run finished')
  const scrape = async (): Promise<Sample[]> => {
    const out = await lab.exec('coord', 'node', ['test/lab/http-get.js', 'http://127.0.0.1:9464/metrics'])
    t.equal(out.split('\n')[0], '200')
    return parseMetrics(out.slice(out.indexOf('\n') + 1))
  }

  // A real Prometheus in the coordinator's namespace, with the example scrape config and alert
  // rules: the API port over TLS, the viewer token from a file, the state directory's certificate.
  const prom = path.join(dir, 'prometheus')
  mkdirSync(prom)
  writeFileSync(path.join(prom, 'viewer-token'), VIEWER + '\n')
  writeFileSync(path.join(prom, 'portcheck-alerts.yml'), readFileSync('examples/prometheus/portcheck-alerts.yml'))
  const config = readFileSync('examples/prometheus/prometheus.yml', 'utf8')
    .replace(/scrape_interval: 30s/, 'scrape_interval: 1s').replace(/evaluation_interval: 30s/, 'evaluation_interval: 1s')
    .replace('/etc/prometheus/portcheck-viewer-token', path.join(prom, 'viewer-token'))
    .replace('/etc/prometheus/portcheck-cert.pem', path.join(state, 'tls', 'cert.pem'))
    .replace("'10.0.0.5:7070'", `'${COORD}:7070'`)
  t.notOk(config.split('\n').some((l) => !l.trim().startsWith('#') && /10\.0\.0\.5|\/etc\/prometheus/.test(l)), 'the example config, pointed at the lab')
  writeFileSync(path.join(prom, 'prometheus.yml'), config)
  const prometheus = lab.spawn('coord', PROMETHEUS, [`--config.file=${path.join(prom, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(prom, 'data')}`, '--web.listen-address=127.0.0.1:9090'])
  const query = async (api: string): Promise<unknown> => {
    const out = await lab.exec('coord', 'node', ['test/lab/http-get.js', `http://127.0.0.1:9090${api}`])
    return (JSON.parse(out.slice(out.indexOf('\n') + 1)) as { data: unknown }).data
  }

  // Every flow passes first, run after run, with nobody watching.
  const passed = await until(() => finished().find((r) => r.verdict === 'pass'), 'a scheduled run that passes')
  t.match(passed, { verdict: 'pass', blocked: 0 }, 'the first scheduled runs pass')
  let m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 0, 'metrics: DEMO-03 tcp/15432 tested, 0 pairs blocked')
  t.equal(sampleValue(m, 'portcheck_agents_connected'), 3)
  t.same(HOSTS.map(([h]) => sampleValue(m, 'portcheck_agent_up', { host: h })), [1, 1, 1])

  // Prometheus scrapes the API port through TLS with the viewer token, and has seen the
  // regression counter at 0 (a counter first seen at 1 would show no increase).
  const targets = await until(async () => {
    const d = await query('/api/v1/targets') as { activeTargets: Array<{ health: string, lastError: string, scrapeUrl: string }> }
    return d.activeTargets.find((x) => x.health === 'up')
  }, 'Prometheus scraping the coordinator', 30_000)
  t.match(targets, { scrapeUrl: `https://${COORD}:7070/metrics`, lastError: '' }, 'Prometheus scrapes https://…/metrics, the certificate and the token accepted')
  await until(async () => {
    const d = await query(`/api/v1/query?query=${encodeURIComponent('portcheck_flow_regressions_total{flow="DEMO-03",port="15432"}')}`) as { result: Array<{ value: [number, string] }> }
    return d.result[0]?.value[1] === '0' ? true : undefined
  }, 'Prometheus seeing the regression counter at 0', 30_000)

  // A firewall change on db1, between two scheduled runs: tcp/15432 dropped.
  const before = finished().length
  await lab.nft('db1', filterRules('input', '    tcp dport 15432 drop'))
  const regression = await until(() => log().find((r) => typeof r.msg === 'string' && r.msg.startsWith('regression: ')), 'the regression warning')
  t.match(regression, { level: 40, msg: /^regression: app1 → db1 tcp\/15432 \(flow DEMO-03, app → db\) passed in run \S+ and is blocked now \(timeout\)$/, flow: ['DEMO-03'], from: 'app1', to: 'db1', protocol: 'tcp', port: 15432 }, 'a warning names the flow, the hosts, the protocol and the port')
  t.ok(finished().length > before, 'found by a scheduled run')
  m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 1, 'metrics: 1 pair of DEMO-03 tcp/15432 blocked')
  t.equal(sampleValue(m, 'portcheck_flow_regressions_total', DB_PORT), 1, 'and 1 regression counted')
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', { flow: 'DEMO-02' }), 0, 'lb → app still open')

  const posts = (): Array<{ status: number, contentType: string | null, authorization: string | null, body: DifferenceMessage }> => jsonLines(hook.stdout()) as never
  const blockedMsg = await until(() => posts().find((p) => p.status === 204 && p.body.counts.newlyBlocked > 0), 'the webhook of the regression', 30_000)
  t.equal(posts()[0]?.status, 503, 'the first POST met a 503, and was retried')
  t.match(blockedMsg, { contentType: 'application/json', authorization: null, body: { type: 'portcheck.difference', catalog: 'demo', counts: { newlyBlocked: 1, fixed: 0 }, after: { verdict: 'blocked' } } })
  t.match(blockedMsg.body.newlyBlocked, [{ from: 'app1', to: 'db1', protocol: 'tcp', port: 15432, flowIds: ['DEMO-03'], before: { status: 'pass' }, after: { status: 'blocked', reason: 'timeout' }, remedy: 'allow tcp 15432 from 198.18.81.12 to 198.18.81.14' }], 'the webhook names the check, what it was and what it is')

  // Prometheus saw it through TLS with the viewer token, and the example alerts fire.
  const value = await until(async () => {
    const d = await query(`/api/v1/query?query=${encodeURIComponent('portcheck_flow_blocked_pairs{flow="DEMO-03",port="15432"}')}`) as { result: Array<{ value: [number, string] }> }
    return d.result[0]?.value[1] === '1' ? '1' : undefined
  }, 'Prometheus seeing the blocked pair', 30_000)
  t.equal(value, '1', 'Prometheus: portcheck_flow_blocked_pairs{flow="DEMO-03",port="15432"} 1')
  let lastRules: unknown = null
  t.teardown(() => { if (!t.passing()) t.comment(JSON.stringify(lastRules).slice(0, 3000)) })
  const alerts = await until(async () => {
    lastRules = await query('/api/v1/rules')
    const d = await query('/api/v1/alerts') as { alerts: Array<{ labels: Record<string, string>, state: string }> }
    const names = new Set(d.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname))
    return names.has('PortcheckFlowBlocked') && names.has('PortcheckRegression') ? d.alerts : undefined
  }, 'the example alerts firing', 30_000)
  t.match(alerts.find((a) => a.labels.alertname === 'PortcheckFlowBlocked'), { labels: { flow: 'DEMO-03', port: '15432', from_role: 'app', to_role: 'db', severity: 'critical' }, state: 'firing' }, 'PortcheckFlowBlocked fires for DEMO-03 tcp/15432')

  // The rule removed: the next runs pass again, and say so.
  await lab.exec('db1', 'nft', ['delete', 'table', 'inet', 'pctest'])
  const fixedMsg = await until(() => posts().find((p) => p.status === 204 && p.body.counts.fixed > 0), 'the webhook of the fix', 30_000)
  t.match(fixedMsg.body, { counts: { newlyBlocked: 0, fixed: 1 }, fixed: [{ from: 'app1', to: 'db1', port: 15432, before: { status: 'blocked' }, after: { status: 'pass' } }], after: { verdict: 'pass' } }, 'the webhook says it is fixed')
  t.ok(log().some((r) => r.level === 30 && typeof r.msg === 'string' && /^fixed: 1 check\(s\) that failed in run \S+ pass now$/.test(r.msg)), 'so does the log')
  m = await scrape()
  t.equal(sampleValue(m, 'portcheck_flow_blocked_pairs', DB_PORT), 0, 'metrics: no pair blocked')
  t.equal(sampleValue(m, 'portcheck_flow_regressions_total', DB_PORT), 1, 'the regression stays counted')
  t.same(log().filter((r) => r.level === 50), [], 'no error in the coordinator\'s log')
  t.notOk(coordinator.stderr().split('\n').filter((l) => l.startsWith('{')).some((l) => l.includes(TOKEN) || l.includes(VIEWER)), 'no token in the log')

  // Ctrl-C: the schedule stops, the run in progress (if any) closes its listeners, exit 0.
  prometheus.child.kill('SIGTERM')
  coordinator.child.kill('SIGINT')
  t.equal(await coordinator.exited, 0, 'serve exits 0 on Ctrl-C')
  for (const [i, [name]] of HOSTS.entries()) {
    const pid = (agents[i] as LabProcess).child.pid as number
    t.same((await lab.sockets(name)).filter((l) => l.includes(`pid=${pid},`)), [], `${name}: no listener left open`)
  }
  await lab.destroy()
  t.notOk(listNamespaces().some((n) => n.includes(lab.id)), 'no namespace left behind')
})
