import net from 'node:net'
import dgram from 'node:dgram'
import t, { type Test } from 'tap'
import type { CheckReport } from '../../packages/coordinator/src/report/report.js'
import { demoHosts, startAgents, startCoordinator } from '../support/loopback.js'

const CATALOG = 'examples/demo/catalog.yaml'
const key = (c: CheckReport): string => `${c.from ?? '-'}>${c.to ?? '-'} ${c.protocol}/${c.port}`

async function tcpServer (t: Test, host: string, port: number, onConn: (s: net.Socket) => void): Promise<net.Server> {
  // A prober may reset the connection (it closes with unread data): that is no error of the test.
  const server = net.createServer((s) => { s.on('error', () => {}); onConn(s) })
  await new Promise<void>((resolve) => server.listen({ host, port }, resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return server
}

async function udpSocket (t: Test, host: string, port: number, onMessage?: (msg: Buffer, rinfo: dgram.RemoteInfo, s: dgram.Socket) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  if (onMessage !== undefined) s.on('message', (m, r) => onMessage(m, r, s))
  await new Promise<void>((resolve) => s.bind(port, host, resolve))
  t.teardown(() => new Promise<void>((resolve) => s.close(() => resolve())))
  return s
}

t.test('every check passes between agents on distinct loopback addresses', async (t) => {
  const hosts = demoHosts(31)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.address })))
  const run = c.startRun({ includeOptional: true, timeoutMs: 1500 })
  const report = await c.runs.wait(run)
  const tested = report.checks.filter((x) => x.status !== 'skipped')
  t.equal(tested.length, 18, '14 required + 4 optional checks tested')
  for (const check of tested) {
    t.match(check, { status: 'pass', reason: null, observedSource: check.fromAddress, attempts: Number }, key(check))
    t.ok(typeof check.latencyMs === 'number' || check.protocol === 'udp', `${key(check)} has a latency`)
    if (check.protocol === 'udp') t.equal(check.echo, 'ours', `${key(check)} echo came back`)
  }
  t.same(report.checks.filter((x) => x.status === 'skipped').map((x) => x.reason), ['external'])
  t.match(report, { verdict: 'pass', exitCode: 0, state: 'done', summary: { checks: 19, pass: 18, skipped: 1, blocked: 0, inconclusive: 0 } })

  // Nothing is left listening once the run is over.
  for (const check of tested) {
    if (check.protocol !== 'tcp') continue
    const err = await new Promise<string | null>((resolve) => {
      const s = net.connect({ host: check.toAddress as string, port: check.port })
      s.once('connect', () => { s.destroy(); resolve(null) })
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    })
    t.equal(err, 'ECONNREFUSED', `${check.toAddress as string}:${check.port} closed after the run`)
  }
})

t.test('refused and intercepted, produced with plain sockets', async (t) => {
  // db2 is reached through NAT at 127.32.0.15 (nat: true), but its agent listens on 127.32.0.25:
  // nothing of ours is at .15. On tcp/15432 a plain server answers in its place (intercepted);
  // on udp/15405 a plain socket replies with something else; every other port there refuses.
  const hosts = demoHosts(32).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  await tcpServer(t, '127.32.0.15', 15432, (s) => { s.on('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')); s.on('error', () => {}) })
  await udpSocket(t, '127.32.0.15', 15405, (m, r, s) => s.send('NOPE', r.port, r.address))
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? '127.32.0.25' : h.address })))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  const by = new Map(report.checks.map((x) => [key(x), x]))
  t.match(by.get('app1>db2 tcp/15432'), { status: 'blocked', reason: 'intercepted', echo: 'other' })
  t.match(by.get('app2>db2 tcp/15432'), { status: 'blocked', reason: 'intercepted' })
  t.match(by.get('db1>db2 udp/15405'), { status: 'blocked', reason: 'intercepted', echo: 'other' })
  t.match(by.get('db1>db2 tcp/15433'), { status: 'blocked', reason: 'refused' }, 'TCP RST')
  // Probes from db2 leave from 127.32.0.25: they pass, with the address mismatch reported.
  t.match(by.get('db2>db1 tcp/15433'), { status: 'pass', observedSource: '127.32.0.25', notes: [/not 127\.32\.0\.15: NAT or another interface/] })
  t.match(by.get('db2>db1 udp/15405'), { status: 'pass', observedSource: '127.32.0.25' })
  const others = report.checks.filter((x) => x.status !== 'skipped' && x.to !== 'db2' && x.from !== 'db2')
  t.ok(others.length > 0 && others.every((x) => x.status === 'pass'), 'checks not touching db2 pass')
  t.match(report, { verdict: 'blocked', exitCode: 1, required: { blocked: 4 } })
})

t.test('UDP to a closed port on a host is refused (ICMP port unreachable)', async (t) => {
  const hosts = demoHosts(33).map((h) => h.name === 'db2' ? { ...h, nat: true } : h)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? '127.33.0.25' : h.address })))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  const by = new Map(report.checks.map((x) => [key(x), x]))
  t.match(by.get('db1>db2 udp/15405'), { status: 'blocked', reason: 'refused', detail: /ICMP port unreachable/ })
})

t.test('an agent that does not run on its inventory address proves nothing, and is given nothing to do', async (t) => {
  // The join command of db2 run on another node: its agent is bound to 127.36.0.25, not db2's 127.36.0.15.
  const hosts = demoHosts(36)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const stray = await tcpServer(t, '127.36.0.15', 15432, (s) => { s.on('data', () => s.end('HTTP/1.0 400 Bad Request\r\n\r\n')); s.on('error', () => {}) })
  let strayConnections = 0
  stray.on('connection', () => { strayConnections++ })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.name === 'db2' ? '127.36.0.25' : h.address })))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  const db2 = report.checks.filter((x) => (x.from === 'db2' || x.to === 'db2') && x.status !== 'skipped')
  t.equal(db2.length, 6, "db2's checks: app1/app2 to it, and the db mesh both ways")
  for (const check of db2) {
    t.match(check, { status: 'inconclusive', reason: 'agent-misplaced', detail: /db2's agent listens and probes on 127\.36\.0\.25 \(--bind\), not on db2's inventory address 127\.36\.0\.15/, attempts: null }, key(check))
  }
  t.equal(strayConnections, 0, 'no probe was sent to db2')
  t.same(report.agents.misplaced, ['db2'])
  const others = report.checks.filter((x) => x.status !== 'skipped' && x.to !== 'db2' && x.from !== 'db2')
  t.ok(others.length > 0 && others.every((x) => x.status === 'pass'), 'checks not touching db2 pass')
  t.match(report, { verdict: 'inconclusive', exitCode: 3 })
})

t.test('ports held by another process', async (t) => {
  const hosts = demoHosts(34)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  await udpSocket(t, '127.34.0.14', 15405)
  // resume(): read what comes, so the holder also sees the prober close and lets go.
  await tcpServer(t, '127.34.0.14', 15433, (s) => { s.resume(); s.end() })
  await startAgents(t, c, hosts.map((h) => ({ name: h.name, bind: h.address })))
  const report = await c.runs.wait(c.startRun({ timeoutMs: 1000 }))
  const by = new Map(report.checks.map((x) => [key(x), x]))
  t.match(by.get('db2>db1 udp/15405'), { status: 'inconclusive', reason: 'port-in-use', attempts: null }, 'UDP: cannot be proven, not probed')
  t.match(by.get('db2>db1 tcp/15433'), { status: 'pass', reason: 'existing-listener' }, 'TCP: the connection to the holder completed')
  t.match(report, { verdict: 'inconclusive', exitCode: 3 })
})

t.test('a host whose agent never joins, and one that leaves mid-run', async (t) => {
  const hosts = demoHosts(35)
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts })
  const agents = await startAgents(t, c, hosts.filter((h) => h.name !== 'db2').map((h) => ({ name: h.name, bind: h.address })))
  // app2 leaves while the run is opening its listeners.
  const run = c.startRun({ timeoutMs: 3000 })
  const app2 = agents.find((a) => a.name === 'app2')
  run.on('state', (s) => { if (s === 'preparing') void app2?.close() })
  const started = Date.now()
  const report = await c.runs.wait(run)
  t.ok(Date.now() - started < 5000, 'the run finishes on time, without waiting for the lost agent')
  const by = new Map(report.checks.map((x) => [key(x), x]))
  for (const k of ['app1>db2 tcp/15432', 'app2>db2 tcp/15432', 'db1>db2 tcp/15433', 'db2>db1 udp/15405']) {
    t.match(by.get(k), { status: 'inconclusive', reason: 'agent-missing' }, k)
  }
  const touchingApp2 = report.checks.filter((x) => (x.from === 'app2' || x.to === 'app2') && x.status !== 'skipped' && x.to !== 'db2')
  t.equal(touchingApp2.length, 6, 'lb1>app2, app2>db1, and app1<>app2 on tcp and udp both ways')
  t.same(touchingApp2.filter((x) => !(x.status === 'inconclusive' && x.reason === 'agent-lost')).map((x) => `${key(x)} ${x.status ?? ''} ${x.reason ?? ''}`), [], 'every app2 check is agent-lost')
  t.same(report.agents.missing, ['db2'])
  t.same(report.agents.lost, ['app2'])
  t.equal(report.verdict, 'inconclusive')
})
