import { parseArgs } from 'node:util'
import pino, { type Logger } from 'pino'
import { CREDENTIAL_PATTERN, PortcheckError } from '@portcheck/protocol'
import { prettyStream } from '@portcheck/protocol/node'
import { startAgent } from './agent.js'
import { AGENT_VERSION as version } from './version.js'

const USAGE = `Usage: portcheck-agent --coordinator wss://HOST:PORT --token CREDENTIAL --name NAME --pin sha256:HEX [options]

Connects out to a portcheck coordinator and serves its runs: opens temporary
listeners on the ports this host's roles must accept, and probes its peers.
Needs no inbound port for the control channel.

Options:
  --coordinator URL   coordinator address, wss://HOST:PORT [env PORTCHECK_COORDINATOR]
  --token CREDENTIAL  this host's credential, from its join command [env PORTCHECK_TOKEN]
  --pin sha256:HEX    the coordinator's TLS key, from the join command [env PORTCHECK_PIN]
  --insecure          allow a plain ws:// coordinator (started with --insecure)
  --name NAME         this host's name in the inventory      [default: the hostname]
  --bind ADDRESS      listen and probe from this address only [default: all addresses]
                      (repeat, or comma-separate, for an IPv4 and an IPv6 address)
  --no-nftables       never use nftables; by default, as root, the agent adds a
                      temporary table of its own to localize blocked checks and
                      count UDP probes on ports another process holds
  --log-level LEVEL   trace, debug, info, warn, error, silent [default: info]
  --log-format F      pretty or json                          [default: pretty on a terminal]
  -h, --help          show this help
  -V, --version       show the version

Examples:
  # as the coordinator prints it, on host fe1: fetched from the coordinator (curl
  # checks its key), piped to node, nothing installed
  curl -fsSk --pinnedpubkey sha256//KEY https://10.0.0.5:7070/agent/portcheck-agent.mjs \\
    | node --input-type=module - --coordinator wss://10.0.0.5:7070 \\
    --token CREDENTIAL --name fe1 --pin sha256:HEX

  # installed (npm install -g portcheck-agent); the credential from the environment,
  # out of \`ps\` and the shell history; root for ports below 1024
  export PORTCHECK_TOKEN=CREDENTIAL PORTCHECK_PIN=sha256:HEX
  sudo -E portcheck-agent --coordinator wss://10.0.0.5:7070 --name fe1

  # a multi-homed host: listen and probe on the cluster network only
  portcheck-agent --coordinator wss://10.0.0.5:7070 --token CREDENTIAL --name db1 --pin sha256:HEX --bind 10.0.2.21

  # the same on a dual-stack cluster network: one address of each family
  portcheck-agent --coordinator wss://10.0.0.5:7070 --token CREDENTIAL --name db1 --pin sha256:HEX --bind 10.0.2.21 --bind 2001:db8:2::21

More: "The pre-install check, step by step" in the portcheck repository's README.

Exit codes: 0 stopped by a signal, 2 bad usage, a credential the coordinator refused, a name not in
its inventory, or a coordinator whose TLS key does not match --pin.
`

/**
 * A credential is base64url, so one in 64 starts with a dash, which parseArgs takes for an
 * option: `--token -Xyz…` as the join command prints it becomes `--token=-Xyz…`.
 */
export function joinDashedCredential (argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1]
    if (argv[i] === '--token' && next !== undefined && next.startsWith('-') && CREDENTIAL_PATTERN.test(next)) { out.push(`--token=${next}`); i++ } else out.push(argv[i] as string)
  }
  return out
}

/** Runs the agent CLI; resolves to the process exit code. Never calls process.exit. */
export async function main (argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: joinDashedCredential(argv),
      options: {
        coordinator: { type: 'string' },
        token: { type: 'string' },
        pin: { type: 'string' },
        insecure: { type: 'boolean' },
        name: { type: 'string' },
        bind: { type: 'string', multiple: true },
        'no-nftables': { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        // -V as on \`portcheck\`, where -v is --verbose.
        version: { type: 'boolean', short: 'V' }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    // Earlier builds took -v for the version: say where it went, not only that it is unknown.
    const hint = argv.includes('-v') ? ' (the version is -V or --version)' : ''
    process.stderr.write(`portcheck-agent: ${(err as Error).message}${hint}\n\n${USAGE}`)
    return 2
  }
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  if (values.version === true) { process.stdout.write(`${version}\n`); return 0 }

  const coordinator = values.coordinator ?? env.PORTCHECK_COORDINATOR
  const token = values.token ?? env.PORTCHECK_TOKEN
  if (coordinator === undefined || token === undefined || token === '') {
    process.stderr.write(`portcheck-agent: --coordinator and --token are required\n\n${USAGE}`)
    return 2
  }
  const level = values['log-level'] ?? 'info'
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
  if (!levels.includes(level)) {
    process.stderr.write(`portcheck-agent: --log-level must be one of ${levels.join(', ')} (got "${level}")\n`)
    return 2
  }
  const format = values['log-format'] ?? (process.stderr.isTTY ? 'pretty' : 'json')
  if (format !== 'pretty' && format !== 'json') {
    process.stderr.write(`portcheck-agent: --log-format must be pretty or json (got "${format}")\n`)
    return 2
  }
  const logger: Logger = pino(
    { name: 'portcheck-agent', level, redact: ['token', '*.token'] },
    format === 'pretty' ? prettyStream(process.stderr) : pino.destination(2)
  )

  let agent
  try {
    const pin = values.pin ?? env.PORTCHECK_PIN
    agent = startAgent({
      coordinator,
      token,
      logger,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.bind !== undefined ? { bind: values.bind } : {}),
      ...(pin !== undefined ? { pin } : {}),
      ...(values.insecure === true ? { insecure: true } : {}),
      ...(values['no-nftables'] === true ? { nftables: false } : {})
    })
  } catch (err) {
    process.stderr.write(`portcheck-agent: ${(err as Error).message}\n`)
    return 2
  }
  logger.info({ host: agent.name, coordinator, version }, 'portcheck-agent starting')

  const onSignal = (signal: string): void => {
    logger.info({ signal }, 'stopping')
    void agent.close()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const err = await agent.stopped
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  if (err instanceof PortcheckError) {
    process.stderr.write(`portcheck-agent: ${err.code}: ${err.message}\n`)
    return 2
  }
  return 0
}
