import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { joinArgs } from '../support/join.js'
import { pino as pinoLogger } from 'pino'
import { startAgent } from '../../packages/agent/src/index.js'

const CLI = 'packages/coordinator/bin/portcheck.js'
// The coordinator's state (join token, TLS key) of these tests, never the user's ~/.portcheck.
const STATE = mkdtempSync(path.join(tmpdir(), 'portcheck-cli-state-'))
t.teardown(() => rmSync(STATE, { recursive: true, force: true }))

function cli (args: string[], opts: { signalAfter?: RegExp, onStderr?: (stderr: string) => void } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORTCHECK_STATE_DIR: STATE } })
    let stdout = ''
    let stderr = ''
    let signalled = false
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      opts.onStderr?.(stderr)
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
  t.match(r.stderr, /\n {2}curl -fsSk --pinnedpubkey sha256\/\/[A-Za-z0-9+/]{43}= https:\/\/127\.0\.0\.1:\d+\/agent\/portcheck-agent\.mjs \| node --input-type=module - --coordinator wss:\/\/127\.0\.0\.1:\d+ --token \S+ --name db2 --pin sha256:[0-9a-f]{64}\n/, 'join commands printed: the agent fetched from the coordinator, pinned')
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

t.test('-h is help and -V the version on both programs; -v is --verbose, never the version', async (t) => {
  const AGENT = 'packages/agent/bin/portcheck-agent.js'
  for (const args of [['-h'], ['--help']]) {
    const r = await cli(args)
    t.equal(r.code, 0, `portcheck ${args[0] ?? ''}`)
    t.match(r.stdout, /-h, --help +show this help/)
    t.match(r.stdout, /-V, --version +show the version/)
  }
  const version = (JSON.parse(readFileSync('packages/coordinator/package.json', 'utf8')) as { version: string }).version
  t.match(await cli(['-V']), { code: 0, stdout: `${version}\n` })
  t.match(await cli(['run', '-h']), { code: 0, stdout: /-v, --verbose +list passing and skipped checks too/ }, '-h works on a command, before its required options are checked')
  t.match(await cli(['catalog', 'show', '-h']), { code: 0, stdout: /--wide/ })
  t.match(await node([AGENT, '-h']), { code: 0, stdout: /-h, --help +show this help\n {2}-V, --version +show the version/ })
  t.match(await node([AGENT, '-V']), { code: 0, stdout: `${version}\n` })
  const v = await node([AGENT, '-v'])
  t.equal(v.code, 2, 'the agent has no -v')
  t.match(v.stderr, /Unknown option '-v' \(the version is -V or --version\)/)
})

t.test('every --help has examples: a first run, a CI gate with --format junit, a re-check', async (t) => {
  for (const args of [[], ['run']]) {
    const r = await cli([...args, '--help'])
    t.equal(r.code, 0)
    t.match(r.stdout, /Examples:\n {2}# a first run[^\n]*\n(?: {2}#[^\n]*\n)* {2}portcheck run -i hosts\.yaml\n/, `portcheck ${args.join(' ')} --help: a first run`)
    t.match(r.stdout, /\n {2}portcheck run -i hosts\.yaml --wait 120 --format junit -o portcheck\.junit\.xml\n/, 'a CI gate')
    t.match(r.stdout, /# re-check after a fix[^]*\n {2}portcheck run -i hosts\.yaml\n/, 'a re-check')
  }
  t.match((await cli(['serve', '--help'])).stdout, /# re-check only what was blocked or unproven in run RUN-ID\n {2}curl --cacert ~\/\.portcheck\/tls\/cert\.pem -X POST https:\/\/HOST:7070\/api\/runs \\\n {4}-H "Authorization: Bearer \$TOKEN" -H 'content-type: application\/json' -d '\{"rerunOf":"RUN-ID"\}'/)
  for (const args of [['plan'], ['catalog', 'list'], ['catalog', 'show'], ['catalog', 'validate']]) {
    const r = await cli([...args, '--help'])
    t.match(r.stdout, new RegExp(`Examples:\\n(?: {2}#[^\\n]*\\n {2}portcheck ${args.join(' ')}(?: [^\\n]*)?\\n\\n?)+`), `portcheck ${args.join(' ')} --help`)
    t.same(r.stdout.split('\n').filter((l) => l.length > 78 && /^ {2}(#|portcheck)/.test(l)), [], 'no example is broken by the help\'s wrapping at 80 columns')
  }
  t.match((await node(['packages/agent/bin/portcheck-agent.js', '--help'])).stdout, /Examples:\n {2}# as the coordinator prints it, on host fe1[^\n]*\n {2}#[^\n]*\n {2}curl -fsSk --pinnedpubkey sha256\/\/KEY https:\/\/10\.0\.0\.5:7070\/agent\/portcheck-agent\.mjs \\\n {4}\| node --input-type=module - --coordinator wss:\/\/10\.0\.0\.5:7070 \\\n {4}--token CREDENTIAL --name fe1 --pin sha256:HEX\n/)
})

t.test('an address in use: which one, and what to do; exit 2, no stack trace', async (t) => {
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve))
  t.teardown(() => holder.close())
  const { port } = holder.address() as AddressInfo
  for (const command of ['run', 'serve']) {
    const r = await cli([command, '-i', 'examples/demo/inventory.yaml', '--listen', `127.0.0.1:${port}`])
    t.equal(r.code, 2, command)
    t.match(r.stderr, `portcheck: PC_ERR_LISTEN: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`)
    t.match(r.stderr, `Another process already listens on 127.0.0.1:${port}`)
    t.match(r.stderr, /choose another port with --listen HOST:PORT/)
    t.match(r.stderr, `ss -ltnp 'sport = :${port}'`)
    t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace')
  }
})

t.test('a second demo on the same machine: which address is taken, and what to do; exit 2', async (t) => {
  // The demo stages a fault on tcp 127.0.0.15:15432. Held already (another demo running here)
  // is just as good for this test.
  const holder = net.createServer()
  const held = await new Promise<boolean>((resolve) => {
    holder.once('error', () => resolve(false))
    holder.listen({ host: '127.0.0.15', port: 15432 }, () => resolve(true))
  })
  if (held) t.teardown(() => holder.close())
  const r = await node(['scripts/demo.js', '--no-dashboard'])
  t.equal(r.code, 2)
  t.match(r.stderr, /^demo: tcp 127\.0\.0\.15:15432 is already in use \(EADDRINUSE\); the demo stages a fault on it\.\ndemo: another `npm run demo` is probably running on this machine [^\n]*: stop it, then run the demo again\.\ndemo: to see what holds the port: ss -tlnp 'sport = :15432'\n$/)
  t.notMatch(r.stderr, /Unhandled|\n\s+at /, 'no stack trace')
})

t.test('off a terminal, at --log-level warn, the wait names the missing agents', async (t) => {
  // 127.48.0.x, as the Ctrl-C test below (subtests run one at a time).
  const dir = t.testdir()
  const inv = path.join(dir, 'hosts.yaml')
  const hosts = [['lb1', 11, 'lb'], ['app1', 12, 'app'], ['app2', 13, 'app'], ['db1', 14, 'db'], ['db2', 15, 'db']] as const
  writeFileSync(inv, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${hosts.map(([n, i, r]) => `  - { name: ${n}, address: 127.48.0.${i}, roles: [${r}] }`).join('\n')}\n`)
  const agents: Array<ReturnType<typeof startAgent>> = []
  t.teardown(() => Promise.all(agents.map((a) => a.close())))
  const r = await cli(['run', '-i', inv, '--listen', '127.0.0.1:0', '--token', 'cli-token', '--wait', '4', '--log-level', 'warn'], {
    onStderr: (stderr) => {
      if (!/Waiting up to/.test(stderr) || agents.length > 0) return
      for (const [name, i] of hosts.slice(0, 3)) {
        const args = joinArgs(stderr, name)
        const arg = (flag: string): string => args[args.indexOf(flag) + 1] as string
        agents.push(startAgent({ coordinator: arg('--coordinator'), token: arg('--token'), pin: arg('--pin'), name, bind: `127.48.0.${i}`, logger: silentLogger(), reconnectMinMs: 100 }))
      }
    }
  })
  t.equal(r.code, 3, 'db1 and db2 never joined: inconclusive')
  t.match(r.stderr, /\nportcheck: waiting for 2 of 5 agents \(0:0[1-4] left\): db1, db2; start them with the commands above\n/)
})

function node (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

function silentLogger (): import('pino').Logger {
  return pinoLogger({ level: 'silent' })
}

t.test('bad input of every kind: exit 2, the file and the problem, no stack, no internal error', async (t) => {
  const dir = t.testdir()
  const demo = path.resolve('examples/demo/catalog.yaml')
  const host = '  - { name: app1, address: 198.18.0.1, roles: [app] }\n'
  let bomb = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
  for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`
  const files: Record<string, string> = {
    'bomb.yaml': `catalog: ${demo}\nhosts:\n${host}${bomb}`,
    'deep.yaml': `catalog: ${demo}\nhosts: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
    'big.yaml': `catalog: ${demo}\nhosts:\n${host}${'#'.repeat(5 * 1024 * 1024)}\n`,
    'long.yaml': `catalog: ${demo}\nhosts:\n  - { name: "${'x'.repeat(1_000_000)}", address: 198.18.0.1, roles: [app] }\n`,
    'bomb-catalog.yaml': `id: bomb\ntitle: Bomb\n${bomb}`
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  const expected: Array<[string[], RegExp]> = [
    [['plan', '-i', 'bomb.yaml'], /^portcheck: PC_ERR_INVENTORY_INVALID: inventory \S+bomb\.yaml is invalid:\n {2}\S+bomb\.yaml:\d+:\d+: aliases expand too far/],
    [['plan', '-i', 'deep.yaml'], /^portcheck: PC_ERR_INVENTORY_INVALID: .*\n {2}\S+deep\.yaml:2:71: nested deeper than 64 levels/],
    [['plan', '-i', 'big.yaml'], /^portcheck: PC_ERR_INVENTORY_INVALID: .*\n {2}\S+big\.yaml: too large \(5,242,\d{3} bytes\): a catalog or inventory may have at most 4,194,304 bytes/],
    [['plan', '-i', 'long.yaml'], /\S+long\.yaml:3:\d+: hosts\[0\]\.name: must be a host name: .* \(got "x{200}…" \(1,000,000 characters\)\)\n$/],
    [['catalog', 'validate', 'bomb-catalog.yaml'], /^portcheck: PC_ERR_CATALOG_INVALID: catalog \S+bomb-catalog\.yaml is invalid:\n {2}\S+:\d+:\d+: aliases expand too far/]
  ]
  for (const [args, re] of expected) {
    const r = await cli(args.map((a) => a.endsWith('.yaml') ? path.join(dir, a) : a))
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, re)
    t.ok(r.stderr.length < 1000, `stderr is short (${r.stderr.length} characters)`)
    t.notMatch(r.stderr, /internal error|PC_ERR_INTERNAL|\n\s+at /, 'no crash, no stack')
    t.equal(r.stdout, '')
  }
})

t.test('a 4.7M-check plan is refused with the figure before any check is built, and before `run` waits for agents', async (t) => {
  const dir = t.testdir()
  writeFileSync(path.join(dir, 'wide.yaml'), 'id: wide\ntitle: Wide\nroles:\n  a: { title: A }\n  b: { title: B }\nflows:\n  - { id: ALL, from: a, to: b, tcp: ["1-65535"], purpose: everything }\n')
  const hosts = [...Array.from({ length: 8 }, (_, i) => `  - { name: a${i}, address: 198.18.1.${i + 1}, roles: [a] }`), ...Array.from({ length: 9 }, (_, i) => `  - { name: b${i}, address: 198.18.2.${i + 1}, roles: [b] }`)]
  const inv = path.join(dir, 'hosts.yaml')
  writeFileSync(inv, `catalog: ./wide.yaml\nhosts:\n${hosts.join('\n')}\n`)
  for (const args of [['plan', '-i', inv, '--format', 'json'], ['run', '-i', inv, '--listen', '127.0.0.1:0', '--wait', '60', '--format', 'json']]) {
    const r = await cli(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, /^portcheck: PC_ERR_CATALOG_INVALID: the plan would have up to 4,718,520 checks, more than the 1,000,000 a run can hold; the largest flow: ALL \(a to b\) 4,718,520 \(72 host pairs × 65,535 ports\)\. Narrow it: fewer hosts in these roles per run \(split the inventory and run each part\)/)
    t.notMatch(r.stderr, /Waiting up to|npx portcheck-agent/, 'refused before listening')
    t.equal(r.stdout, '')
  }
})
