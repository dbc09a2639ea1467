import os from 'node:os'
import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import type { TlsMaterial } from '../security/certificate.js'
import { defaultStateDir, loadOrCreateTls, loadOrCreateToken, loadTlsFiles } from '../security/state-dir.js'

/** Options of every command that serves agents: where secrets live, and TLS. */
export interface SecurityArgs {
  'state-dir'?: string
  'tls-cert'?: string
  'tls-key'?: string
  insecure: boolean
}

export function withSecurity<T> (y: Argv<T>): Argv<T & SecurityArgs> {
  return y
    .option('state-dir', { type: 'string', describe: 'where the join token and the TLS key and certificate are kept across restarts; default: $PORTCHECK_STATE_DIR, else ~/.portcheck' })
    .option('tls-cert', { type: 'string', describe: 'your own certificate (PEM) instead of the self-signed one of the state directory; with --tls-key' })
    .option('tls-key', { type: 'string', describe: 'the private key (PEM) of --tls-cert' })
    .option('insecure', { type: 'boolean', default: false, describe: 'plain HTTP and ws:// instead of TLS: credentials and tokens cross the network in clear (a loopback demo, a lab)' }) as unknown as Argv<T & SecurityArgs>
}

/** The names a generated certificate carries: for browsers opening the dashboard (agents check the pin). */
function certificateNames (advertise: string | undefined): string[] {
  const names = ['localhost', '127.0.0.1', '::1', os.hostname()]
  if (advertise !== undefined) names.push(advertise)
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (!a.internal) names.push(a.address)
  return names
}

/**
 * The join token and TLS material a coordinator serves with: `--token` (or $PORTCHECK_TOKEN), else
 * the state directory's; `--tls-cert`/`--tls-key`, else the state directory's (created on first
 * start); none with `--insecure`.
 */
export async function loadSecurity (args: SecurityArgs & { token?: string, advertise?: string }, env: NodeJS.ProcessEnv = process.env): Promise<{ token: string, tls: TlsMaterial | null, stateDir: string }> {
  const stateDir = args['state-dir'] ?? defaultStateDir(env)
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) throw new PortcheckError('PC_ERR_USAGE', '--tls-cert and --tls-key go together')
  if (args.insecure && args['tls-cert'] !== undefined) throw new PortcheckError('PC_ERR_USAGE', '--insecure and --tls-cert contradict each other')
  const given = args.token ?? env.PORTCHECK_TOKEN
  const token = given !== undefined && given !== '' ? given : await loadOrCreateToken(stateDir)
  const tls = args.insecure
    ? null
    : args['tls-cert'] !== undefined && args['tls-key'] !== undefined
      ? await loadTlsFiles(args['tls-cert'], args['tls-key'])
      : await loadOrCreateTls(stateDir, certificateNames(args.advertise))
  return { token, tls, stateDir }
}
