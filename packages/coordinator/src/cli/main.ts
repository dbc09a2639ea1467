import yargs from 'yargs'
import { ExitCodes, PortcheckError } from '@portcheck/protocol'
import { catalogCommand } from './catalog-command.js'
import { diffCommand } from './diff-command.js'
import { errorText } from './error-text.js'
import { fixCommand } from './fix-command.js'
import { inventoryCommand } from './inventory-command.js'
import { k8sCommand } from './k8s-command.js'
import { planCommand } from './plan-command.js'
import { RUN_EXAMPLES, runCommand } from './run-command.js'
import { serveCommand } from './serve-command.js'
import { listenAdvice } from './options.js'
import { VERSION } from '../version.js'

/**
 * The `portcheck` CLI. Resolves to the exit code; never calls process.exit, so it can be
 * driven from tests. Input errors (catalog, inventory, usage) exit 2 with what is wrong.
 */
export async function main (argv: string[]): Promise<number> {
  let exitCode = 0
  const setExit = (code: number): void => { exitCode = code }
  const cli = yargs(argv)
    .scriptName('portcheck')
    .usage('$0 <command> [options]\n\nProves that every documented network flow between a cluster\'s hosts is open, before you install.')
    // -V as most tools have it: -v is --verbose (of `run`), on portcheck-agent too.
    .version('version', 'show the version', VERSION)
    .alias('version', 'V')
    .help('help', 'show this help')
    .alias('help', 'h')
    .strict()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .epilogue(RUN_EXAMPLES + '\n\nExit codes of `run`: 0 every required flow passed, 1 a required flow is blocked, 3 nothing blocked but something unproven, 2 bad input, 130 interrupted.\nDocs: docs/guide/pre-install-check.md')
    .fail((msg, err) => {
      // yargs wraps what an option's coerce throws in a YError: that is a usage error too.
      if (err !== undefined && err !== null) throw err.name === 'YError' ? new PortcheckError('PC_ERR_USAGE', err.message) : err
      throw new PortcheckError('PC_ERR_USAGE', msg)
    })
  runCommand(cli, setExit)
  serveCommand(cli)
  planCommand(cli)
  catalogCommand(cli)
  fixCommand(cli)
  diffCommand(cli, setExit)
  k8sCommand(cli)
  inventoryCommand(cli)
  cli.demandCommand(1, 'name a command: run, serve, plan, catalog, fix, diff, inventory or k8s')
  try {
    await cli.parseAsync()
  } catch (err) {
    process.stderr.write(errorText(err))
    if (err instanceof PortcheckError && err.code === 'PC_ERR_LISTEN') process.stderr.write(listenAdvice(err))
    return ExitCodes.badInput
  }
  return exitCode
}
