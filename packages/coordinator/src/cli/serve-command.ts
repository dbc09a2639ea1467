import path from 'node:path'
import type { Argv } from 'yargs'
import { loadInputs } from '../api.js'
import { buildCoordinator } from '../server/coordinator.js'
import { launchAgents } from '../launch/launcher.js'
import { joinInstructions, launchInstructions } from './join-help.js'
import { checkLaunchArgs, launchOptions, withLaunch } from './launch-options.js'
import { showLaunch } from './launch-status.js'
import { StatusLine } from './status-line.js'
import { withServeOptions } from './serve-options.js'
import { loadSecurity, withSecurity } from './security-options.js'
import { createLogger, examples, parseListen, setOverrides, timing, withInputs, withLogging, withServer } from './options.js'

/**
 * `portcheck serve`: a long-lived coordinator; runs are started through the API or the dashboard,
 * and with `--every` on a schedule.
 */
export function serveCommand (y: Argv): Argv {
  return y.command('serve', 'run a coordinator that stays up: start runs from the dashboard or POST /api/runs, or on a schedule with --every', (a) => withServeOptions(withLaunch(withSecurity(withLogging(withServer(withInputs(a))))))
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'with --launch ssh: show the agents\' logs' })
    .epilogue(examples([
      ['keep checking after the install: the whole matrix every 5 minutes, with\nmetrics for Prometheus at /metrics and the differences POSTed to a webhook', 'portcheck serve -i hosts.yaml --every 5m \\\n  --notify-url https://hooks.example.net/portcheck'],
      ['a coordinator that stays up: start runs, and re-run the failed checks,\nfrom its dashboard', 'portcheck serve -i hosts.yaml'],
      ['the same, with its agents started over SSH until it stops', 'portcheck serve -i hosts.yaml --launch ssh'],
      ['a run from a script (TOKEN: the join token, --token or $PORTCHECK_TOKEN or\nthe state directory\'s `token` file; an agent\'s credential is refused)', 'curl --cacert ~/.portcheck/tls/cert.pem -X POST https://HOST:7070/api/runs \\\n  -H "Authorization: Bearer $TOKEN" -H \'content-type: application/json\' -d \'{}\''],
      ['re-check only what was blocked or unproven in run RUN-ID', 'curl --cacert ~/.portcheck/tls/cert.pem -X POST https://HOST:7070/api/runs \\\n  -H "Authorization: Bearer $TOKEN" -H \'content-type: application/json\' -d \'{"rerunOf":"RUN-ID"}\'']
    ])),
  async (args) => {
    checkLaunchArgs(args)
    const inputs = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args), sshFiles: args.launch !== undefined })
    // Off a terminal the status line draws nothing: launch failures are still printed.
    const status = new StatusLine()
    const logger = createLogger(args, status)
    const launch = launchOptions(args, logger, args.verbose)
    const { token, tls, stateDir } = await loadSecurity(args)
    const coordinator = await buildCoordinator({
      catalog: inputs.catalog,
      hosts: inputs.inventory.inventory.hosts,
      settings: inputs.inventory.settings,
      logger,
      token,
      tls,
      stateDir,
      allowedHosts: args['allowed-host'],
      ...(args['viewer-token'] !== undefined ? { viewerToken: args['viewer-token'] } : {}),
      runDefaults: { ...timing(args.timeout), concurrency: args.concurrency, localize: args.localize, includeOptional: args['include-optional'] },
      keepChecks: args['keep-checks'],
      ...(args['notify-url'] !== undefined ? { notify: { url: args['notify-url'], headers: Object.fromEntries(args['notify-header']) } } : {}),
      ...(args['metrics-listen'] !== undefined ? { metricsListen: args['metrics-listen'] } : {})
    })
    // A scheduled run plans nothing new: a plan that cannot be made fails here, before listening.
    if (args.every !== undefined) {
      try {
        coordinator.plan()
      } catch (err) {
        await coordinator.close()
        throw err
      }
    }
    await coordinator.listen({ ...parseListen(args.listen), ...(args.advertise !== undefined ? { advertise: args.advertise } : {}) })
    process.stderr.write(launch !== undefined ? launchInstructions(coordinator, args['launch-concurrency']) : joinInstructions(coordinator))
    let launching: ReturnType<typeof showLaunch> | null = null
    if (launch !== undefined) {
      launching = showLaunch(status, { hub: coordinator.hub, hosts: coordinator.hosts.map((h) => h.name), waitMs: 0, countdown: false })
      launchAgents(coordinator, inputs.inventory.ssh, launch)
      void launching.settled.then(() => { launching?.stop(); status.hide() })
    }
    process.stderr.write(`Dashboard: ${coordinator.httpUrl ?? ''}${coordinator.requireAuth ? `#token=${coordinator.token}` : ''}\nStart a run from it, or: curl -X POST ${coordinator.httpUrl ?? ''}api/runs -H 'Authorization: Bearer ${coordinator.token}'${coordinator.pin !== null ? ` --cacert ${args['tls-cert'] ?? path.join(stateDir, 'tls', 'cert.pem')}` : ''} -H 'content-type: application/json' -d '{}'\n`)
    if (coordinator.metricsAddress !== null) process.stderr.write(`Metrics (no token): http://${coordinator.metricsAddress.host.includes(':') ? `[${coordinator.metricsAddress.host}]` : coordinator.metricsAddress.host}:${coordinator.metricsAddress.port}/metrics\n`)
    // With --launch ssh the agents are starting: the schedule's first run waits for them (up to one period).
    if (args.every !== undefined) coordinator.startSchedule({ everyMs: args.every })
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
    launching?.stop()
    status.hide()
    process.stderr.write(`\nportcheck: stopping; closing every listener on the agents${launch !== undefined ? ', then stopping them' : ''}…\n`)
    await coordinator.close()
  })
}
