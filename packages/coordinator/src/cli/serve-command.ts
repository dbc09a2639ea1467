import type { Argv } from 'yargs'
import { loadInputs } from '../api.js'
import { buildCoordinator } from '../server/coordinator.js'
import { joinInstructions } from './join-help.js'
import { loadSecurity, withSecurity } from './security-options.js'
import { createLogger, parseListen, setOverrides, timing, withInputs, withLogging, withServer } from './options.js'

/** `portcheck serve`: a long-lived coordinator; runs are started through the API or the dashboard. */
export function serveCommand (y: Argv): Argv {
  return y.command('serve', 'run a coordinator that stays up: start runs from the dashboard or POST /api/runs', (a) => withSecurity(withLogging(withServer(withInputs(a)))),
    async (args) => {
      const inputs = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args) })
      const logger = createLogger(args)
      const { token, tls } = await loadSecurity(args)
      const coordinator = await buildCoordinator({
        catalog: inputs.catalog,
        hosts: inputs.inventory.inventory.hosts,
        settings: inputs.inventory.settings,
        logger,
        token,
        tls,
        ...(args['viewer-token'] !== undefined ? { viewerToken: args['viewer-token'] } : {}),
        runDefaults: { ...timing(args.timeout), concurrency: args.concurrency, includeOptional: args['include-optional'] }
      })
      await coordinator.listen({ ...parseListen(args.listen), ...(args.advertise !== undefined ? { advertise: args.advertise } : {}) })
      process.stderr.write(joinInstructions(coordinator))
      process.stderr.write(`Dashboard: ${coordinator.httpUrl ?? ''}${coordinator.requireAuth ? `#token=${coordinator.token}` : ''}\nStart a run from it, or: curl -X POST ${coordinator.httpUrl ?? ''}api/runs${coordinator.requireAuth ? ` -H 'Authorization: Bearer ${coordinator.token}'` : ''}${coordinator.pin !== null ? ' --insecure' : ''} -H 'content-type: application/json' -d '{}'\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve())
        process.once('SIGTERM', () => resolve())
      })
      process.stderr.write('\nportcheck: stopping; closing every listener on the agents…\n')
      await coordinator.close()
    })
}
