import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import type { Logger } from 'pino'
import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import { DEFAULT_LAUNCH_CONCURRENCY, type CoordinatorLaunchOptions } from '../launch/launcher.js'

/** Options of the commands that can start the agents themselves (`run`, `serve`). */
export interface LaunchArgs {
  launch?: string
  'ssh-config'?: string
  'launch-concurrency': number
}

export function withLaunch<T> (y: Argv<T>): Argv<T & LaunchArgs> {
  return y
    .option('launch', { type: 'string', choices: ['ssh'], describe: 'start the agents on the hosts over SSH (the system\'s ssh, ~/.ssh/config and the inventory\'s ssh: settings), and stop them and remove their files at the end' })
    .option('ssh-config', { type: 'string', describe: 'with --launch ssh: the ssh configuration file to use instead of ~/.ssh/config (ssh -F)' })
    .option('launch-concurrency', {
      type: 'number',
      default: DEFAULT_LAUNCH_CONCURRENCY,
      describe: 'with --launch ssh: most launches in progress at once (1-1000)',
      coerce: (v: number): number => {
        if (!Number.isInteger(v) || v < 1 || v > 1000) throw new PortcheckError('PC_ERR_USAGE', `--launch-concurrency ${v}: expected an integer from 1 to 1000`)
        return v
      }
    }) as unknown as Argv<T & LaunchArgs>
}

/**
 * Checks what `--launch ssh` needs before anything is started: an ssh client on the PATH, and a
 * readable `--ssh-config`. The SSH options without `--launch ssh` are refused: they would do
 * nothing, silently.
 */
export function checkLaunchArgs (args: LaunchArgs): void {
  if (args.launch === undefined) {
    if (args['ssh-config'] !== undefined) throw new PortcheckError('PC_ERR_USAGE', '--ssh-config needs --launch ssh')
    return
  }
  const config = args['ssh-config']
  if (config !== undefined) {
    try {
      accessSync(config, constants.R_OK)
    } catch (err) {
      throw new PortcheckError('PC_ERR_USAGE', `--ssh-config ${config}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
    }
  }
  const probe = spawnSync('ssh', ['-V'], { stdio: 'ignore' })
  if (probe.error !== undefined) throw new PortcheckError('PC_ERR_USAGE', `--launch ssh needs the OpenSSH client, \`ssh\`, on the PATH (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message}): install it (Debian and Ubuntu: openssh-client)`)
}

/** The launch options `--launch ssh` and its companions give; undefined without `--launch`. */
export function launchOptions (args: LaunchArgs, logger: Logger, verbose: boolean): CoordinatorLaunchOptions | undefined {
  if (args.launch !== 'ssh') return undefined
  return {
    logger: logger.child({ component: 'launch' }),
    concurrency: args['launch-concurrency'],
    verbose,
    ...(args['ssh-config'] !== undefined ? { sshArgs: { configFile: args['ssh-config'] } } : {})
  }
}
