import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { labReady } from './guard.js'
import { Lab, listNamespaces, sweepStaleNamespaces } from './lab.js'
import { delayUnavailable, lossRuleset } from './netem.js'
import { netnsEtc } from './resolver.js'

// The lab's field conditions measured with real sockets from inside the namespaces. Bands are
// wide on purpose: the machine may have two busy cores, and these tests check that the
// conditions are there, not how precisely they are kept.
const run = promisify(execFile)
const COORD = '198.18.0.1'
const A = '198.18.1.1'
const B = '198.18.1.2'
const PROBE = 'test/lab/net-probe.js'
const HOLDER = 'test/lab/port-holder.js'

async function labWith (t: Test, hosts: Array<[string, string]>): Promise<Lab> {
  const lab = await Lab.create()
  t.teardown(() => lab.destroy())
  for (const [name, address] of hosts) await lab.addHost(name, address)
  return lab
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number

async function handshakes (lab: Lab, from: string, to: string, count: number): Promise<number[]> {
  return JSON.parse(await lab.exec(from, 'node', [PROBE, 'handshakes', to, '9000', String(count)])) as number[]
}

/** Sends `count` datagrams from `from` to `to`; returns how many arrived and how many out of order. */
async function udpRound (lab: Lab, from: string, to: [string, string], count: number): Promise<{ received: number, reordered: number }> {
  const counter = lab.spawn(to[0], 'node', [PROBE, 'udp-count', '9100'])
  await counter.waitFor(/ready/)
  await lab.exec(from, 'node', [PROBE, 'udp-send', to[1], '9100', String(count)])
  // The last datagrams on their way (a delay forwarder may hold a backlog): until all of them
  // are in, or nothing more came for a second (what a lossy path lost), however busy the machine.
  const counted = (): number => Number([...counter.stdout().matchAll(/^count (\d+)$/gm)].at(-1)?.[1] ?? 0)
  let seen = -1
  let quietSince = Date.now()
  for (const end = Date.now() + 30_000; counted() < count && Date.now() - quietSince < 1000 && Date.now() < end;) {
    if (counted() !== seen) { seen = counted(); quietSince = Date.now() }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  counter.child.kill('SIGTERM')
  await counter.exited
  const m = /received (\d+) reordered (\d+)/.exec(counter.stdout())
  if (m === null) throw new Error(`no count from udp-count: ${counter.stdout()} ${counter.stderr()}`)
  return { received: Number(m[1]), reordered: Number(m[2]) }
}

async function forwarders (lab: Lab): Promise<string[]> {
  const { stdout } = await run('pgrep', ['-af', `tun-delay\\.py .* pct${process.pid}-${lab.id}-`]).catch(() => ({ stdout: '' }))
  return stdout.split('\n').filter((l) => l.length > 0)
}

t.test('setDelay: 200 ms each way between a and b is a 400 ms handshake; the coordinator stays near', async (t) => {
  if (!labReady(t, delayUnavailable)) return
  const lab = await labWith(t, [['coord', COORD], ['a', A], ['b', B]])
  const holders = ['coord', 'a', 'b'].map((h) => lab.spawn(h, 'node', [HOLDER, 'tcp:9000']))
  await Promise.all(holders.map((h) => h.waitFor(/ready/)))

  const before = median(await handshakes(lab, 'a', B, 3))
  t.ok(before < 50, `without delay, a→b: ${before.toFixed(1)} ms`)

  await lab.setDelay('a', 200, { to: B })
  await lab.setDelay('b', 200, { to: [`${A}/32`] })
  const ab = await handshakes(lab, 'a', B, 3)
  const ba = await handshakes(lab, 'b', A, 3)
  t.ok(median(ab) >= 395 && median(ab) < 800, `a→b handshake ~400 ms: ${ab.map((x) => x.toFixed(1)).join(', ')}`)
  t.ok(median(ba) >= 395 && median(ba) < 800, `b→a handshake ~400 ms: ${ba.map((x) => x.toFixed(1)).join(', ')}`)
  const near = await handshakes(lab, 'a', COORD, 5)
  const back = await handshakes(lab, 'coord', A, 5)
  t.ok(median(near) < 50, `a→coordinator stays near: ${near.map((x) => x.toFixed(1)).join(', ')}`)
  t.ok(median(back) < 50, `coordinator→a stays near: ${back.map((x) => x.toFixed(1)).join(', ')}`)

  // Thousands of packets a second go through the forwarder, none lost, none out of order.
  const burst = await udpRound(lab, 'a', ['b', B], 3000)
  t.same(burst, { received: 3000, reordered: 0 }, 'every delayed datagram arrives, in order')

  await lab.setDelay('a', 50, { to: '198.18.1.0/24' })
  const replaced = median(await handshakes(lab, 'a', B, 3))
  t.ok(replaced >= 245 && replaced < 600, `setDelay again replaces the delay (50 + 200 ms): ${replaced.toFixed(1)} ms`)
  t.equal((await forwarders(lab)).length, 2, 'one forwarder per delayed host')
  await lab.setDelay('a', 0, { to: B })
  await lab.setDelay('b', 0, { to: A })
  const after = median(await handshakes(lab, 'a', B, 3))
  t.ok(after < 50, `0 removes it: ${after.toFixed(1)} ms`)
  t.same(await forwarders(lab), [], 'and stops the forwarders')

  await t.rejects(lab.setDelay('a', 10, { to: '10.0.0.1' }), /inside 198\.18\.0\.0\/15/, 'no destination outside the lab')
  await t.rejects(lab.setDelay('a', 10, { to: '198.0.0.0/8' }), /inside 198\.18\.0\.0\/15/, 'no CIDR wider than the lab')
})

t.test('setLoss: 200 per mille of what a host sends is lost, except to the addresses spared', async (t) => {
  if (!labReady(t)) return
  const lab = await labWith(t, [['coord', COORD], ['a', A], ['b', B]])

  await lab.setLoss('a', 200)
  const lossy = await udpRound(lab, 'a', ['b', B], 2000)
  const rate = 1 - lossy.received / 2000
  t.ok(rate >= 0.14 && rate <= 0.26, `about 20 % lost: ${(rate * 100).toFixed(1)} % (${2000 - lossy.received} of 2000)`)

  await lab.setLoss('a', 1000, { except: [COORD] })
  t.equal((await udpRound(lab, 'a', ['b', B], 200)).received, 0, 'setLoss again replaces the rate: 1000 per mille loses everything')
  t.equal((await udpRound(lab, 'a', ['coord', COORD], 200)).received, 200, 'but nothing to the excepted coordinator')
  t.equal((await udpRound(lab, 'b', ['a', A], 200)).received, 200, 'and nothing a receives')

  await lab.setLoss('a', 0)
  t.equal((await udpRound(lab, 'a', ['b', B], 500)).received, 500, '0 removes the loss')

  t.match(lossRuleset('vx1', 5, ['198.18.0.1', '2001:2::1']), /ether type arp accept[^]*ip daddr \{ 198\.18\.0\.1 \} accept\n {4}ip6 daddr \{ 2001:2::1 \} accept\n {4}numgen random mod 1000 < 5 drop/, 'IPv4 and IPv6 exceptions, after ARP')
  await t.rejects(lab.setLoss('a', 200, { except: ['192.0.2.1'] }), /must be an address in 198\.18\.0\.0\/15/, 'no exception outside the lab')
  await t.rejects(lab.setLoss('a', 0.5), /integer between 0 and 1000/, 'per mille, whole')
})

t.test('setResolver: names from the host\'s own hosts file; an unreachable nameserver fails the lookup in time', async (t) => {
  if (!labReady(t)) return
  const lab = await labWith(t, [['a', A]])
  const lookup = async (name: string): Promise<{ address?: string, code?: string, ms: number }> => JSON.parse(await lab.exec('a', 'node', [PROBE, 'lookup', name])) as { ms: number }

  await lab.setResolver('a', { hosts: { 'db1.lab.test': '198.18.1.14' }, nameserver: '198.18.0.53', options: ['timeout:1', 'attempts:1'] })
  t.match(await lookup('db1.lab.test'), { address: '198.18.1.14' }, 'a name from the hosts file')
  t.match(await lookup('localhost'), { address: '127.0.0.1' }, 'localhost still resolves')
  const failed = await lookup('nowhere.lab.test')
  t.ok(failed.code === 'EAI_AGAIN' || failed.code === 'ENOTFOUND', `no answer from the nameserver: ${failed.code ?? 'resolved!'}`)
  t.ok(failed.ms < 10_000, `and the lookup gives up (${failed.ms} ms)`)

  await lab.setResolver('a', {})
  t.notOk(existsSync(netnsEtc(lab.host('a').ns)), '{} removes the host\'s own files')
  t.match(await lookup('db1.lab.test'), { code: /^E/ }, 'and the name with them')

  await t.rejects(lab.setResolver('a', { nameserver: '8.8.8.8' }), /the nameserver must be an address in 198\.18\.0\.0\/15/, 'no nameserver outside the lab')
  await t.rejects(lab.setResolver('a', { hosts: { x: '203.0.113.1' } }), /the address of x must be/, 'no host entry outside the lab')
})

t.test('destroy() leaves no namespace, no /etc/netns directory and no forwarder', async (t) => {
  if (!labReady(t, delayUnavailable)) return
  const lab = await labWith(t, [['a', A], ['b', B]])
  await lab.setDelay('a', 100, { to: B })
  await lab.setLoss('b', 100)
  await lab.setResolver('a', { hosts: { b: B } })
  await lab.setResolver('b', { nameserver: '198.18.0.53' })
  const dirs = ['a', 'b'].map((h) => netnsEtc(lab.host(h).ns))
  t.ok(dirs.every((d) => existsSync(d)), 'the hosts have their own /etc files')
  t.equal((await forwarders(lab)).length, 1, 'the forwarder runs')

  await lab.destroy()
  t.same(lab.remainingNamespaces(), [], 'no namespace')
  t.same(dirs.filter((d) => existsSync(d)), [], 'no /etc/netns directory')
  t.same(await forwarders(lab), [], 'no forwarder')
})

t.test('a test process killed outright: its forwarder dies with it, the next lab sweeps the rest', async (t) => {
  if (!labReady(t, delayUnavailable)) return
  const script = `
    import { Lab } from './test/lab/lab.ts'
    const lab = await Lab.create()
    await lab.addHost('a', '${A}')
    await lab.addHost('b', '${B}')
    await lab.setDelay('a', 100, { to: '${B}' })
    await lab.setResolver('a', { hosts: { b: '${B}' } })
    process.stdout.write(JSON.stringify({ ns: lab.host('a').ns }) + '\\n')
    setInterval(() => {}, 1 << 30)`
  const child = spawn('node', ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.once('close', resolve))
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await Promise.race([
    new Promise((resolve) => child.stdout.on('data', () => { if (out.includes('\n')) resolve(null) })),
    exited.then(() => { throw new Error(`the child lab exited early: ${out}`) })
  ])
  const { ns } = JSON.parse(out) as { ns: string }
  const pattern = `tun-delay\\.py .* ${ns}`
  t.ok((await run('pgrep', ['-f', pattern])).stdout.length > 0, 'the killed lab had a forwarder')
  child.kill('SIGKILL')
  await exited
  let alive = true
  for (let i = 0; i < 40 && alive; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    alive = await run('pgrep', ['-f', pattern]).then(() => true, () => false)
  }
  t.notOk(alive, 'the forwarder died with its parent')
  // Test files run in parallel and every new lab sweeps stale namespaces, so another file's lab
  // may already have removed these: what is asserted is that a sweep leaves none of them behind.
  const leftBehind = listNamespaces().includes(ns)
  const removed = sweepStaleNamespaces()
  if (leftBehind) t.ok(removed.includes(ns), 'its namespaces were left behind, until this sweep removed them')
  else t.comment('a concurrent lab swept the killed lab\'s namespaces first')
  t.notOk(listNamespaces().includes(ns), 'no namespace of the killed lab remains')
  t.notOk(existsSync(netnsEtc(ns)), 'and no /etc/netns directory')
  t.notOk(removed.some((n) => n.startsWith(`pct${process.pid}-`)), 'and nothing of a live process')
})

t.test('flood.js holds 1,024 connections to a silent listener', async (t) => {
  if (!labReady(t)) return
  const lab = await labWith(t, [['a', A], ['b', B]])
  const silent = lab.spawn('a', 'node', [HOLDER, 'tcp-silent:9200'])
  await silent.waitFor(/ready/)
  const flood = lab.spawn('b', 'node', ['test/lab/flood.js', A, '9200', '1024'])
  await flood.waitFor(/ready \d+/, 20_000)
  t.match(flood.stdout(), /^ready 1024 made 1024$/m, `all established: ${flood.stdout().trim()} ${flood.stderr().trim()}`)
  const established = (await lab.exec('a', 'ss', ['-Htn', 'state', 'established', '( sport = :9200 )'])).split('\n').filter((l) => l.trim().length > 0)
  t.ok(established.length >= 1024, `the listener holds them: ${established.length}`)

  // The silent listener reads and never answers, never closes.
  const probe = `const s = require('net').connect(9200, '${A}', () => s.write('HELLO?\\n'))
    let got = ''; s.on('data', (d) => { got += d }); s.on('close', () => { console.log('closed'); process.exit() })
    setTimeout(() => { console.log(got === '' ? 'silent' : 'answered'); process.exit() }, 700)`
  t.equal((await lab.exec('b', 'node', ['-e', probe])).trim(), 'silent', 'tcp-silent neither answers nor closes')
})
