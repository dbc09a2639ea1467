import path from 'node:path'
import type { Argv } from 'yargs'
import { loadInputs } from '../api.js'
import { buildCoordinator } from '../server/coordinator.js'
import { joinInstructions } from './join-help.js'
import { loadSecurity, withSecurity } from './security-options.js'
import { createLogger, examples, parseListen, setOverrides, timing, withInputs, withLogging, withServer } from './options.js'

/** `portcheck serve`: a long-lived coordinator; runs are started through the API or the dashboard. */
export function serveCommand (y: Argv): Argv {
  return y.command('serve', 'run a coordinator that stays up: start runs from the dashboard or POST /api/runs', (a) => withSecurity(withLogging(withServer(withInputs(a))))
    .epilogue(examples([
      ['a coordinator that stays up: start runs, and re-run the failed checks,\nfrom its dashboard', 'portcheck serve -i hosts.yaml'],
      ['a run from a script (the token is the one printed in the join commands)', 'curl --cacert ~/.portcheck/tls/cert.pem -X POST https://HOST:7070/api/runs \\\n  -H "Authorization: Bearer $TOKEN" -H \'content-type: application/json\' -d \'{}\''],
      ['re-check only what was blocked or unproven in run RUN-ID', 'curl --cacert ~/.portcheck/tls/cert.pem -X POST https://HOST:7070/api/runs \\\n  -H "Authorization: Bearer $TOKEN" -H \'content-type: application/json\' -d \'{"rerunOf":"RUN-ID"}\'']
    ])),
    async (args) => {
      const inputs = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args) })
      const logger = createLogger(args)
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
        runDefaults: { ...timing(args.timeout), concurrency: args.concurrency, localize: args.localize, includeOptional: args['include-optional'] }
      })
      await coordinator.listen({ ...parseListen(args.listen), ...(args.advertise !== undefined ? { advertise: args.advertise } : {}) })
      process.stderr.write(joinInstructions(coordinator))
      process.stderr.write(`Dashboard: ${coordinator.httpUrl ?? ''}${coordinator.requireAuth ? `#token=${coordinator.token}` : ''}\nStart a run from it, or: curl -X POST ${coordinator.httpUrl ?? ''}api/runs -H 'Authorization: Bearer ${coordinator.token}'${coordinator.pin !== null ? ` --cacert ${args['tls-cert'] ?? path.join(stateDir, 'tls', 'cert.pem')}` : ''} -H 'content-type: application/json' -d '{}'\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      })
      process.stderr.write('\nportcheck: stopping; closing every listener on the agents…\n')
      await coordinator.close()
    })
}
