import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { cli, startCli } from '../support/cli.js'
import { parseMetrics, sampleValue } from '../support/metrics-text.js'

// The coordinator's state of these tests, never the user's ~/.portcheck.
const STATE = mkdtempSync(path.join(tmpdir(), 'portcheck-every-state-'))
t.teardown(() => rmSync(STATE, { recursive: true, force: true }))
const env = { PORTCHECK_STATE_DIR: STATE }

function inventory (dir: string): string {
  const file = path.join(dir, 'hosts.yaml')
  // Addresses 127.84.0.x belong to this file; no agent ever joins them.
  writeFileSync(file, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: app1, address: 127.84.0.12, roles: [app] }\n  - { name: db1, address: 127.84.0.14, roles: [db] }\n`)
  return file
}

t.test('bad --every, --keep-checks, --notify-url, --notify-header and --metrics-listen: exit 2, saying what is wrong', async (t) => {
  const inv = inventory(t.testdir())
  const cases: Array<[string[], RegExp]> = [
    [['--every', '5'], /--every "5": expected a duration such as 30s, 5m, 1h or 1h30m/],
    [['--every', '1.5h'], /--every "1.5h": expected a duration/],
    [['--every', '0s'], /--every "0s": expected a duration .*from 1s to 7 days/],
    [['--every', '5 m'], /--every "5 m"/],
    [['--every', '200h'], /--every "200h"/],
    [['--keep-checks', '0'], /--keep-checks 0: expected a whole number of checks/],
    [['--notify-url', 'ftp://hooks.example/x'], /--notify-url "ftp:\/\/hooks.example\/x": only http:\/\/ and https:\/\/ URLs are posted to, not ftp:/],
    [['--notify-url', 'hooks.example/x'], /--notify-url "hooks.example\/x": not a URL/],
    [['--notify-url', 'https://bob:secret@hooks.example/x'], /a user name or password in the URL would be written to the log/],
    [['--notify-header', 'Authorization Bearer x'], /--notify-header "Authorization Bearer x": expected "Name: value"/],
    [['--notify-header', 'Host: evil.example'], /--notify-header "Host: …": Host is set by the request itself/],
    [['--metrics-listen', 'nope'], /--metrics-listen nope: expected HOST:PORT/]
  ]
  for (const [args, message] of cases) {
    const r = await cli(['serve', '-i', inv, '--insecure', '--listen', '127.0.0.1:0', ...args], { env })
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.stderr, message, `${args.join(' ')}: the message says what is wrong`)
    t.notOk(r.stderr.includes('secret'), 'a password given in the URL is not repeated')
    t.equal(r.stdout, '')
  }
})

t.test('serve --every 1s: scheduled runs, metrics on --metrics-listen without a token, and Ctrl-C stops it cleanly', async (t) => {
  const inv = inventory(t.testdir())
  const p = startCli(['serve', '-i', inv, '--insecure', '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--every', '1s', '--token', 'every-token', '--log-format', 'json'], env)
  t.teardown(() => { p.child.kill('SIGKILL') })
  const metricsUrl = (await p.waitFor(/Metrics \(no token\): (http:\/\/127\.0\.0\.1:\d+\/metrics)/))[1] as string
  await p.waitFor(/"msg":"checking the whole matrix every 1s"/)
  // No agent joins: the first run starts after one period, and each finds both agents missing.
  await p.waitFor(/"msg":"run finished"[^\n]*\n(.*\n)*.*"msg":"run finished"/, 15_000)
  const res = await request(metricsUrl)
  t.equal(res.statusCode, 200, 'metrics without a token on --metrics-listen')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const m = parseMetrics(await res.body.text())
  t.ok((sampleValue(m, 'portcheck_runs_total', { verdict: 'inconclusive' }) ?? 0) >= 2, 'two runs or more, inconclusive: no agent joined')
  t.equal(sampleValue(m, 'portcheck_agents_connected'), 0)
  t.same(['app1', 'db1'].map((host) => sampleValue(m, 'portcheck_agent_up', { host })), [0, 0], 'one series per inventory host')
  const other = await request(metricsUrl.replace('/metrics', '/api/runs'))
  t.equal(other.statusCode, 404, 'nothing but the metrics on that address')
  await other.body.dump()
  const post = await request(metricsUrl, { method: 'POST', body: '' })
  t.equal(post.statusCode, 405)
  await post.body.dump()
  const port = Number(new URL(metricsUrl).port)

  p.child.kill('SIGINT')
  t.equal(await p.exited, 0, 'Ctrl-C: exit 0, as serve always did')
  t.match(p.stderr(), /portcheck: stopping; closing every listener on the agents…/)
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.ok(refused, 'the metrics listener is closed')
  t.notOk(p.stderr().includes('"level":50'), 'no error logged')
})

t.test('--metrics-listen on an address in use: exit 2, naming that option and what to do', async (t) => {
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve))
  t.teardown(() => holder.close())
  const { port } = holder.address() as net.AddressInfo
  const r = await cli(['serve', '-i', inventory(t.testdir()), '--insecure', '--listen', '127.0.0.1:0', '--metrics-listen', `127.0.0.1:${port}`], { env })
  t.equal(r.code, 2)
  t.match(r.stderr, `portcheck: PC_ERR_LISTEN: cannot listen on 127.0.0.1:${port} (--metrics-listen): listen EADDRINUSE`)
  t.match(r.stderr, /choose another port with --metrics-listen HOST:PORT \(port 0 picks a free one\)/)
  t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace')
})
