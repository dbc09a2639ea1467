// `npm run bench`: runs every scenario with real processes and writes the figures, with the
// machine, the date and the command, to docs/benchmarks.md. Run as root for the namespace lab
// (nftables drops, side by side with nc and nmap); without root the matrix runs on loopback
// without drops and the side-by-side scenario is skipped.
//   npm run bench                  all scenarios
//   npm run bench -- matrix scale  only those (matrix, scale, agent, agent-dist, side, field); the other
//                                  sections of docs/benchmarks.md are kept as they were
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FIELD_SCENARIOS, fieldRuns, median, type FieldFigures } from './field.js'
import { agentFootprint, coordinatorScale, matrixRun, sideBySide, type MatrixFigures } from './scenarios.js'
import { agentDist } from './agent-dist.js'

const SECTIONS = ['matrix', 'scale', 'agent', 'agent-dist', 'side', 'field'] as const
const only = new Set(process.argv.slice(2))
for (const name of only) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    process.stderr.write(`unknown scenario "${name}": expected ${SECTIONS.join(', ')}\n`)
    process.exit(2)
  }
}
const want = (name: string): boolean => only.size === 0 || only.has(name)
/** Lines of the section being written; each section is kept between markers of its own. */
let lines: string[] = []
const sections = new Map<string, string[]>()
const begin = (name: string): void => { lines = []; sections.set(name, lines) }
const log = (s: string): void => { process.stderr.write(s + '\n') }

function version (cmd: string, args: string[]): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? '' } catch { return 'not installed' }
}

/** Where and when a section was measured: each section says it, since they can be re-run alone. */
function measured (): string {
  return `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}, root: ${process.getuid?.() === 0 ? 'yes' : 'no'}; \`npm run bench${only.size > 0 ? ` -- ${[...only].join(' ')}` : ''}\`.`
}

if (want('matrix')) {
  log('matrix runs…')
  begin('matrix')
  lines.push('## 1. Matrix run: real agents, real sockets, 20% silently dropped', '')
  lines.push('Each agent is its own process bound to its own address; a full mesh over TCP and UDP ports; nftables drops every fifth check. Wall time is from "every agent joined" to the final report. A verdict is wrong unless dropped checks are `blocked timeout` and the others `pass`.', '')
  lines.push('| agents | checks | dropped | probe timeout | wall time | ratio to timeout | p50 / p99 latency of passes | coordinator peak RSS / CPU | agent peak RSS | wrong verdicts | variant |')
  lines.push('| ---: | ---: | ---: | --- | ---: | ---: | --- | --- | ---: | ---: | --- |')
  const runs: Array<[number, number[], number[], number | 'auto']> = [
    [10, [9001, 9002, 9003, 9004, 9005, 9006], [9101, 9102, 9103, 9104, 9105, 9106], 3000],
    [50, [9001, 9002], [9101, 9102], 3000],
    [10, [9001, 9002, 9003, 9004, 9005, 9006], [9101, 9102, 9103, 9104, 9105, 9106], 'auto'],
    [50, [9001, 9002], [9101, 9102], 'auto']
  ]
  for (const [n, tcp, udp, timeout] of runs) {
    const f: MatrixFigures = await matrixRun(n, tcp, udp, timeout)
    log(`  ${n} agents, timeout ${String(timeout)}: ${f.wallMs} ms, wrong ${f.wrong} ${f.wrongSamples.join('; ')}`)
    lines.push(`| ${f.agents} | ${f.checks} | ${f.dropped} | ${timeout === 'auto' ? 'auto (max 3000 ms)' : `${timeout} ms`} | ${f.wallMs} ms | ${f.ratio ?? '–'} | ${f.p50LatencyMs ?? '–'} / ${f.p99LatencyMs ?? '–'} ms | ${f.coordinatorPeakRssMB} MB / ${f.coordinatorCpuMs} ms | ${f.agentPeakRssMB} MB | ${f.wrong} | ${f.variant} |`)
  }
  lines.push('', 'Target: 50 agents / 10,000 checks with 20% dropped complete within 1.3 × the probe timeout + 1 s (4.9 s for 3 s), with 0 wrong verdicts.', '')
}

if (want('scale')) {
  log('coordinator at scale…')
  begin('scale')
  lines.push('## 2. Coordinator at scale: simulated agents', '')
  lines.push('Simulated agents speak the real protocol over real WebSockets from a separate process and answer every probe at once (result on the source\'s connection, receipt on the target\'s), so the coordinator does all its work: plan expansion, scheduling, ingestion, the barrier, verdicts and the streamed JSON report. Figures are the coordinator process\'s own.', '')
  lines.push('| agents | checks | plan | run | JSON report | total | peak RSS | CPU | wrong |')
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const n of [100, 300, 1000]) {
    const r = await coordinatorScale(n)
    log(`  ${n} agents: ${Math.round(r.totalMs ?? 0)} ms, ${Math.round(r.peakRssMB ?? 0)} MB`)
    lines.push(`| ${r.agents} | ${r.checks} | ${Math.round(r.planMs ?? 0)} ms | ${Math.round(r.runMs ?? 0)} ms | ${Math.round(r.reportMs ?? 0)} ms (${Math.round((r.reportBytes ?? 0) / 1048576)} MB) | ${((r.totalMs ?? 0) / 1000).toFixed(1)} s | ${Math.round(r.peakRssMB ?? 0)} MB | ${((r.cpuMs ?? 0) / 1000).toFixed(1)} s | ${r.wrong} |`)
  }
  lines.push('', 'Target: 1,000,000 checks over 1,000 agents in at most 30 s, peak RSS at most 1 GB.', '')
}

if (want('agent')) {
  log('agent footprint…')
  const f = await agentFootprint()
  begin('agent')
  lines.push('## 3. Agent footprint', '')
  lines.push('Installed from its `npm pack` tarball with production dependencies only (`npm install --omit=dev`).', '')
  lines.push('| tarball | installed size | packages | start to registered (median / max of 5) | idle RSS |')
  lines.push('| --- | ---: | ---: | ---: | ---: |')
  lines.push(`| ${f.tarball} (${f.tarballKB} KB) | ${f.installedMB} MB | ${f.packages} | ${f.registerMsMedian} / ${f.registerMsMax} ms | ${f.idleRssMB} MB |`)
  lines.push('', 'Target: at most 3 MB installed, at most 20 packages, registered within 500 ms, idle RSS at most 50 MB.', '')
}

if (want('agent-dist')) {
  log('the agent as the coordinator serves it…')
  begin('agent-dist')
  lines.push('## 3b. The agent served by the coordinator: sizes and start-up', '')
  if (process.platform !== 'linux') lines.push('Skipped: the standalone agent is made on Linux only.', '')
  else {
    const f = await agentDist(log)
    lines.push(`What a node downloads from \`GET /agent/…\`: the npm package ${f.tarballKB} KB, the single-file bundle ${f.bundleKB} KB, the standalone executable ${f.executableMB} MB (the coordinator's own Node.js binary with the bundle injected; made once per agent and Node.js version in ${(f.buildMs / 1000).toFixed(1)} s, then cached in the state directory). Each join form runs as printed, through \`sh -c\`, on loopback against a TLS coordinator (curl checks its pin), with a fresh HOME (an empty npm cache, nothing downloaded) each time, timed from the command's start to \`--help\` printed (the same command with \`--help\` for the agent's arguments) and to the coordinator's registration, download included unless said. Median / max of 5. Memory is the RSS of what the command leaves running, summed (npx stays as the agent's parent).`, '')
    lines.push('| form | to `--help` | to joined | memory, idle |')
    lines.push('| --- | ---: | ---: | ---: |')
    for (const x of f.forms) lines.push(`| ${x.form} | ${x.helpMs[0]} / ${x.helpMs[1]} ms | ${x.joinedMs[0]} / ${x.joinedMs[1]} ms | ${x.idleRssMB} MB |`)
    lines.push('', 'No target: the figures say what each form costs a node. The executable carries a whole Node.js: about 100 MB over the network, against 160 KB for nodes that have Node.js.', '')
  }
}

if (want('side')) {
  log('side by side…')
  begin('side')
  lines.push('## 4. Side by side: portcheck, nc and nmap on the same lab', '')
  const r = await sideBySide(10, [9001, 9002], [9101, 9102], 3000)
  if (typeof r === 'string') lines.push(`Skipped: ${r}.`, '')
  else {
    lines.push('Ten hosts, one network namespace each, a mesh over 2 TCP and 2 UDP ports (360 checks); every fifth check is dropped by nftables at its target. For nc and nmap, a plain process listens on every port (they cannot bring their own listeners). "Wrong" counts checks reported open that are dropped, or blocked that are open; "undecided" counts checks a tool could not call either way.', '')
    lines.push('| tool | wall time | checks | wrong | undecided | note |')
    lines.push('| --- | ---: | ---: | ---: | ---: | --- |')
    for (const t of r) lines.push(`| ${t.tool} | ${t.wallMs} ms | ${t.checks} | ${t.wrong} | ${t.undecided} | ${t.note} |`)
    lines.push('')
  }
}

if (want('field')) {
  log('field conditions…')
  begin('field')
  lines.push('## 5. Field conditions: loss, latency, a silent interceptor', '')
  lines.push('The field lab (test/lab/field-scenario.ts): ten hosts, one network namespace each, the coordinator in another; a mesh of six TCP and six UDP ports between every pair (1,080 checks), every fifth check dropped by its target\'s nftables. Loss is random, by nftables on each host\'s bridge port (`numgen random mod 1000`); delay is a TUN forwarder in each host, on what it sends to the other hosts only. Ten runs of each, with the agents staying joined. "False blocked" counts checks staged to pass that came out blocked (any reason), "false intercepted" those of them blocked as intercepted; "staged blocks reported" counts drops (and interceptions) reported with exactly their staged verdict. Wall time is from the start of a run to its report, listeners closed.', '')
  lines.push('| scenario | timeout | runs × checks | wall time, median (min–max) | × loss-free | false blocked | false intercepted | inconclusive (lossy-path) | staged blocks reported |')
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  const baselines = new Map<string, number>()
  for (const timeout of [3000, 'auto'] as const) {
    for (const sc of FIELD_SCENARIOS) {
      const f: FieldFigures | string = await fieldRuns(sc.label, sc.s, timeout, 10, (l) => log(`  ${l}`))
      if (typeof f === 'string') { lines.push(`Skipped: ${f}.`, ''); break }
      const m = median(f.wallMs)
      if (sc.base === null) baselines.set(String(timeout), m)
      const base = sc.base === null ? null : baselines.get(String(timeout)) ?? null
      log(`  ${sc.label}, ${String(timeout)}: median ${m} ms, false blocked ${f.falseBlocked}, inconclusive ${f.inconclusive}`)
      lines.push(`| ${sc.label} | ${timeout === 'auto' ? 'auto' : `${timeout} ms`} | ${f.runs} × ${f.checks} | ${m} ms (${f.wallMs[0] ?? 0}–${f.wallMs.at(-1) ?? 0}) | ${base === null ? '1' : (m / base).toFixed(2)} | ${f.falseBlocked} | ${f.falseIntercepted} | ${f.inconclusive} (${f.lossyPath}) | ${f.trueBlocked} / ${f.staged} |`)
    }
  }
  lines.push('', 'Targets: 0 false blocked and 0 false intercepted in every scenario; 5% loss: 0 inconclusive, wall time at most 1.5 × the loss-free run; 20% loss: every drop reported (`lossy-path` allowed for open ports); 150–400 ms between hosts: exact; a LAN with drops and a silent interceptor under `--timeout auto`: under 1 s.', '')
}

const out = path.resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md')
const marker = (name: string, end = false): string => `<!-- bench:${end ? '/' : ''}${name} -->`
// Keep the sections this run did not measure, as they are in the file.
const previous = existsSync(out) ? readFileSync(out, 'utf8') : ''
const kept = (name: string): string[] | null => {
  const a = previous.indexOf(marker(name))
  const b = previous.indexOf(marker(name, true))
  return a === -1 || b === -1 ? null : previous.slice(a + marker(name).length, b).trim().split('\n')
}
const doc: string[] = ['# Benchmarks', '', 'Written by `npm run bench` (benchmarks/run.ts); every figure below comes from real processes. Each section says when and where it was measured; `npm run bench -- NAME` re-runs one section and keeps the others.', '', `Tools: ${version('nmap', ['--version'])}.`, '']
for (const name of SECTIONS) {
  const fresh = sections.get(name)
  const body = fresh !== undefined ? [...fresh.slice(0, 2), measured(), '', ...fresh.slice(2)] : kept(name)
  if (body === null) continue
  doc.push(marker(name), ...body, marker(name, true), '')
}
// The record of what each optimisation changed is kept by hand beside this script.
doc.push(readFileSync(path.join(import.meta.dirname, 'history.md'), 'utf8').trim(), '')
writeFileSync(out, doc.join('\n') + '\n')
log(`written to ${out}`)
