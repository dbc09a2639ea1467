// `npm run bench -- agent-dist`: the agent as the coordinator serves it. Sizes of what a node
// downloads, the time to make the standalone executable, and each join form's start-up: to
// `--help`, and from the printed command to the agent registered (download included), on
// loopback against a TLS coordinator, as the join commands are printed.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import pino from 'pino'
import { loadCatalogFile } from '../packages/coordinator/src/catalog/load-catalog.js'
import { createSelfSigned } from '../packages/coordinator/src/security/certificate.js'
import { buildCoordinator } from '../packages/coordinator/src/server/coordinator.js'
import { allJoined, watchAgent } from './agent-join.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '..')
const RUNS = 5

/** One way of starting the agent, and its figures. */
export interface FormFigures {
  form: string
  /** From the command's start to `--help` printed, median and max of RUNS, in ms. */
  helpMs: [number, number]
  /** From the command's start to the agent registered, median and max of RUNS, in ms. */
  joinedMs: [number, number]
  /** RSS of what the command leaves running once the agent is registered and idle (summed: npx stays as the agent's parent), in MB. */
  idleRssMB: number
}

/** What the section reports. */
export interface AgentDistFigures {
  tarballKB: number
  bundleKB: number
  executableMB: number
  buildMs: number
  forms: FormFigures[]
}

const medianMax = (xs: number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b)
  return [Math.round(s[Math.floor(s.length / 2)] as number), Math.round(s.at(-1) as number)]
}

async function timed (fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

/** The RSS of the shell `pid` and what it started, summed, in MB. */
function rssOfTree (pid: number): number {
  let sum = 0
  for (const entry of [pid, ...children(pid)]) {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))
    sum += Number(m?.[1] ?? 0) / 1024
  }
  return Math.round(sum * 10) / 10
}

/** Every descendant of `pid`. */
function children (pid: number): number[] {
  const out: number[] = []
  let list: string
  try { list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8') } catch { return out }
  for (const c of list.trim().split(/\s+/).filter((x) => x !== '')) out.push(Number(c), ...children(Number(c)))
  return out
}

/**
 * Measures the section's figures, timing each form `runs` times. Linux only (the executable,
 * /proc). Throws, with what the command said, if a join command does not bring its agent up.
 */
export async function agentDist (log: (line: string) => void, runs = RUNS): Promise<AgentDistFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-bench-dist-'))
  try {
    const catalog = await loadCatalogFile(path.join(ROOT, 'examples/demo/catalog.yaml'))
    const c = await buildCoordinator({ catalog, hosts: [{ name: 'bench1', address: '127.0.0.1', roles: ['app'] }], settings: {}, logger: pino({ level: 'silent' }), tls: await createSelfSigned(['127.0.0.1']), stateDir: path.join(dir, 'state') })
    await c.listen({ host: '127.0.0.1', port: 0 })
    try {
      const a = c.agentArtifacts
      const t0 = performance.now()
      const exe = await a.executable()
      const buildMs = performance.now() - t0
      if (exe.path === null) throw new Error(`no standalone agent here: ${exe.reason}`)
      if (a.bundle.path === null || a.tarball.path === null) throw new Error('the agent is not built: run `npm run build`')
      const exePath = exe.path
      log(`  executable made in ${Math.round(buildMs)} ms`)

      const standalone = c.executableJoinCommand('bench1') as string
      const nodeForm = c.joinCommand('bench1')
      const npxForm = nodeForm.replace(/ (https:\/\/\S+)\/agent\/portcheck-agent\.mjs \| node --input-type=module - /, ' -o portcheck-agent.tgz $1/agent/portcheck-agent.tgz && npx --yes ./portcheck-agent.tgz ')
      const forms: Array<[string, string]> = [
        ['standalone executable, download included', standalone],
        ['standalone executable, already downloaded', `./portcheck-agent ${standalone.slice(standalone.indexOf('--coordinator '))}`],
        ['bundle piped to node (the printed form)', nodeForm],
        ['npm package with npx, empty npm cache', npxForm]
      ]
      /** A fresh home: an empty npm cache, nothing downloaded, unless `withExecutable`. */
      const freshHome = async (withExecutable: boolean): Promise<string> => {
        const home = mkdtempSync(path.join(dir, 'home-'))
        if (withExecutable) await run('cp', [exePath, path.join(home, 'portcheck-agent')])
        return home
      }
      const env = (home: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home })
      const out: FormFigures[] = []
      for (const [form, command] of forms) {
        const preloaded = form.includes('already downloaded')
        // The same command with --help in place of the agent's arguments.
        const help = `${command.slice(0, command.indexOf('--coordinator '))}--help`
        const helpRuns: number[] = []
        for (let i = 0; i < runs; i++) {
          const home = await freshHome(preloaded)
          helpRuns.push(await timed(async () => await run('/bin/sh', ['-c', help], { cwd: home, env: env(home) })))
        }
        const joinedRuns: number[] = []
        let idleRssMB = 0
        for (let i = 0; i < runs; i++) {
          const home = await freshHome(preloaded)
          const t0 = performance.now()
          const child = spawn('/bin/sh', ['-c', command], { cwd: home, env: env(home), stdio: ['ignore', 'ignore', 'pipe'], detached: true })
          try {
            await allJoined(c, [watchAgent('bench1', child)], 120_000)
          } catch (err) {
            process.kill(-(child.pid as number), 'SIGTERM')
            throw new Error(`${form}: ${(err as Error).message}`)
          }
          joinedRuns.push(performance.now() - t0)
          if (i === 0) {
            await new Promise((resolve) => setTimeout(resolve, 2000))
            idleRssMB = rssOfTree(child.pid as number)
          }
          const left = new Promise<void>((resolve) => c.hub.once('left', () => resolve()))
          process.kill(-(child.pid as number), 'SIGTERM')
          await left
        }
        const f: FormFigures = { form, helpMs: medianMax(helpRuns), joinedMs: medianMax(joinedRuns), idleRssMB }
        log(`  ${form}: --help ${f.helpMs.join(' / ')} ms, joined ${f.joinedMs.join(' / ')} ms, idle ${idleRssMB} MB`)
        out.push(f)
      }
      return {
        tarballKB: Math.round(a.tarball.bytes / 1024),
        bundleKB: Math.round(a.bundle.bytes / 1024),
        executableMB: Math.round((exe.bytes / 1048576) * 10) / 10,
        buildMs: Math.round(buildMs),
        forms: out
      }
    } finally {
      await c.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
