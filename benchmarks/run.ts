// `npm run bench`: runs every scenario with real processes and writes the figures, with the
// machine, the date and the command, to docs/benchmarks.md. Run as root for the namespace lab
// (nftables drops, side by side with nc and nmap); without root the matrix runs on loopback
// without drops and the side-by-side scenario is skipped.
//   npm run bench                  all scenarios
//   npm run bench -- matrix scale  only those (matrix, scale, agent, agent-dist, side, field, ssh-launch,
//                                  serve-memory); the other sections of docs/benchmarks.md are kept as they were
//   PORTCHECK_BENCH_QUICK=1 npm run bench [-- NAMES]
//                                  quick mode: each scenario at a small size (4 agents, 50 simulated,
//                                  one run of each), to see that it works end to end; prints the
//                                  sections on stdout and writes nothing to docs/benchmarks.md
// A scenario whose agents do not all join stops the whole run with a message saying which and
// why (exit 1): no figures are printed or written for a run nobody took part in. A section whose
// target is missed says so in docs/benchmarks.md, and the command exits 1.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FIELD_SCENARIOS, fieldRuns, median, type FieldFigures } from './field.js'
import { agentFootprint, coordinatorScale, matrixRun, sideBySide, type MatrixFigures } from './scenarios.js'
import { agentDist } from './agent-dist.js'
import { sshLaunchRun, sshLaunchUnavailable } from './ssh-launch.js'
import { sampleAt, serveMemory } from './serve-memory.js'

const SECTIONS = ['matrix', 'scale', 'agent', 'agent-dist', 'side', 'field', 'ssh-launch', 'serve-memory'] as const
const QUICK = process.env.PORTCHECK_BENCH_QUICK === '1'
// Scenarios clean up after themselves (finally blocks) before their error reaches here; exit even
// if something they started still holds the event loop.
process.on('uncaughtException', (err) => {
  process.stderr.write(`npm run bench failed: ${err.stack ?? err.message}\nNothing was written to docs/benchmarks.md.\n`)
  process.exit(1)
})
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
/** Targets missed, said at the end (the command then exits 1). */
const missed: string[] = []

function version (cmd: string, args: string[]): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? '' } catch { return 'not installed' }
}

/** Where and when a section was measured: each section says it, since they can be re-run alone. */
function measured (): string {
  return `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}, root: ${process.getuid?.() === 0 ? 'yes' : 'no'}; \`${QUICK ? 'PORTCHECK_BENCH_QUICK=1 ' : ''}npm run bench${only.size > 0 ? ` -- ${[...only].join(' ')}` : ''}\`.`
}

if (want('matrix')) {
  log('matrix runs…')
  begin('matrix')
  lines.push('## 1. Matrix run: real agents, real sockets, 20% silently dropped', '')
  lines.push('Each agent is its own process bound to its own address, started with the arguments of its host\'s join command (TLS with the coordinator\'s pin, its own credential); a full mesh over TCP and UDP ports; nftables drops every fifth check. Wall time is from "every agent joined" to the final report. A verdict is wrong unless dropped checks are `blocked timeout` and the others `pass`.', '')
  lines.push('| agents | checks | dropped | probe timeout | wall time | rounds | ratio to timeout | p50 / p99 latency of passes | coordinator peak RSS / CPU | agent peak RSS / all agents\' CPU | wrong verdicts | variant |')
  lines.push('| ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- |')
  const runs: Array<[number, number[], number[], number | 'auto']> = QUICK
    ? [[4, [9001], [9101], 3000], [4, [9001], [9101], 'auto']]
    : [
        [10, [9001, 9002, 9003, 9004, 9005, 9006], [9101, 9102, 9103, 9104, 9105, 9106], 3000],
        [50, [9001, 9002], [9101, 9102], 3000],
        [10, [9001, 9002, 9003, 9004, 9005, 9006], [9101, 9102, 9103, 9104, 9105, 9106], 'auto'],
        [50, [9001, 9002], [9101, 9102], 'auto']
      ]
  for (const [n, tcp, udp, timeout] of runs) {
    const f: MatrixFigures = await matrixRun(n, tcp, udp, timeout)
    log(`  ${n} agents, timeout ${String(timeout)}: ${f.wallMs} ms, wrong ${f.wrong} ${f.wrongSamples.join('; ')}`)
    lines.push(`| ${f.agents} | ${f.checks} | ${f.dropped} | ${timeout === 'auto' ? 'auto (max 3000 ms)' : `${timeout} ms`} | ${f.wallMs} ms | ${f.rounds} | ${f.ratio ?? '–'} | ${f.p50LatencyMs ?? '–'} / ${f.p99LatencyMs ?? '–'} ms | ${f.coordinatorPeakRssMB} MB / ${f.coordinatorCpuMs} ms | ${f.agentPeakRssMB} MB / ${(f.agentsCpuMs / 1000).toFixed(1)} s | ${f.wrong} | ${f.variant} |`)
  }
  lines.push('', 'Target: 50 agents / 10,000 checks with 20% dropped complete within 1.3 × the probe timeout + 1 s (4.9 s for 3 s), with 0 wrong verdicts. The 50 agents share the machine\'s 2 cores (all agents\' CPU: the sum over their processes during the run): a pass takes as long as an agent waits for a core, and a silent check needs a second round when its path\'s measured loss says its first attempts are not yet evidence of a drop (field conditions, section 5, measure that rule on 10 hosts).', '')
}

if (want('scale')) {
  log('coordinator at scale…')
  begin('scale')
  lines.push('## 2. Coordinator at scale: simulated agents', '')
  lines.push('Simulated agents speak the real protocol over real WebSockets (TLS, each host with its own credential) from a separate process and answer every probe at once (result on the source\'s connection, receipt on the target\'s), so the coordinator does all its work: plan expansion, scheduling, ingestion, the barrier, verdicts and the streamed JSON report. Figures are the coordinator process\'s own.', '')
  lines.push('| agents | checks | plan | run | JSON report | total | peak RSS | CPU | wrong |')
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const n of QUICK ? [50] : [100, 300, 1000]) {
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
  lines.push('Installed from its `npm pack` tarball with production dependencies only (`npm install --omit=dev`); started with the arguments of its join command, against a TLS coordinator (the agent checks its pin before it says hello).', '')
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
    const f = await agentDist(log, QUICK ? 1 : 5)
    lines.push(`What a node downloads from \`GET /agent/…\`: the npm package ${f.tarballKB} KB, the single-file bundle ${f.bundleKB} KB, the standalone executable ${f.executableMB} MB (the coordinator's own Node.js binary with the bundle injected; made once per agent and Node.js version in ${(f.buildMs / 1000).toFixed(1)} s, then cached in the state directory). Each join form runs as printed, through \`sh -c\`, on loopback against a TLS coordinator (curl checks its pin), with a fresh HOME (an empty npm cache, nothing downloaded) each time, timed from the command's start to \`--help\` printed (the same command with \`--help\` for the agent's arguments) and to the coordinator's registration, download included unless said. Median / max of ${QUICK ? 1 : 5}. Memory is the RSS of what the command leaves running, summed (npx stays as the agent's parent).`, '')
    lines.push('| form | to `--help` | to joined | memory, idle |')
    lines.push('| --- | ---: | ---: | ---: |')
    for (const x of f.forms) lines.push(`| ${x.form} | ${x.helpMs[0]} / ${x.helpMs[1]} ms | ${x.joinedMs[0]} / ${x.joinedMs[1]} ms | ${x.idleRssMB} MB |`)
    lines.push('', `No target: the figures say what each form costs a node. The executable carries a whole Node.js: about 100 MB over the network, against ${f.bundleKB} KB for nodes that have Node.js.`, '')
  }
}

if (want('side')) {
  log('side by side…')
  begin('side')
  lines.push('## 4. Side by side: portcheck, nc and nmap on the same lab', '')
  const n = QUICK ? 4 : 10
  const r = await sideBySide(n, [9001, 9002], [9101, 9102], 3000)
  if (typeof r === 'string') lines.push(`Skipped: ${r}.`, '')
  else {
    lines.push(`${n} hosts, one network namespace each, a mesh over 2 TCP and 2 UDP ports (${n * (n - 1) * 4} checks); every fifth check is dropped by nftables at its target. portcheck runs as an operator runs it: \`portcheck run\` with TLS (its key and join token made in its state directory), each node's agent started with the arguments of the join command printed for it. For nc and nmap, a plain process listens on every port (they cannot bring their own listeners). "Wrong" counts checks reported open that are dropped, or blocked that are open; "undecided" counts checks a tool could not call either way.`, '')
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
  lines.push('The field lab (test/lab/field-scenario.ts): ten hosts, one network namespace each, the coordinator in another; a mesh of six TCP and six UDP ports between every pair (1,080 checks), every fifth check dropped by its target\'s nftables. Loss is random, by nftables on each host\'s bridge port (`numgen random mod 1000`); delay is a TUN forwarder in each host, on what it sends to the other hosts only. Ten runs of each, with the agents staying joined; they join over plain `ws://` with `--insecure` and their own credentials (the lab\'s closed network: the control channel is not encrypted there). "False blocked" counts checks staged to pass that came out blocked (any reason), "false intercepted" those of them blocked as intercepted; "staged blocks reported" counts drops (and interceptions) reported with exactly their staged verdict. Wall time is from the start of a run to its report, listeners closed.', '')
  lines.push('| scenario | timeout | runs × checks | wall time, median (min–max) | × loss-free | false blocked | false intercepted | inconclusive (lossy-path) | staged blocks reported |')
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  const baselines = new Map<string, number>()
  for (const timeout of [3000, 'auto'] as const) {
    for (const sc of FIELD_SCENARIOS) {
      const f: FieldFigures | string = await fieldRuns(sc.label, sc.s, timeout, QUICK ? 1 : 10, (l) => log(`  ${l}`), QUICK ? { hosts: 4, tcp: [9001, 9002], udp: [9101, 9102] } : undefined)
      if (typeof f === 'string') { lines.push(`Skipped: ${f}.`, ''); break }
      const m = median(f.wallMs)
      if (sc.base === null) baselines.set(String(timeout), m)
      const base = sc.base === null ? null : baselines.get(String(timeout)) ?? null
      log(`  ${sc.label}, ${String(timeout)}: median ${m} ms, false blocked ${f.falseBlocked}, inconclusive ${f.inconclusive}`)
      lines.push(`| ${sc.label} | ${timeout === 'auto' ? 'auto' : `${timeout} ms`} | ${f.runs} × ${f.checks} | ${m} ms (${f.wallMs[0] ?? 0}–${f.wallMs.at(-1) ?? 0}) | ${base === null ? '1' : (m / base).toFixed(2)} | ${f.falseBlocked} | ${f.falseIntercepted} | ${f.inconclusive} (${f.lossyPath}) | ${f.trueBlocked} / ${f.staged} |`)
    }
  }
  lines.push('', 'Targets: 0 false blocked and 0 false intercepted in every scenario; 5% loss: 0 inconclusive, wall time at most 1.5 × the loss-free run; 20% loss between hosts: every drop reported (`lossy-path` allowed for open ports); 20% loss on every packet, the control channel\'s too: no false verdict (its TCP connection can stall for over a minute, as its retransmission timeouts double with each loss: an agent that stops answering for 60 s is dropped and its checks are `agent-lost`, counted here as inconclusive; the wall time is the stalls\'); 150–400 ms between hosts: exact; a LAN with drops and a silent interceptor under `--timeout auto`: under 1 s.', '')
}

if (want('ssh-launch')) {
  log('ssh launch…')
  begin('ssh-launch')
  lines.push('## 6. Launching agents over SSH: 50 hosts', '')
  const why = sshLaunchUnavailable()
  if (why !== null) lines.push(`Skipped: ${why}.`, '')
  else {
    lines.push('`portcheck run --launch ssh` in a namespace of its own, against 50 host namespaces each running Debian\'s sshd (one ed25519 key, a non-root user, the agent script run by the host\'s Node.js), then a mesh over one TCP port between every pair (every host has a permanent ARP entry for every other: Linux keeps the ARP entries of all namespaces in one table of 1,024, which 50 hosts resolving 49 peers at once overflow, as 50 real machines would not). Joined: from the coordinator listening to the last agent joined. Per host: from its ssh starting to its agent joined. Verdict: from the command\'s start to its report. Cleanup: from the report to the coordinator\'s exit, which waits for every host to confirm its agent stopped and its files removed; leftovers are processes and files found on the hosts afterwards. The hosts\' agents run on the benchmark machine\'s own 2 cores, beside the coordinator and whatever else runs there (load: its 1-minute load average at the start): on real hosts, each agent starts on a machine of its own.', '')
    lines.push('| hosts | launch concurrency | joined | per host, median / max | run (checks) | verdict | cleanup | leftovers | exit | load |')
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const concurrency of QUICK ? [10] : [10, 25]) {
      const f = await sshLaunchRun(QUICK ? 4 : 50, concurrency, log)
      log(`  concurrency ${concurrency}: joined ${f.joinedMs} ms, run ${f.runMs} ms, cleanup ${f.cleanupMs} ms, leftovers ${f.leftovers}`)
      lines.push(`| ${f.hosts} | ${f.concurrency} | ${(f.joinedMs / 1000).toFixed(1)} s | ${f.hostMedianMs} / ${f.hostMaxMs} ms | ${(f.runMs / 1000).toFixed(1)} s (${f.pass}/${f.checks} pass) | ${(f.verdictMs / 1000).toFixed(1)} s | ${(f.cleanupMs / 1000).toFixed(1)} s | ${f.leftovers} | ${f.exitCode} | ${f.load.toFixed(1)} |`)
    }
    lines.push('', 'Target: 50 hosts launched and joined within 30 s with the default concurrency (10), every check passing, cleanup within 10 s, nothing left on any host.', '')
  }
}

if (want('serve-memory')) {
  log('serve memory (about 17 minutes)…')
  begin('serve-memory')
  lines.push('## 7. A coordinator that stays up: `serve --every 1s`, 1,000 scheduled runs', '')
  const f = await serveMemory({ ...(QUICK ? { agents: 11, runs: 20, warmupRuns: 10 } : {}), log: (l) => log(`  ${l}`) })
  lines.push(`\`portcheck serve --every 1s --insecure\` as an operator starts it (its own process, default \`--keep-checks\` 2,000,000), ${f.agents} simulated agents in another process (benchmarks/sim-agents.js: the real protocol over real WebSockets, every probe answered at once), a mesh on one TCP port: ${f.checksPerRun.toLocaleString('en')} checks a run, every one passing, for ${f.runs.toLocaleString('en')} scheduled runs. RSS is read from /proc every second (VmRSS, and the kernel's peak, VmHWM), the heap from the coordinator's own \`/metrics\` (\`nodejs_heap_size_used_bytes\`). The kept runs reach the 2,000,000-check bound after about ${Math.ceil(2_000_000 / f.checksPerRun)} runs, the history its 500 runs at run 500: the warm-up is the first ${f.warmupRuns} runs.`, '')
  lines.push('| runs done | RSS | peak RSS so far | heap used | checks kept |')
  lines.push('| ---: | ---: | ---: | ---: | ---: |')
  for (const n of [10, 100, 200, 250, 300, 400, 500, 600, 700, 800, 900, f.runs]) {
    const s = sampleAt(f.samples, n) ?? f.samples.at(-1)
    if (s !== undefined) lines.push(`| ${s.runs.toLocaleString('en')} | ${Math.round(s.rssMB)} MB | ${Math.round(s.peakMB)} MB | ${Math.round(s.heapUsedMB)} MB | ${s.keptChecks.toLocaleString('en')} |`)
  }
  const holds = f.growthMB <= f.limitMB && f.exitCode === 0
  lines.push('', `Peak RSS: ${Math.round(f.peakWarmupMB)} MB over the warm-up (runs 1–${f.warmupRuns}), ${Math.round(f.peakEndMB)} MB over all ${f.runs.toLocaleString('en')} runs: **+${f.growthMB.toFixed(1)} MB after the warm-up** (target: at most +${f.limitMB} MB): ${holds ? 'holds' : '**FAILS**'}. ${f.runs.toLocaleString('en')} runs in ${Math.round(f.wallS)} s (a run took ${Math.round(f.runMsAvg)} ms on average); Ctrl-C then stopped it with exit code ${String(f.exitCode)}.`, '')
  const bound = sampleAt(f.samples, 250)
  if (bound !== undefined) lines.push(`Counted from run ${bound.runs} instead (the kept runs full, the history not yet): peak ${Math.round(bound.peakMB)} MB then, +${(f.peakEndMB - bound.peakMB).toFixed(1)} MB by the end.`, '')
  lines.push(`Target: after the warm-up, peak RSS flat within +${f.limitMB} MB.`, '')
  log(`  growth after warm-up: ${f.growthMB.toFixed(1)} MB: ${holds ? 'holds' : 'FAILS'}`)
  if (!holds) missed.push(`serve-memory: peak RSS grew ${f.growthMB.toFixed(1)} MB after the warm-up (limit ${f.limitMB} MB), exit ${String(f.exitCode)}`)
}

const out = path.resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md')
const marker = (name: string, end = false): string => `<!-- bench:${end ? '/' : ''}${name} -->`
// Keep the sections this run did not measure, as they are in the file.
const previous = existsSync(out) && !QUICK ? readFileSync(out, 'utf8') : ''
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
if (!QUICK) doc.push(readFileSync(path.join(import.meta.dirname, 'history.md'), 'utf8').trim(), '')
// Quick-mode figures come from toy sizes: they are shown, never recorded.
if (QUICK) process.stdout.write(doc.join('\n') + '\n')
else writeFileSync(out, doc.join('\n') + '\n')
log(QUICK ? 'quick mode: nothing written to docs/benchmarks.md' : `written to ${out}`)
for (const m of missed) log(`target missed: ${m}`)
if (missed.length > 0) process.exitCode = 1
