import { writeFileSync } from 'node:fs'
import dgram from 'node:dgram'
import path from 'node:path'
import t from 'tap'
import { pino } from 'pino'
import { startAgent } from '../../packages/agent/src/index.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { hasScript, inPty, screen } from '../support/pty.js'

// What `portcheck` shows on a terminal, through a pseudo-terminal (script(1) from util-linux).
const CLI = 'packages/coordinator/bin/portcheck.js'
const env = { ...process.env, NO_COLOR: '1' }

t.test('the waiting and progress lines: names, countdown, elapsed time and estimate; log lines never land on them', { skip: hasScript ? false : 'script(1) from util-linux is not installed' }, async (t) => {
  // 127.49.0.x: this file's. d1 is reached at .15, where nothing forwards to its agent on .25 and
  // sockets swallow every datagram: with one probe at a time per agent, each check waits out its
  // timeout, so checks finish one after another for a few seconds, as in a long run.
  const dir = t.testdir()
  const ports = [20101, 20102, 20103, 20104, 20105, 20106]
  writeFileSync(path.join(dir, 'catalog.yaml'), `id: pty\ntitle: Pty\nroles:\n  src: { title: Sources }\n  dst: { title: Targets }\nflows:\n  - { id: PTY-01, from: src, to: dst, udp: [${ports.join(', ')}], purpose: silent, ref: test }\n`)
  const hosts = [['s1', 11, 'src'], ['s2', 12, 'src'], ['d1', 15, 'dst']] as const
  const inv = path.join(dir, 'hosts.yaml')
  writeFileSync(inv, `catalog: ./catalog.yaml\nhosts:\n${hosts.map(([n, i, r]) => `  - { name: ${n}, address: 127.49.0.${i}, roles: [${r}]${r === 'dst' ? ', nat: true' : ''} }`).join('\n')}\n`)
  for (const port of ports) {
    const sock = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => sock.bind(port, '127.49.0.15', resolve))
    t.teardown(() => sock.close())
  }
  const agents: Array<ReturnType<typeof startAgent>> = []
  t.teardown(() => Promise.all(agents.map((a) => a.close())))
  const start = (url: string, names: readonly string[]): void => {
    for (const [name, i] of hosts) {
      if (names.includes(name)) agents.push(startAgent({ coordinator: url, insecure: true, token: agentCredential('pty-token', name), name, bind: `127.49.0.${name === 'd1' ? 25 : i}`, logger: pino({ level: 'silent' }), reconnectMinMs: 100 }))
    }
  }
  let url: string | null = null
  let rest = false
  const { code, raw } = await inPty([process.execPath, CLI, 'run', '-i', inv, '--listen', '127.0.0.1:0', '--token', 'pty-token', '--insecure', '--wait', '30', '--timeout', '600', '--concurrency', '1', '--log-level', 'info'], {
    cols: 120,
    env,
    onOutput: (out) => {
      const m = /--coordinator (ws:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (url === null && m !== null) {
        url = m[1] as string
        start(url, ['s1'])
      }
      // The other two a second after s1 joined: the waiting line counts down with their names meanwhile.
      if (url !== null && !rest && out.includes('waiting for 2 of 3 agents')) {
        rest = true
        setTimeout(() => start(url as string, ['s2', 'd1']), 1000)
      }
    }
  })
  t.not(code, 0, 'nothing passes')
  t.match(raw, /\r\x1b\[K {2}waiting for 3 of 3 agents, 0:(30|29) left: s1, s2, d1 \(start them with the commands above\)/, 'the waiting line names every missing agent and where the commands to start them are')
  t.match(raw, /waiting for 2 of 3 agents, 0:2\d left: s2, d1 \(start them with the commands above\)/, 'it names those still missing as the others join')
  t.match(raw, /\r\x1b\[K {2}probing: \d+\/12 checks, 0:0\d elapsed, about 0:0\d left/, 'the progress line has the elapsed time and an estimate')
  const lines = screen(raw)
  const logs = lines.filter((l) => /\b(INFO|WARN)\b/.test(l))
  t.ok(logs.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO {2}portcheck: agent joined .*agent=d1/.test(l)), 'an agent joining is logged while the waiting line shows, on a line of its own')
  t.ok(logs.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO {2}portcheck: run finished/.test(l)), 'the end of the run is logged while the progress line shows, on a line of its own')
  t.same(logs.filter((l) => !/^\d\d:\d\d:\d\d\.\d{3} (INFO|WARN)/.test(l)), [], 'every log line starts at the beginning of its line')
  t.same(lines.filter((l) => /waiting for|probing:/.test(l)), [], 'neither status line is left on the screen')
  t.match(lines.join('\n'), /portcheck · Pty \(pty\) · run/, 'the report follows')
})

t.test('catalog show fits the terminal, --wide shows everything', { skip: hasScript ? false : 'script(1) from util-linux is not installed' }, async (t) => {
  for (const cols of [100, 160]) {
    const r = await inPty([process.execPath, CLI, 'catalog', 'show', 'cisco-cloudcenter'], { cols, env })
    t.equal(r.code, 0)
    const lines = screen(r.raw)
    t.same(lines.filter((l) => [...l].length > cols), [], `no line is wider than ${cols} columns`)
    t.match(lines.join('\n'), /CC-CCM-80-IN-USERS/, 'every flow is still there')
    t.match(lines.join('\n').replace(/\s+/g, ' '), /CCM Ports, 80, Ingress \(optional\), 0\.0\.0\.0\/0 \(or appropriate IP address range for user browsers that are allowed to access\)/, 'nothing of a reference is cut, only wrapped')
  }
  const wide = await inPty([process.execPath, CLI, 'catalog', 'show', 'cisco-cloudcenter', '--wide'], { cols: 100, env })
  t.ok(screen(wide.raw).some((l) => /CC-CCM-80-IN-USERS .*CCM Ports, 80, Ingress \(optional\), 0\.0\.0\.0\/0 \(or appropriate IP address range for user browsers that are allowed to access\) +HTTP to HTTPS redirection$/.test(l)), '--wide: one line per row, as wide as it takes')
})
