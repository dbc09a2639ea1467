import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { joinArgs } from '../support/join.js'
import { pino as pinoLogger } from 'pino'

const CLI = 'packages/coordinator/bin/portcheck.js'
// The coordinator's state (join token, TLS key) of these tests, never the user's ~/.portcheck.
const STATE = mkdtempSync(path.join(tmpdir(), 'portcheck-cli-state-'))
t.teardown(() => rmSync(STATE, { recursive: true, force: true }))

function cli (args: string[], opts: { signalAfter?: RegExp } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORTCHECK_STATE_DIR: STATE } })
    let stdout = ''
    let stderr = ''
    let signalled = false
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (opts.signalAfter !== undefined && !signalled && opts.signalAfter.test(stderr)) { signalled = true; child.kill('SIGINT') }
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

t.test('bad input exits 2 and names the file, the field and the problem', async (t) => {
  const dir = t.testdir()
  const inv = path.join(dir, 'hosts.yaml')
  writeFileSync(inv, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: a, address: 198.18.0.1, roles: [app] }\n  - { name: a, address: 198.18.0.2, roles: [dba] }\n`)
  const r = await cli(['plan', '-i', inv])
  t.equal(r.code, 2)
  t.match(r.stderr, `${inv}:4:13: hosts[1].name: duplicate host name "a" (also hosts[0])`)
  t.match(r.stderr, /hosts\[1\]\.roles\[0\]: unknown role "dba"/)
  t.equal(r.stdout, '', 'nothing on stdout')

  const unknownCatalog = await cli(['plan', '-c', 'no-such-product', '-i', inv])
  t.equal(unknownCatalog.code, 2)
  t.match(unknownCatalog.stderr, /no built-in catalog "no-such-product"/)

  const usage = await cli(['run', '--inventory', inv, '--bogus'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /Unknown argument: bogus/)

  for (const [opt, value, re] of [['--timeout', 'abc', /--timeout abc: expected milliseconds/], ['--concurrency', '0', /--concurrency 0: expected an integer from 1 to 65535/], ['--wait', '-1', /--wait -1: expected seconds/]] as const) {
    const bad = await cli(['run', '-i', 'examples/demo/inventory.yaml', opt, value])
    t.equal(bad.code, 2, `${opt} ${value}`)
    t.match(bad.stderr, re)
    t.notMatch(bad.stderr, /internal error|YError/, 'a usage error, not a crash')
  }

  const badSet = await cli(['plan', '-i', 'examples/demo/inventory.yaml', '--set', 'metrics=often'])
  t.equal(badSet.code, 2)
  t.match(badSet.stderr, /--set: metrics: setting "metrics" is a boolean/)
})

t.test('run without agents: inconclusive, exit 3, JUnit output', async (t) => {
  const r = await cli(['run', '-i', 'examples/demo/inventory.yaml', '--listen', '127.0.0.1:0', '--wait', '0.2', '--format', 'junit', '--log-level', 'error'])
  t.equal(r.code, 3)
  t.match(r.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="portcheck demo" tests="19" failures="0" errors="14" skipped="5"/)
  t.match(r.stdout, /<error type="agent-missing" message="inconclusive: agent-missing">no agent joined for lb1 and app1/)
  t.match(r.stderr, /npx portcheck-agent --coordinator wss:\/\/127\.0\.0\.1:\d+ --token \S+ --name db2 --pin sha256:[0-9a-f]{64}/, 'join commands printed')
})

t.test('Ctrl-C while waiting for agents stops cleanly', async (t) => {
  const r = await cli(['run', '-i', 'examples/demo/inventory.yaml', '--listen', '127.0.0.1:0', '--wait', '60', '--log-level', 'error'], { signalAfter: /Waiting up to/ })
  t.equal(r.code, 130)
  t.match(r.stderr, /stopping; closing every listener/)
})

t.test('plan and catalog commands', async (t) => {
  const plan = await cli(['plan', '-i', 'examples/demo/inventory.yaml', '--format', 'json'])
  t.equal(plan.code, 0)
  const parsed = JSON.parse(plan.stdout) as { checks: unknown[] }
  t.equal(parsed.checks.length, 19)
  const show = await cli(['catalog', 'show', 'examples/demo/catalog.yaml', '--format', 'json', '--all', '--set', 'metrics=false'])
  t.equal(show.code, 0)
  const rows = JSON.parse(show.stdout) as Array<Record<string, unknown>>
  t.match(rows.find((r) => r.flowId === 'DEMO-06'), { fromRole: 'app', toRole: 'db', protocol: 'udp', port: 18125, optional: true, condition: 'metrics = true', active: false, external: false })
  const validate = await cli(['catalog', 'validate', 'examples/demo/catalog.yaml'])
  t.match(validate, { code: 0, stdout: /valid catalog "demo" \(4 roles, 6 flows\)/ })
})

t.test('Ctrl-C during a run: the report says interrupted, with the exit code the process exits with, and no agent lost', async (t) => {
  // 127.48.0.x: this file's. db2's udp/15405 answers nothing, so the run is still probing when interrupted.
  const { startAgent } = await import('../../packages/agent/src/index.js')
  const { default: dgram } = await import('node:dgram')
  const dir = t.testdir()
  const inv = path.join(dir, 'hosts.yaml')
  const hosts = [['lb1', 11, 'lb'], ['app1', 12, 'app'], ['app2', 13, 'app'], ['db1', 14, 'db'], ['db2', 15, 'db']] as const
  writeFileSync(inv, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${hosts.map(([n, i, r]) => `  - { name: ${n}, address: 127.48.0.${i}, roles: [${r}]${n === 'db2' ? ', nat: true' : ''} }`).join('\n')}\n`)
  const silentSock = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => silentSock.bind(15405, '127.48.0.15', resolve))
  t.teardown(() => silentSock.close())
  const child = spawn(process.execPath, [CLI, 'run', '-i', inv, '--listen', '127.0.0.1:0', '--token', 'cli-token', '--wait', '30', '--timeout', '5000', '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORTCHECK_STATE_DIR: STATE } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  const agents: Array<ReturnType<typeof startAgent>> = []
  t.teardown(() => Promise.all(agents.map((a) => a.close())))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  child.stderr.on('data', (d: Buffer) => {
    const before = stderr
    stderr += d.toString()
    if (/Waiting up to/.test(stderr) && !/Waiting up to/.test(before) && agents.length === 0) {
      // Each agent from the join command printed for its host: wss://, its own credential, the pin.
      for (const [name, i] of hosts) {
        const args = joinArgs(stderr, name)
        const arg = (flag: string): string => args[args.indexOf(flag) + 1] as string
        agents.push(startAgent({ coordinator: arg('--coordinator'), token: arg('--token'), pin: arg('--pin'), name, bind: `127.48.0.${name === 'db2' ? 25 : i}`, logger: silentLogger(), reconnectMinMs: 100 }))
      }
    }
    if (/"msg":"run started"/.test(stderr) && !/"msg":"run started"/.test(before)) setTimeout(() => child.kill('SIGINT'), 400)
  })
  const code = await exited
  t.equal(code, 130, 'the process exits 130')
  t.match(stdout, /INTERRUPTED: the run was stopped before it finished; .* \(exit 130\)/, 'the report prints the exit code the process exits with')
  t.notMatch(stdout, /lost:/, 'the connected agents are not reported lost')
  t.match(stdout, /aborted/, 'what was not finished is aborted')
})

function silentLogger (): import('pino').Logger {
  return pinoLogger({ level: 'silent' })
}
