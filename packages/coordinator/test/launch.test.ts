import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import pino from 'pino'
import type { InventoryHost } from '@portcheck/protocol'
import { loadCatalog } from '../src/catalog/load-catalog.js'
import { launchText } from '../src/cli/launch-status.js'
import { LaunchBoard } from '../src/hub/launch-board.js'
import type { LaunchState } from '../src/hub/launch-info.js'
import type { LaunchFiles } from '../src/launch/launch-files.js'
import { agentUrlFor } from '../src/launch/agent-url.js'
import { HostLaunch } from '../src/launch/host-launch.js'
import { nodeCanRunAgent, nodePlatform, parseRemoteLine } from '../src/launch/launch-protocol.js'
import { launchAgents, launchOverSsh } from '../src/launch/launcher.js'
import { cleanLine, lineSplitter } from '../src/launch/line-splitter.js'
import { BOOTSTRAP } from '../src/launch/remote-script.js'
import { sshArgs } from '../src/launch/ssh-args.js'
import { buildCoordinator } from '../src/server/coordinator.js'

const logger = pino({ level: 'silent' })
const HOST: InventoryHost = { name: 'db1', address: '198.18.7.21', roles: ['db'] }

t.test('ssh arguments: the inventory\'s settings, ssh\'s own defaults otherwise, never a prompt, and -- before the destination', async (t) => {
  const common = ['-T', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=3', '-o', 'ForwardAgent=no', '-o', 'ForwardX11=no', '-o', 'ClearAllForwardings=yes']
  t.same(sshArgs(HOST, {}), [...common, '--', '198.18.7.21', BOOTSTRAP], 'nothing set: ssh\'s configuration decides')
  t.same(sshArgs(HOST, { user: 'ops', port: 2222, identity: '/keys/100%/id', jump: 'bastion:2200', host: 'db1-mgmt', sudo: true }, { configFile: '/etc/lab/ssh_config', connectTimeoutSeconds: 5 }), [
    '-F', '/etc/lab/ssh_config', ...common.map((a) => a === 'ConnectTimeout=15' ? 'ConnectTimeout=5' : a),
    '-l', 'ops', '-p', '2222', '-i', '/keys/100%%/id', '-J', 'bastion:2200', '--', 'db1-mgmt', BOOTSTRAP
  ], 'every field, a literal % doubled for ssh\'s tokens')
})

t.test('the agent URL: the operator\'s choice, else the address the host saw the SSH connection come from when it is ours', async (t) => {
  const own = new Set(['198.18.0.1', '198.18.9.1', '2001:2::1', 'fe80::1', '127.0.0.1'])
  const guess = agentUrlFor({ agentUrl: 'wss://198.18.0.1:7070', chosen: false, ownAddresses: own })
  t.equal(guess('198.18.9.1'), 'wss://198.18.9.1:7070', 'another network of this machine')
  t.equal(guess('2001:2::1'), 'wss://[2001:2::1]:7070')
  t.equal(guess('::ffff:198.18.9.1'), 'wss://198.18.9.1:7070')
  for (const from of ['203.0.113.9', null, 'fe80::1', '127.0.0.1', 'garbage']) t.equal(guess(from), 'wss://198.18.0.1:7070', `${String(from)}: not ours, or not usable: the coordinator's URL`)
  const chosen = agentUrlFor({ agentUrl: 'wss://coord.example:7070', chosen: true, ownAddresses: own })
  t.equal(chosen('198.18.9.1'), 'wss://coord.example:7070', '--advertise wins')
})

t.test('the launch script\'s lines, Node versions and platforms', async (t) => {
  t.same(parseRemoteLine('@@portcheck hello 1 Linux aarch64 1000 198.18.0.1 v22.1.0'), { type: 'hello', facts: { protocol: 1, os: 'Linux', machine: 'aarch64', uid: 1000, from: '198.18.0.1', node: 'v22.1.0' } })
  t.same(parseRemoteLine('@@portcheck hello 1 Linux x86_64 0 - -'), { type: 'hello', facts: { protocol: 1, os: 'Linux', machine: 'x86_64', uid: 0, from: null, node: null } })
  t.same(parseRemoteLine('@@portcheck error sudo: a password is required'), { type: 'error', message: 'sudo: a password is required' })
  t.same(parseRemoteLine('@@portcheck started 4242'), { type: 'started', pid: 4242 })
  t.same(parseRemoteLine('@@portcheck exited 2'), { type: 'exited', code: 2 })
  for (const l of ['Welcome to db1!', '@@portcheck hello one', '@@portcheck started x', '@@portcheck what']) t.equal(parseRemoteLine(l), null, `ignored: ${l}`)
  t.same(['v20.19.0', 'v20.18.1', 'v22.0.0', 'v18.20.4', null, 'garbage'].map(nodeCanRunAgent), [true, false, true, false, false, false])
  t.same(nodePlatform({ os: 'Linux', machine: 'x86_64' }), { platform: 'linux', arch: 'x64' })
  t.same(nodePlatform({ os: 'Darwin', machine: 'arm64' }), { platform: 'darwin', arch: 'arm64' })
  t.equal(nodePlatform({ os: 'Plan9', machine: 'x86_64' }), null)
})

t.test('lines from a host: bounded, CRLF, characters cut by chunks; cleaned for a report', async (t) => {
  const lines: string[] = []
  const split = lineSplitter((l) => lines.push(l), 10)
  split.push('short\r\nway too long for ten')
  split.push(' characters\né')
  split.push(Buffer.from('é\n').subarray(0, 1))
  split.push(Buffer.from('é\n').subarray(1))
  split.push('tail')
  split.end()
  t.same(lines, ['short', 'way too lo', 'éé', 'tail'])
  t.equal(cleanLine('\x1b[31mssh:\x1b[0m  connect\tto host\x07 refused  '), 'ssh: connect to host refused')
  t.equal(cleanLine('x'.repeat(400)).length, 300)
})

/** A stand-in for ssh: a shell script that runs `body`, with the remote command as "$last". */
function fakeSsh (dir: string, body: string): string {
  const file = path.join(dir, `ssh-${readdirSync(dir).length}`)
  writeFileSync(file, `#!/bin/sh\nfor a; do last=$a; done\n${body}\n`)
  chmodSync(file, 0o755)
  return file
}

/** A PATH with the tools the launch script uses but no node: a host without Node.js. */
function pathWithoutNode (dir: string): string {
  const bin = path.join(dir, 'bin')
  mkdirSync(bin)
  for (const tool of ['mktemp', 'head', 'wc', 'rm', 'uname', 'id', 'cat', 'chmod', 'sleep', 'mkdir']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => existsSync(f))
    if (found !== undefined) symlinkSync(found, path.join(bin, tool))
  }
  return bin
}

interface Recorded { states: Array<[LaunchState, string | null]> }

async function until (test: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
}

function hostLaunch (t: Test, sshCommand: string, files: LaunchFiles, extra: Partial<ConstructorParameters<typeof HostLaunch>[0]> = {}): { launch: HostLaunch, rec: Recorded } {
  const rec: Recorded = { states: [] }
  const launch = new HostLaunch({
    host: HOST,
    ssh: {},
    files,
    target: { url: () => 'ws://127.0.0.1:9', pin: null, credential: 'Zr3c0mmYyKkP2b7s8cPq-0l4dH1jW9sQ6vXn5aTuE_g' },
    logger,
    sshCommand,
    onState: (state, error) => rec.states.push([state, error]),
    ...extra
  })
  t.teardown(() => launch.stop())
  return { launch, rec }
}

const NO_FILES: LaunchFiles = {
  script: async () => ({ path: null, reason: 'no script in this test' }),
  executable: async (target) => ({ path: null, reason: `no executable for ${target} in this test` })
}

t.test('a launch that ssh refuses fails with ssh\'s last line', async (t) => {
  const ssh = fakeSsh(t.testdir(), 'echo "Warning: Permanently added the host key" >&2\necho "ops@198.18.7.21: Permission denied (publickey)." >&2\nexit 255')
  const { launch, rec } = hostLaunch(t, ssh, NO_FILES)
  await launch.launch()
  t.same(rec.states, [['connecting', null], ['failed', 'ops@198.18.7.21: Permission denied (publickey).']])
})

t.test('no node on the host and no executable: the launch fails saying both, and the host is cleaned up', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const ssh = fakeSsh(dir, `PATH=${pathWithoutNode(dir)} TMPDIR=${tmp} exec /bin/sh -c "$last"`)
  const { launch, rec } = hostLaunch(t, ssh, NO_FILES)
  await launch.launch()
  t.match(rec.states.at(-1), ['failed', `node is not on the PATH of a non-interactive SSH session, and no executable for ${process.platform}-${process.arch} in this test`])
  await launch.stop()
  t.same(readdirSync(tmp), [], 'the private directory is removed')
})

t.test('no node: the executable is sent instead; an agent that exits is a failed launch with its last words', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const exe = path.join(dir, 'agent')
  writeFileSync(exe, '#!/bin/sh\necho "portcheck-agent: PC_ERR_AGENT_UNKNOWN: db1 is not a host of the coordinator\'s inventory" >&2\nexit 2\n')
  const files: LaunchFiles = { script: NO_FILES.script, executable: async () => ({ path: exe, bytes: readFileSync(exe).length, sha256: '' }) }
  const ssh = fakeSsh(dir, `PATH=${pathWithoutNode(dir)} TMPDIR=${tmp} exec /bin/sh -c "$last"`)
  const { launch, rec } = hostLaunch(t, ssh, files)
  await launch.launch()
  await until(() => rec.states.at(-1)?.[0] === 'failed', 10_000)
  t.same(rec.states, [
    ['connecting', null], ['copying', null], ['starting', null], ['running', null],
    ['failed', 'the agent exited (code 2): portcheck-agent: PC_ERR_AGENT_UNKNOWN: db1 is not a host of the coordinator\'s inventory']
  ])
  await launch.stop()
  t.same(readdirSync(tmp), [])
})

t.test('a launch that takes too long fails, and stopping one that is connecting ends ssh at once', async (t) => {
  const dir = t.testdir()
  const slow = hostLaunch(t, fakeSsh(dir, 'exec sleep 30'), NO_FILES, { launchTimeoutMs: 300 })
  await slow.launch.launch()
  t.same(slow.rec.states.at(-1), ['failed', 'the launch took longer than 0 s (it was connecting)'])
  const t1 = Date.now()
  await slow.launch.stop()
  t.ok(Date.now() - t1 < 5000, 'a failed launch\'s ssh is ended')
  const hung = hostLaunch(t, fakeSsh(dir, 'exec sleep 30'), NO_FILES)
  const launched = hung.launch.launch()
  const t0 = Date.now()
  await hung.launch.stop()
  await launched
  t.ok(Date.now() - t0 < 3000, 'stopped without waiting for the grace time')
  t.same(hung.rec.states.map(([s]) => s), ['connecting', 'stopping', 'stopped'])
})

t.test('at most `concurrency` launches at a time; every host gets a state', async (t) => {
  const dir = t.testdir()
  const log = path.join(dir, 'log')
  const ssh = fakeSsh(dir, `echo "+" >> ${log}; sleep 0.2; echo "-" >> ${log}; echo "ssh: connect to host $last: Connection refused" >&2; exit 255`)
  const board = new LaunchBoard()
  const hosts = Array.from({ length: 7 }, (_, i) => ({ name: `h${i}`, address: `198.18.7.${i + 1}`, roles: ['db'] }))
  const launch = launchOverSsh({ hosts, ssh: new Map(), board, target: () => ({ url: () => 'ws://127.0.0.1:9', pin: null, credential: 'x'.repeat(43) }), logger, files: NO_FILES, concurrency: 3, sshCommand: ssh })
  await launch.launched
  let running = 0
  let most = 0
  for (const c of readFileSync(log, 'utf8').trim().split('\n')) { running += c === '+' ? 1 : -1; most = Math.max(most, running) }
  t.equal(most, 3, 'three at a time, never more')
  t.same(board.named('failed').sort(), hosts.map((h) => h.name))
  t.match(board.failure('h0'), /^launch over SSH failed: ssh: connect to host .*: Connection refused$/)
  await launch.stop()
})

t.test('end to end without sshd: the real agent launched through a stand-in ssh joins, and stopping it removes everything', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const catalog = await loadCatalog('examples/demo/catalog.yaml')
  const hosts: InventoryHost[] = [{ name: 'app1', address: '127.0.0.12', roles: ['app'] }, { name: 'db1', address: '127.0.0.14', roles: ['db'] }]
  const c = await buildCoordinator({ catalog, hosts, settings: {}, logger })
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  const states: string[] = []
  c.hub.launches.on('change', (name, info) => { if (name === 'app1') states.push(info.state) })
  const launch = launchAgents(c, new Map([['app1', { sudo: false }]]), { logger, sshCommand: fakeSsh(dir, `TMPDIR=${tmp} exec /bin/sh -c "$last"`) })
  await launch.launched
  t.same(await c.waitForAgents(20_000), [], 'both agents joined')
  t.same(states, ['queued', 'connecting', 'copying', 'starting', 'running'])
  t.equal(c.hub.get('app1')?.record.version, JSON.parse(readFileSync('packages/agent/package.json', 'utf8')).version, 'the agent knows its version')
  t.same(readdirSync(path.join(tmp, readdirSync(tmp)[0] ?? '')).sort(), ['agent.pid', 'launch.sh', 'portcheck-agent.mjs'], 'the coordinator\'s own bundle, served at /agent/portcheck-agent.mjs too')
  t.equal(readdirSync(tmp).length, 2, 'a private directory per agent')
  await c.close()
  t.same(states.slice(-2), ['stopping', 'stopped'], 'closing the coordinator stops the agents')
  t.same(readdirSync(tmp), [], 'and removes their files')
})

t.test('the launch status line counts hosts by state and names the failed ones', async (t) => {
  t.equal(launchText({ total: 50, joined: 47, states: { connecting: 2, failed: 1 }, failed: ['db3'] }), 'agents over SSH: 47/50 joined · 2 connecting · 1 failed (db3)')
  t.equal(launchText({ total: 9, joined: 0, states: { queued: 2, copying: 1, starting: 1, running: 1, failed: 4 }, failed: ['a', 'b', 'c', 'd'] }),
    'agents over SSH: 0/9 joined · 2 queued · 1 copying · 1 starting · 1 started, not joined yet · 4 failed (a, b, c, …)')
})

t.test('ssh that leaves a process holding its output (a ControlPersist master) is not waited for', async (t) => {
  const dir = t.testdir()
  const ssh = fakeSsh(dir, `sleep 20 &\necho $! > ${dir}/bg\necho "ssh: connect to host db1 port 22: Connection refused" >&2\nexit 255`)
  const { launch, rec } = hostLaunch(t, ssh, NO_FILES)
  const t0 = Date.now()
  await launch.launch()
  // The stand-in master, killed at the end (t.testdir() is gone by teardown time).
  const bg = Number(readFileSync(path.join(dir, 'bg'), 'utf8'))
  t.teardown(() => { try { process.kill(bg, 'SIGKILL') } catch { /* gone */ } })
  await launch.stop()
  t.ok(Date.now() - t0 < 4000, `settled in ${Date.now() - t0} ms`)
  t.same(rec.states.at(-1), ['failed', 'ssh: connect to host db1 port 22: Connection refused'])
})
