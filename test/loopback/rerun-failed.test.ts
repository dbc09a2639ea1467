import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { joinArgs } from '../support/join.js'
import { startAgent, type Agent } from '../../packages/agent/src/index.js'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { silent } from '../support/loopback.js'

// 127.53.0.x belongs to this file. db2 is reached through NAT at .15 (`nat: true`); in the first
// run its agent runs on .25 and nothing forwards .15, so every flow to db2 is refused. Before the
// re-run, db2's agent moves to .15: what failed now passes.
const CLI = 'packages/coordinator/bin/portcheck.js'
const TOKEN = 'rerun-token-53'
// The coordinator's state (TLS key) of this test, never the user's ~/.portcheck.
const STATE = mkdtempSync(path.join(tmpdir(), 'portcheck-rerun-state-'))
t.teardown(() => rmSync(STATE, { recursive: true, force: true }))
const HOSTS = [['lb1', 11, 'lb'], ['app1', 12, 'app'], ['app2', 13, 'app'], ['db1', 14, 'db'], ['db2', 15, 'db']] as const

interface CliRun { code: number | null, stdout: string, stderr: string }

/** Runs the CLI; once it prints the join commands, starts an agent per host, bound where `bind` says. */
function cli (args: string[], bind?: (name: string, n: number) => string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORTCHECK_STATE_DIR: STATE } })
    let stdout = ''
    let stderr = ''
    const agents: Agent[] = []
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (bind !== undefined && /Waiting up to/.test(stderr) && agents.length === 0) {
        // Each agent from the join command printed for its host: wss://, its own credential, the pin.
        for (const [name, n] of HOSTS) {
          const args = joinArgs(stderr, name)
          const arg = (flag: string): string => args[args.indexOf(flag) + 1] as string
          agents.push(startAgent({ coordinator: arg('--coordinator'), token: arg('--token'), pin: arg('--pin'), name, bind: bind(name, n), logger: silent, reconnectMinMs: 100 }))
        }
      }
    })
    child.on('close', (code) => { void Promise.all(agents.map((a) => a.close())).then(() => resolve({ code, stdout, stderr })) })
  })
}

t.test('run --rerun-failed REPORT re-checks only what failed, then diff says what got fixed', async (t) => {
  const dir = t.testdir()
  const inventory = path.join(dir, 'hosts.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, i, r]) => `  - { name: ${n}, address: 127.53.0.${i}, roles: [${r}]${n === 'db2' ? ', nat: true' : ''} }`).join('\n')}\n`)
  const common = ['-i', inventory, '--listen', '127.0.0.1:0', '--token', TOKEN, '--wait', '30', '--timeout', '1000', '--log-level', 'error']
  const first = path.join(dir, 'first.json')
  const second = path.join(dir, 'second.json')

  const r1 = await cli(['run', ...common, '--format', 'json', '--output', first], (name, n) => `127.53.0.${name === 'db2' ? 25 : n}`)
  t.equal(r1.code, 1, 'the first run finds flows to db2 blocked')
  const a = JSON.parse(readFileSync(first, 'utf8')) as RunReport
  const failed = a.checks.filter((c) => c.status === 'blocked' || c.status === 'inconclusive')
  t.ok(failed.length > 0 && failed.every((c) => c.to === 'db2' && c.reason === 'refused'), `${failed.length} checks to db2 refused, nothing else failed`)
  t.ok(a.checks.every((c) => 'remedy' in c && 'purpose' in c), 'the JSON report carries each check\'s fix and purpose')
  t.equal(a.rerunOf, null)

  const r2 = await cli(['run', ...common, '--rerun-failed', first, '--format', 'json', '--output', second], (_, n) => `127.53.0.${n}`)
  t.equal(r2.code, 0, 'the re-run passes')
  const b = JSON.parse(readFileSync(second, 'utf8')) as RunReport
  t.equal(b.rerunOf, a.id, 'it says which run it re-checks')
  t.same(b.checks.map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`), failed.map((c) => `${c.from ?? ''}>${c.to ?? ''} ${c.protocol}/${c.port}`), 'exactly the failed checks, in plan order')
  t.ok(b.checks.every((c) => c.status === 'pass'), 'all of them pass now')
  t.same(b.checks.map((c) => c.index), b.checks.map((_, i) => i), 'numbered from 0')

  const diff = await cli(['diff', first, second])
  t.equal(diff.code, 0, 'nothing newly broken')
  t.match(diff.stdout, `newly broken 0 · fixed ${failed.length} · still blocked or unproven 0 · not re-checked ${a.checks.length - failed.length} · unchanged 0`)
  t.match(diff.stdout, `, a re-check of ${a.id})`)

  const nothing = await cli(['run', ...common, '--rerun-failed', second])
  t.equal(nothing.code, 0)
  t.match(nothing.stderr, `portcheck: nothing to re-check: ${second} (run ${b.id}) has no blocked or inconclusive check`)

  const other = path.join(dir, 'other.json')
  writeFileSync(other, JSON.stringify({ ...a, catalog: 'oakestra' }))
  const refused = await cli(['run', ...common, '--rerun-failed', other])
  t.equal(refused.code, 2, 'a report of another catalog is refused, before waiting for any agent')
  t.match(refused.stderr, `portcheck: PC_ERR_REPORT_MISMATCH: ${other} is a report of catalog "oakestra" (run ${a.id}), but this run checks catalog "demo"`)
  t.notMatch(refused.stderr, /Waiting up to/)
})
