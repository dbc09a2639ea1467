import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { request } from 'undici'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { CLI, runCli } from '../support/run-cli.js'

// `portcheck run --launch ssh` on loopback, without sshd and without root: a stand-in `ssh` on
// the PATH runs the remote command with the local shell (or, for one host, fails as ssh does
// when the key is refused), so the CLI's wiring, terminal lines and reports are tested here;
// the real sshd is in test/lab/ssh-launch.test.ts.

/** A directory with an `ssh` that runs the remote command locally, except towards 127.0.0.13, whose key is refused. */
function fakeSshPath (dir: string, tmp: string): string {
  const bin = path.join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh
[ "$1" = -V ] && { echo "OpenSSH_9.2 (stand-in)" >&2; exit 0; }
for a; do dest=$last; last=$a; done
if [ "$dest" = 127.0.0.13 ]; then echo "ops@127.0.0.13: Permission denied (publickey)." >&2; exit 255; fi
TMPDIR=${tmp} exec /bin/sh -c "$last"
`)
  chmodSync(path.join(bin, 'ssh'), 0o755)
  return `${bin}:${process.env.PATH ?? ''}`
}

function inventory (dir: string, extra = ''): string {
  const file = path.join(dir, 'hosts.yaml')
  writeFileSync(file, `catalog: ${path.resolve('examples/demo/catalog.yaml')}
hosts:
  - { name: lb1, address: 127.0.0.11, roles: [lb] }
  - { name: app1, address: 127.0.0.12, roles: [app] }
  - { name: db1, address: 127.0.0.13, roles: [db] }
${extra}`)
  return file
}

t.test('the SSH options are checked before anything starts', async (t) => {
  const dir = t.testdir()
  const inv = inventory(dir)
  const state = ['--state-dir', path.join(dir, 'state')]
  const noLaunch = await runCli(['run', '-i', inv, '--ssh-config', '/etc/ssh/ssh_config', ...state])
  t.equal(noLaunch.code, 2)
  t.match(noLaunch.stderr, 'portcheck: PC_ERR_USAGE: --ssh-config needs --launch ssh')
  const missing = await runCli(['run', '-i', inv, '--launch', 'ssh', '--ssh-config', path.join(dir, 'nope'), ...state])
  t.equal(missing.code, 2)
  t.match(missing.stderr, `portcheck: PC_ERR_USAGE: --ssh-config ${path.join(dir, 'nope')}: cannot read it (ENOENT)`)
  const telnet = await runCli(['run', '-i', inv, '--launch', 'telnet', ...state])
  t.equal(telnet.code, 2)
  t.match(telnet.stderr, /PC_ERR_USAGE: Invalid values:\n {2}Argument: launch, Given: "telnet", Choices: "ssh"/)
  const zero = await runCli(['run', '-i', inv, '--launch', 'ssh', '--launch-concurrency', '0', ...state])
  t.match(zero.stderr, 'portcheck: PC_ERR_USAGE: --launch-concurrency 0: expected an integer from 1 to 1000')
  const key = await runCli(['run', '-i', inventory(dir, 'ssh: { identity: keys/id_ed25519 }\n'), '--launch', 'ssh', ...state])
  t.equal(key.code, 2)
  t.match(key.stderr, `portcheck: PC_ERR_INVENTORY_INVALID: inventory ${path.join(dir, 'hosts.yaml')} is invalid:\n  ${path.join(dir, 'hosts.yaml')}:6:18: ssh.identity: private key file ${path.join(dir, 'keys/id_ed25519')} does not exist`)
  t.same(readdirSync(dir).sort(), ['hosts.yaml'], 'nothing was started: no state directory either')
  const noSsh = await runCli(['run', '-i', inventory(dir), '--launch', 'ssh', ...state], { PATH: path.dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : path.dirname(process.execPath) })
  t.equal(noSsh.code, 2)
  t.match(noSsh.stderr, 'portcheck: PC_ERR_USAGE: --launch ssh needs the OpenSSH client, `ssh`, on the PATH (ENOENT): install it (Debian and Ubuntu: openssh-client)')
})

t.test('run --launch ssh: agents launched, a refused key reported in the terminal, the table, markdown and JSON; every file removed', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const env = { PATH: fakeSshPath(dir, tmp) }
  const inv = inventory(dir)
  const common = ['run', '-i', inv, '--launch', 'ssh', '--insecure', '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'), '--wait', '30', '--log-level', 'warn']
  const table = await runCli(common, env)
  t.equal(table.code, 3, 'exit 3: db1 has no agent')
  t.match(table.stderr, 'Starting the agent on 3 hosts over SSH (at most 10 at a time); each is stopped and its files removed when the coordinator stops.')
  t.match(table.stderr, 'portcheck: db1: launch over SSH failed: ops@127.0.0.13: Permission denied (publickey).')
  t.match(table.stderr, 'portcheck: agents over SSH: 2/3 joined · 1 failed (db1)')
  t.notMatch(table.stderr, 'npx portcheck-agent', 'no join command to run by hand')
  t.match(table.stdout, 'db1: agent never joined, 1 check (launch over SSH failed: ops@127.0.0.13: Permission denied (publickey).)\n      to fix: fix what stopped the launch on db1, or start its agent with its join command')
  t.same(readdirSync(tmp), [], 'the agents were stopped and their files removed')

  const md = await runCli([...common, '--format', 'markdown'], env)
  t.match(md.stdout, '- **db1: agent never joined, 1 check (launch over SSH failed: ops@127.0.0.13: Permission denied (publickey).)**')

  const out = path.join(dir, 'report.json')
  const json = await runCli([...common, '--format', 'json', '--output', out], env)
  t.equal(json.code, 3)
  const report = JSON.parse(readFileSync(out, 'utf8')) as RunReport
  t.same(report.agents, { expected: 3, joined: 2, missing: ['db1'], lost: [], misplaced: [], launchErrors: { db1: 'launch over SSH failed: ops@127.0.0.13: Permission denied (publickey).' } })
  t.match(report.checks.find((c) => c.to === 'db1'), { status: 'inconclusive', reason: 'agent-missing', detail: 'no agent joined for db1 (launch over SSH failed: ops@127.0.0.13: Permission denied (publickey).)', agentHosts: ['db1'] })
  t.match(report.checks.find((c) => c.from === 'lb1' && c.to === 'app1'), { status: 'pass' }, 'the launched agents did their checks')
  t.same(readdirSync(tmp), [])
})

t.test('--verbose relays every launched agent\'s log', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const r = await runCli(['run', '-i', inventory(dir), '--launch', 'ssh', '--insecure', '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'), '--wait', '30', '--log-format', 'json', '--verbose'], { PATH: fakeSshPath(dir, tmp) })
  t.equal(r.code, 3)
  const records = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string, host?: string, component?: string })
  t.match(records.filter((l) => l.msg === 'agent: registered with the coordinator').map((l) => l.host).sort(), ['app1', 'lb1'], 'each agent\'s log, with its host')
  const other = path.join(dir, 'other')
  mkdirSync(other)
  const quiet = await runCli(['run', '-i', inventory(dir), '--launch', 'ssh', '--insecure', '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'), '--wait', '30', '--log-format', 'json'], { PATH: fakeSshPath(other, tmp) })
  t.notMatch(quiet.stderr, 'agent: registered with the coordinator', 'without --verbose, only their warnings and errors')
  t.same(readdirSync(tmp), [])
})

t.test('serve --launch ssh: the agents run until it stops, their launches in GET /api/agents', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '-i', inventory(dir), '--launch', 'ssh', '--insecure', '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: fakeSshPath(dir, tmp) } })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const deadline = Date.now() + 20_000
  let hosts: Array<{ name: string, state: string, launch: { state: string, error: string | null } | null }> = []
  while (Date.now() < deadline) {
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1]
    if (url !== undefined) {
      hosts = ((await (await request(`${url}api/agents`)).body.json()) as { hosts: typeof hosts }).hosts
      if (hosts.filter((h) => h.state === 'connected').length === 2 && hosts.some((h) => h.launch?.state === 'failed')) break
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.match(stderr, 'Starting the agent on 3 hosts over SSH')
  t.same(hosts.map((h) => [h.name, h.state, h.launch?.state, h.launch?.error]), [
    ['lb1', 'connected', 'running', null],
    ['app1', 'connected', 'running', null],
    ['db1', 'missing', 'failed', 'ops@127.0.0.13: Permission denied (publickey).']
  ])
  t.equal(readdirSync(tmp).length, 2, 'two agents run')
  child.kill('SIGINT')
  t.equal(await exited, 0)
  t.match(stderr, 'closing every listener on the agents, then stopping them')
  t.same(readdirSync(tmp), [], 'stopped, and their files removed')
})

t.test('serve --every 2s --launch ssh: the launched agents stay joined across scheduled runs, and stop with it', async (t) => {
  const dir = t.testdir()
  const tmp = path.join(dir, 'tmp')
  mkdirSync(tmp)
  // lb1 and app1 only: every check has a launched agent at both ends, so each run can pass.
  const inv = path.join(dir, 'hosts.yaml')
  writeFileSync(inv, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: lb1, address: 127.0.0.11, roles: [lb] }\n  - { name: app1, address: 127.0.0.12, roles: [app] }\n`)
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '-i', inv, '--every', '2s', '--launch', 'ssh', '--insecure', '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: fakeSshPath(dir, tmp) } })
  t.teardown(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const get = async <T>(url: string): Promise<T> => (await (await request(url)).body.json()) as T
  type Agents = Array<{ name: string, agent: { agentId: string, connectedAt: number, state: string } | null, launch: { state: string } | null }>
  type Runs = Array<{ id: string, state: string, verdict: string, scheduled: boolean, startedAt: string, agents: { joined: number } }>
  /** The agents and their files as they were once one, then two, runs with both agents had completed. */
  const seen = new Map<number, { agents: Agents, files: string[] }>()
  let runs: Runs = []
  const deadline = Date.now() + 60_000
  while (seen.size < 2 && Date.now() < deadline) {
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1]
    if (url !== undefined) {
      const agents = (await get<{ hosts: Agents }>(`${url}api/agents`)).hosts
      // The first run starts one period in at the latest, maybe before the launches are done
      // (a loaded machine): only runs started once both agents had joined are compared.
      const joinedAt = Math.max(...agents.map((h) => h.agent?.connectedAt ?? Infinity))
      runs = (await get<Runs>(`${url}api/runs`)).filter((r) => r.state === 'done' && Date.parse(r.startedAt) >= joinedAt).reverse()
      if (runs.length >= 1 && runs.length <= 2 && !seen.has(runs.length)) seen.set(runs.length, { agents, files: readdirSync(tmp).sort() })
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.same([...seen.keys()], [1, 2], 'seen after one complete run with both agents, then after two', { stderr })
  t.same(runs.slice(0, 2).map((r) => [r.scheduled, r.verdict, r.agents.joined]), [[true, 'pass', 2], [true, 'pass', 2]], 'each scheduled, each pass with both agents', { runs })
  const view = (s: { agents: Agents } | undefined): unknown => s?.agents.map((h) => [h.name, h.agent?.state, h.agent?.agentId, h.agent?.connectedAt, h.launch?.state])
  t.match(view(seen.get(1)), [['lb1', 'connected', String, Number, 'running'], ['app1', 'connected', String, Number, 'running']])
  t.same(view(seen.get(2)), view(seen.get(1)), 'the same agent connections (agentId, connectedAt) across the runs: none reconnected nor was launched again')
  t.equal(seen.get(1)?.files.length, 2, 'one launched agent\'s files per host')
  t.same(seen.get(2)?.files, seen.get(1)?.files, 'and the same ones after the second run')
  child.kill('SIGINT')
  t.equal(await exited, 0)
  t.match(stderr, 'closing every listener on the agents, then stopping them')
  t.same(readdirSync(tmp), [], 'stopped, and their files removed')
})
