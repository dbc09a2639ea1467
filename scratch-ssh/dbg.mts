import { spawn } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { BOOTSTRAP, LAUNCH_SCRIPT } from '../packages/coordinator/src/launch/remote-script.js'
const tmp = '/work/wt-ssh/scratch-ssh/tmp2'; rmSync(tmp, { recursive: true, force: true }); mkdirSync(tmp)
for (let i = 0; i < 30; i++) { const pin = '-'
const t0 = Date.now()
const child = spawn('/bin/sh', ['-c', BOOTSTRAP], { env: { PATH: process.env.PATH, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'inherit'] })
child.stdout.on('data', (d) => process.stdout.write(`${Date.now() - t0} ${d}`))
const s = Buffer.from(LAUNCH_SCRIPT); child.stdin.write(`${s.length}\n`); child.stdin.write(s)
const agent = Buffer.from(`#!/bin/sh\necho hi >&2\nexec sleep 300\n`)
child.stdin.write(['start', 'executable', String(agent.length), '0', 'wss://x:1', 'db1', pin, 'warn', 'Zr3c0mmYyKkP2b7s8cPq-0l4dH1jW9sQ6vXn5aTuE_g', '0.1.0'].join('\n') + '\n')
child.stdin.write(agent)
await new Promise((r) => setTimeout(r, 500))
child.stdin.end()
await new Promise((r) => child.on('close', r))
console.log('closed', Date.now() - t0)
}
