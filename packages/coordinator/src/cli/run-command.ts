import { createWriteStream, type WriteStream } from 'node:fs'
import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import { loadInputs, runCheck } from '../api.js'
import { failedChecks } from '../report/rerun-plan.js'
import { formatJunit } from '../report/format-junit.js'
import { formatMarkdown } from '../report/format-markdown.js'
import { formatTable, reasonLegend } from '../report/format-table.js'
import { readReport } from '../report/read-report.js'
import type { RunReport } from '../report/report.js'
import type { Run } from '../scheduler/run.js'
import type { Coordinator } from '../server/coordinator.js'
import { joinInstructions, launchInstructions } from './join-help.js'
import { checkLaunchArgs, launchOptions, withLaunch } from './launch-options.js'
import { showLaunch } from './launch-status.js'
import { showProgress, showWaiting } from './run-status.js'
import { StatusLine } from './status-line.js'
import { loadSecurity, withSecurity } from './security-options.js'
import { createLogger, emit, examples, parseListen, setOverrides, timing, withInputs, withLogging, withServer } from './options.js'

/** Renders a report in the requested format. */
export function render (report: RunReport, format: string, opts: { color: boolean, verbose: boolean }): string {
  if (format === 'json') return JSON.stringify(report, null, 2) + '\n'
  if (format === 'junit') return formatJunit(report)
  if (format === 'markdown') return formatMarkdown(report)
  const legend = reasonLegend(report)
  const table = formatTable(report, { color: opts.color, verbose: opts.verbose })
  return legend.length > 0 && report.verdict !== 'pass' ? `${table}\nWhat the reasons mean:\n${legend.join('\n')}\n` : table
}

/** The dashboard's address, with the token in the fragment (never sent to the server) when one is needed. */
function dashboardUrl (c: Coordinator): string {
  return `${c.httpUrl ?? ''}${c.requireAuth ? `#token=${c.token}` : ''}`
}

/** Streams the JSON report to a file or stdout, a slice of checks at a time. */
async function writeJsonReport (run: Run, output: string | undefined): Promise<void> {
  const out: NodeJS.WritableStream = output !== undefined && output !== '-' ? createWriteStream(output) : process.stdout
  await run.writeJson((chunk) => out.write(chunk) ? undefined : new Promise<void>((resolve) => { out.once('drain', () => resolve()) }))
  if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as WriteStream).end((err?: Error | null) => err != null ? reject(err) : resolve()))
}

/** The examples of `portcheck run --help` (and of `portcheck --help`). */
export const RUN_EXAMPLES = examples([
  ['a first run: prints the command to start an agent on each host, waits for\nthem, checks every flow and prints the report', 'portcheck run -i hosts.yaml'],
  ['the same in one command: starts the agents over SSH (your ~/.ssh/config,\nssh-agent and known_hosts), then stops them and removes their files', 'portcheck run -i hosts.yaml --launch ssh'],
  ['a CI gate: a JUnit report; exit 1 if a required flow is blocked, 3 if one\nis unproven (the join token stays in the state directory, so agents started\nfrom earlier join commands stay joined)', 'portcheck run -i hosts.yaml --wait 120 --format junit -o portcheck.junit.xml'],
  ['re-check after a fix: agents left running rejoin, since the coordinator keeps\nits token and TLS key in its state directory (~/.portcheck)', 'portcheck run -i hosts.yaml']
])

/** `portcheck run`: the pre-install gate. Exit 0 pass, 1 blocked, 3 inconclusive, 2 bad input. */
export function runCommand (y: Argv, setExit: (code: number) => void): Argv {
  return y.command('run', 'start a coordinator, wait for the agents, check every flow, report and exit', (a) => withLaunch(withSecurity(withLogging(withServer(withInputs(a)))))
    .option('wait', {
      type: 'number',
      default: 300,
      describe: 'longest wait for every agent to join, in seconds; then run with those present',
      coerce: (v: number): number => {
        if (!Number.isFinite(v) || v < 0 || v > 86_400) throw new PortcheckError('PC_ERR_USAGE', `--wait ${v}: expected seconds from 0 to 86400`)
        return v
      }
    })
    .option('format', { alias: 'f', type: 'string', choices: ['table', 'json', 'junit', 'markdown'], default: 'table', describe: 'report format' })
    .option('rerun-failed', { type: 'string', describe: 're-check only the checks that failed (blocked or inconclusive) in this saved JSON report' })
    .option('output', { alias: 'o', type: 'string', describe: 'write the report to this file instead of stdout' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'list passing and skipped checks too (table format); with --launch ssh, show the agents\' logs' })
    .option('dashboard', { type: 'boolean', default: false, describe: 'keep serving the dashboard and API after the run, until Ctrl-C' })
    .epilogue(RUN_EXAMPLES),
  async (args) => {
    checkLaunchArgs(args)
    const inputs = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args), sshFiles: args.launch !== undefined })
    const rerunFile = args['rerun-failed']
    const rerun = rerunFile !== undefined ? { report: await readReport(rerunFile), file: rerunFile } : undefined
    if (rerun !== undefined && failedChecks(rerun.report).length === 0) {
      process.stderr.write(`portcheck: nothing to re-check: ${rerunFile} (run ${rerun.report.id}) has no blocked or inconclusive check\n`)
      return
    }
    // The waiting line, then the progress line, on a terminal; logs are written above them.
    const status = new StatusLine()
    const logger = createLogger(args, status)
    const { token, tls, stateDir } = await loadSecurity(args)
    const ac = new AbortController()
    let interrupted = false
    const onSignal = (): void => {
      if (interrupted) return
      interrupted = true
      status.write('\nportcheck: stopping; closing every listener on the agents…\n')
      ac.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    let waiting: ReturnType<typeof showWaiting> | null = null
    let launching: ReturnType<typeof showLaunch> | null = null
    const stopStatus = (): void => {
      waiting?.stop()
      launching?.stop()
      status.hide()
    }
    const launch = launchOptions(args, logger, args.verbose)
    try {
      const { run, summary, coordinator } = await runCheck({
        inputs,
        listen: parseListen(args.listen),
        ...(args.advertise !== undefined ? { advertise: args.advertise } : {}),
        token,
        tls,
        stateDir,
        allowedHosts: args['allowed-host'],
        ...(args['viewer-token'] !== undefined ? { viewerToken: args['viewer-token'] } : {}),
        ...timing(args.timeout),
        concurrency: args.concurrency,
        localize: args.localize,
        includeOptional: args['include-optional'],
        waitMs: args.wait * 1000,
        logger,
        signal: ac.signal,
        keepOpen: args.dashboard,
        onListening: (c) => {
          const head = launch !== undefined ? launchInstructions(c, args['launch-concurrency']) : joinInstructions(c)
          process.stderr.write(head + (args.dashboard ? `Dashboard (live): ${dashboardUrl(c)}\n` : '') + `Waiting up to ${args.wait} s for ${c.hosts.length} agent(s)…\n`)
          if (launch !== undefined) launching = showLaunch(status, { hub: c.hub, hosts: c.hosts.map((h) => h.name), waitMs: args.wait * 1000 })
          else waiting = showWaiting(status, { hosts: c.hosts.map((h) => h.name), waitMs: args.wait * 1000 })
        },
        ...(launch !== undefined ? { launchSsh: launch } : {}),
        onAgents: (joined, missing) => waiting?.update(joined, missing),
        onRun: (run) => {
          waiting?.stop()
          launching?.stop()
          showProgress(status, run)
        },
        ...(rerun !== undefined ? { rerunFailed: rerun } : {})
      })
      stopStatus()
      if (run === null || summary === null) { setExit(130); return }
      if (args.format === 'json') await writeJsonReport(run, args.output)
      else {
        const color = args.output === undefined && process.stdout.isTTY && process.env.NO_COLOR === undefined
        await emit(render(run.report(), args.format, { color, verbose: args.verbose }), args.output)
      }
      if (args.output !== undefined) process.stderr.write(`portcheck: report written to ${args.output}: ${summary.verdict ?? summary.state} (exit ${summary.exitCode ?? '-'})\n`)
      // The report's own exit code: 130 for a run stopped before its verdicts; a Ctrl-C during drop
      // localization only cut that short, and the verdicts (and their code) stand.
      setExit(summary.exitCode ?? (interrupted ? 130 : 3))
      if (args.dashboard && !interrupted) {
        process.stderr.write(`\nDashboard: ${dashboardUrl(coordinator)}\n  the role matrix, each check's details and what to open; re-run failed checks from there. Ctrl-C to stop.\n`)
        await new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }))
        await coordinator.close()
      }
    } finally {
      stopStatus()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  })
}
