import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { BOOTSTRAP, BOOTSTRAP_EXIT, LAUNCH_SCRIPT, launchScript } from '../src/launch/remote-script.js'
import { parseRemoteLine, type RemoteLine } from '../src/launch/launch-protocol.js'

// The launch script as a host runs it, driven here without ssh: the bootstrap runs in a local
// /bin/sh whose stdin and stdout stand for the SSH connection's. A small shell script stands
// for the agent (the `executable` kind): it records what it was given, then sleeps.

const CREDENTIAL = 'Zr3c0mmYyKkP2b7s8cPq-0l4dH1jW9sQ6vXn5aTuE_g'

interface Remote {
  child: ChildProcess
  lines: RemoteLine[]
  stderr: () => string
  next: (type: RemoteLine['type'], timeoutMs?: number) => Promise<RemoteLine>
  exited: Promise<number | null>
}

/**
 * The shells the script must work with: the system's /bin/sh (dash on Debian and Ubuntu) and
 * bash (/bin/sh on RHEL), each standing for every /bin/sh of the bootstrap and the script.
 */
const SHELLS = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s))

function startRemote (shell: string, t: Test, tmp: string, script = LAUNCH_SCRIPT, env: NodeJS.ProcessEnv = {}): Remote {
  script = script.replaceAll('/bin/sh', shell)
  const child = spawn(shell, ['-c', BOOTSTRAP.replaceAll('/bin/sh', shell)], { env: { PATH: process.env.PATH, TMPDIR: tmp, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const lines: RemoteLine[] = []
  const waiters: Array<() => void> = []
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    let i
    while ((i = out.indexOf('\n')) !== -1) {
      const msg = parseRemoteLine(out.slice(0, i))
      out = out.slice(i + 1)
      if (msg !== null) lines.push(msg)
      for (const w of waiters.splice(0)) w()
    }
  })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { for (const w of waiters.splice(0)) w(); resolve(code) }))
  child.stdin.on('error', () => {})
  const text = Buffer.from(script)
  child.stdin.write(`${text.length}\n`)
  child.stdin.write(text)
  const next = async (type: RemoteLine['type'], timeoutMs = 10_000): Promise<RemoteLine> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = lines.find((l) => l.type === type)
      if (found !== undefined) return found
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${type} line; got ${JSON.stringify(lines)}; stderr: ${err}`)
      await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 100) })
    }
  }
  return { child, lines, stderr: () => err, next, exited }
}

/** A stand-in agent: writes its arguments and credential to `record`, then runs `body`. */
function fakeAgent (record: string, body = 'exec sleep 300'): Buffer {
  return Buffer.from(`#!/bin/sh\nprintf '%s\\n' "$@" > ${record}\necho "token=$PORTCHECK_TOKEN" >> ${record}\n${body}\n`)
}

function startOrder (file: Buffer, pin: string = 'sha256:' + 'ab'.repeat(32)): string {
  return ['start', 'executable', String(file.length), '0', 'wss://198.18.0.1:7070', 'db1', pin, 'warn', CREDENTIAL].join('\n') + '\n'
}

/** Waits for the hello, sends the start order and the stand-in agent; resolves with its pid once started. */
async function launchAgent (r: Remote, agent: Buffer, pin?: string): Promise<number> {
  await r.next('hello')
  r.child.stdin?.write(startOrder(agent, pin))
  r.child.stdin?.write(agent)
  return (await r.next('started') as { pid: number }).pid
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

async function until (test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

function setupDirs (t: Test): { tmp: string, record: string } {
  const dir = t.testdir({ tmp: {} })
  return { tmp: path.join(dir, 'tmp'), record: path.join(dir, 'record') }
}

for (const shell of SHELLS) {
  t.test(`with ${shell}`, async (t) => {
    t.test('hello, the agent in a private directory with its credential in its environment, and everything gone at end of input', async (t) => {
      const { tmp, record } = setupDirs(t)
      const r = startRemote(shell, t, tmp)
      const hello = await r.next('hello')
      t.match(hello, { type: 'hello', facts: { protocol: 1, os: process.platform === 'linux' ? 'Linux' : String, uid: process.getuid?.(), node: process.version } })
      const dirs = readdirSync(tmp)
      t.equal(dirs.length, 1, 'one private directory')
      t.match(dirs[0], /^portcheck-agent\.[A-Za-z0-9]{10}$/)
      t.equal(statSync(path.join(tmp, dirs[0] ?? '')).mode & 0o777, 0o700, 'mode 700')

      const agent = fakeAgent(record)
      r.child.stdin?.write(startOrder(agent))
      r.child.stdin?.write(agent)
      const started = await r.next('started')
      const pid = (started as { pid: number }).pid
      t.ok(alive(pid), 'the agent runs')
      await until(() => existsSync(record) && readFileSync(record, 'utf8').includes('token='), 5000)
      t.same(readFileSync(record, 'utf8').trim().split('\n'), [
        '--coordinator', 'wss://198.18.0.1:7070', '--name', 'db1', '--log-format', 'json', '--log-level', 'warn', '--pin', 'sha256:' + 'ab'.repeat(32), `token=${CREDENTIAL}`
      ], 'its arguments (no credential among them), and the credential in its environment')
      t.notOk(readdirSync(path.join(tmp, dirs[0] ?? '')).includes('credential'), 'the credential file is removed once read')

      r.child.stdin?.end()
      await r.next('stopped')
      t.equal(await r.exited, 0)
      t.notOk(alive(pid), 'the agent is stopped')
      t.same(readdirSync(tmp), [], 'the private directory is removed')
    })

    t.test('--insecure: no pin, and --insecure', async (t) => {
      const { tmp, record } = setupDirs(t)
      const r = startRemote(shell, t, tmp)
      await launchAgent(r, fakeAgent(record), '-')
      await until(() => existsSync(record) && readFileSync(record, 'utf8').includes('token='), 5000)
      t.match(readFileSync(record, 'utf8'), /--log-level\nwarn\n--insecure\ntoken=/)
      r.child.stdin?.end()
      t.equal(await r.exited, 0)
      t.same(readdirSync(tmp), [])
    })

    t.test('an agent that exits by itself is reported with its code, and cleaned up', async (t) => {
      const { tmp, record } = setupDirs(t)
      const r = startRemote(shell, t, tmp)
      await launchAgent(r, fakeAgent(record, 'echo "portcheck-agent: PC_ERR_AGENT_UNKNOWN: db1 is not in the inventory" >&2\nexit 2'))
      t.match(await r.next('exited'), { type: 'exited', code: 2 })
      await r.next('stopped')
      t.equal(await r.exited, 0)
      t.match(r.stderr(), /PC_ERR_AGENT_UNKNOWN/, 'its last words reach the launcher on stderr')
      t.same(readdirSync(tmp), [])
    })

    t.test('no heartbeat for the watchdog period: the agent is stopped and its files removed', async (t) => {
      const { tmp, record } = setupDirs(t)
      // A watchdog of 3 s with heartbeats every 300 ms: a busy machine may delay one by a second
      // or two without the test mistaking that for silence.
      const r = startRemote(shell, t, tmp, launchScript({ watchdogSeconds: 3 }))
      const pid = await launchAgent(r, fakeAgent(record))
      // Heartbeats for two periods: it keeps running.
      for (let i = 0; i < 20; i++) {
        r.child.stdin?.write('\n')
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
      t.ok(alive(pid), 'alive while heartbeats come')
      // Silence, with the input still open: the coordinator's machine vanished.
      await r.next('stopped', 15_000)
      t.notOk(alive(pid), 'stopped after a silent period')
      t.same(readdirSync(tmp), [])
    })

    t.test('an agent that ignores SIGTERM is killed after the grace time', async (t) => {
      const { tmp, record } = setupDirs(t)
      const r = startRemote(shell, t, tmp)
      const pid = await launchAgent(r, fakeAgent(record, "trap '' TERM\nwhile :; do sleep 1; done"))
      await until(() => existsSync(record), 5000)
      const t0 = Date.now()
      r.child.stdin?.end()
      await r.next('stopped', 15_000)
      t.ok(Date.now() - t0 >= 4500, `killed after the grace time (${Date.now() - t0} ms)`)
      t.notOk(alive(pid))
      t.same(readdirSync(tmp), [])
    })

    t.test('abort, end of input before the agent, a partial file: nothing is left', async (t) => {
      for (const [what, send] of [
        ['abort', (r: Remote) => { r.child.stdin?.end('abort\n') }],
        ['end of input', (r: Remote) => { r.child.stdin?.end() }],
        ['a partial file', (r: Remote) => {
          const agent = fakeAgent('/dev/null')
          r.child.stdin?.write(startOrder(agent))
          r.child.stdin?.end(agent.subarray(0, 10))
        }]
      ] as const) {
        const { tmp } = setupDirs(t)
        const r = startRemote(shell, t, tmp)
        await r.next('hello')
        send(r)
        await r.next('stopped')
        if (what === 'a partial file') t.match(r.lines.find((l) => l.type === 'error'), { message: /the agent file arrived incomplete \(10 of \d+ bytes\)/ }, 'says so')
        await r.exited
        t.same(readdirSync(tmp), [], `${what}: the private directory is removed`)
      }
    })

    t.test('the bootstrap: a TMPDIR it cannot use, a script cut short', async (t) => {
      const dir = t.testdir()
      const r = startRemote(shell, t, path.join(dir, 'nowhere'))
      t.equal(await r.exited, BOOTSTRAP_EXIT.mktemp, 'no private directory: exit 97')
      mkdirSync(path.join(dir, 'tmp'))
      const child = spawn(shell, ['-c', BOOTSTRAP.replaceAll('/bin/sh', shell)], { env: { PATH: process.env.PATH, TMPDIR: path.join(dir, 'tmp') } })
      child.stdin.end(`${LAUNCH_SCRIPT.length}\n${LAUNCH_SCRIPT.slice(0, 100)}`)
      const code = await new Promise((resolve) => child.on('close', resolve))
      t.equal(code, BOOTSTRAP_EXIT.receive, 'a script cut short is not run: exit 98')
      t.same(readdirSync(path.join(dir, 'tmp')), [], 'and its directory is removed')
    })

    t.test('the bootstrap is one line without single quotes inside, for the login shell', async (t) => {
      t.notMatch(BOOTSTRAP, /\n/)
      t.equal(BOOTSTRAP.split("'").length, 3, 'exactly the pair that quotes the script')
      t.throws(() => launchScript({ watchdogSeconds: 0 }), RangeError)
    })
  })
}
