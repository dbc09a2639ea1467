import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import pino, { type Logger } from 'pino'
import type { Argv } from 'yargs'
import { MAX_PROBE_TIMEOUT_MS, MIN_PROBE_TIMEOUT_MS, PortcheckError } from '@portcheck/protocol'
import { prettyStream } from '@portcheck/protocol/node'
import { parseSetArgs } from '../catalog/settings.js'
import { DEFAULT_LOCALIZE, MAX_LOCALIZE } from '../localize/localization.js'
import type { StatusLine } from './status-line.js'

/** Options every command that loads a catalog and an inventory shares. */
export interface InputArgs {
  catalog?: string
  inventory: string
  set: string[]
  'include-optional': boolean
}

export function withInputs<T> (y: Argv<T>, inventoryRequired = true): Argv<T & InputArgs> {
  return y
    .option('catalog', { alias: 'c', type: 'string', describe: 'built-in catalog id (see `portcheck catalog list`) or a catalog file; default: the inventory\'s catalog field' })
    .option('inventory', { alias: 'i', type: 'string', demandOption: inventoryRequired, describe: 'inventory file: hosts, their addresses and roles' })
    .option('set', { type: 'string', array: true, default: [] as string[], describe: 'set a catalog setting for this run, name=value (repeatable)' })
    .option('include-optional', { type: 'boolean', default: false, describe: 'check optional flows too' }) as unknown as Argv<T & InputArgs>
}

export interface ServerArgs {
  listen: string
  advertise?: string
  'allowed-host': string[]
  token?: string
  'viewer-token'?: string
  timeout: number | 'auto'
  concurrency: number
  localize: number
}

export function withServer<T> (y: Argv<T>): Argv<T & ServerArgs> {
  return y
    .option('listen', { type: 'string', default: '0.0.0.0:7070', describe: 'address and port for the API, dashboard and agents, HOST:PORT' })
    .option('advertise', { type: 'string', describe: 'address agents reach this coordinator at, in the printed join commands; default: guessed' })
    .option('allowed-host', { type: 'string', array: true, default: [] as string[], describe: 'another name or address the API and dashboard answer to (a DNS alias, a load balancer), repeatable; requests naming any other Host get 421' })
    .option('token', { type: 'string', describe: 'join token (also the API token; agents get credentials derived from it); default: $PORTCHECK_TOKEN, else the state directory\'s (created on first start)' })
    .option('viewer-token', { type: 'string', describe: 'an extra read-only token for the dashboard and GET API' })
    .option('timeout', {
      type: 'string',
      default: '3000',
      describe: 'longest a probe may take, in ms; or `auto`: each probe ends as soon as its silence is evidence of a drop on the loss measured on its path (at most 3000 ms)',
      coerce: (v: string): number | 'auto' => {
        if (v === 'auto') return 'auto'
        const n = Number(v)
        if (!Number.isInteger(n) || n < MIN_PROBE_TIMEOUT_MS || n > MAX_PROBE_TIMEOUT_MS) throw new PortcheckError('PC_ERR_USAGE', `--timeout ${v}: expected milliseconds (${MIN_PROBE_TIMEOUT_MS}-${MAX_PROBE_TIMEOUT_MS}) or auto`)
        return n
      }
    })
    .option('concurrency', {
      type: 'number',
      default: 256,
      describe: 'most probes in flight per agent (1-65535)',
      coerce: (v: number): number => {
        if (!Number.isInteger(v) || v < 1 || v > 65535) throw new PortcheckError('PC_ERR_USAGE', `--concurrency ${v}: expected an integer from 1 to 65535`)
        return v
      }
    })
    .option('localize', {
      type: 'number',
      default: DEFAULT_LOCALIZE,
      describe: `after the probes, find where at most N blocked checks were dropped (source, network, target, and the rule) by tracing a re-probe through the hosts' nftables rules; agents need root. 0: off (0-${MAX_LOCALIZE})`,
      coerce: (v: number): number => {
        if (!Number.isInteger(v) || v < 0 || v > MAX_LOCALIZE) throw new PortcheckError('PC_ERR_USAGE', `--localize ${v}: expected an integer from 0 to ${MAX_LOCALIZE}`)
        return v
      }
    }) as unknown as Argv<T & ServerArgs>
}

/** Parses `--listen HOST:PORT` (IPv6 as [::]:7070); `option` names the option in the error. */
export function parseListen (value: string, option = '--listen'): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value)
  const port = Number(m?.[3])
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PortcheckError('PC_ERR_USAGE', `${option} ${value}: expected HOST:PORT, e.g. 0.0.0.0:7070`)
  }
  return { host: m[1] ?? (m[2] !== '' && m[2] !== undefined ? m[2] : '0.0.0.0'), port }
}

/**
 * What to do when the coordinator cannot listen (PC_ERR_LISTEN), from the system error behind
 * it: which address and port, and how to get past it. Empty when there is nothing to add.
 */
export function listenAdvice (err: PortcheckError): string {
  const cause = err.cause as { code?: string, address?: string, port?: number } | undefined
  // Which of serve's two addresses it was: the message of the metrics listener names its option.
  const option = err.message.includes('(--metrics-listen)') ? '--metrics-listen' : '--listen'
  const where = cause?.address !== undefined && cause.port !== undefined ? `${net.isIPv6(cause.address) ? `[${cause.address}]` : cause.address}:${cause.port}` : 'that address'
  switch (cause?.code) {
    case 'EADDRINUSE':
      return `  Another process already listens on ${where} (often an earlier \`portcheck serve\` or \`run --dashboard\`).\n` +
        `  Stop it, or choose another port with ${option} HOST:PORT (port 0 picks a free one${option === '--listen' ? '; agents then need the new address' : ''}).\n` +
        `  To see what holds it: ss -ltnp 'sport = :${cause.port ?? 'PORT'}' (or: lsof -i :${cause.port ?? 'PORT'})\n`
    case 'EADDRNOTAVAIL':
      return `  ${cause.address ?? `The ${option} host`} is not an address of this machine: listen on one it has, or on 0.0.0.0 (every address).\n`
    case 'EACCES':
      return `  Ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a port above 1023 with ${option}${option === '--listen' ? ' (default 7070)' : ''}.\n`
    default:
      return ''
  }
}

/** `--timeout` as run options: a number of ms, or `auto` (adaptive, at most 3000 ms). */
export function timing (timeout: number | 'auto'): { timeoutMs: number, adaptive: boolean } {
  return timeout === 'auto' ? { timeoutMs: 3000, adaptive: true } : { timeoutMs: timeout, adaptive: false }
}

export function setOverrides (args: InputArgs): Record<string, string> {
  return parseSetArgs(args.set)
}

export interface LogArgs { 'log-level': string, 'log-format'?: string }

export function withLogging<T> (y: Argv<T>, level = 'info'): Argv<T & LogArgs> {
  return y
    .option('log-level', { type: 'string', default: level, choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], describe: 'log level (logs go to stderr)' })
    .option('log-format', { type: 'string', choices: ['pretty', 'json'], describe: 'log format; default: pretty on a terminal, else JSON' }) as unknown as Argv<T & LogArgs>
}

/**
 * One pino logger for the whole process, to stderr: JSON, or pretty on a terminal. With a
 * status line, each log line is written above it (and to process.stderr, the stream the status
 * line draws on, so that the two never interleave out of order).
 */
export function createLogger (args: LogArgs, status?: StatusLine): Logger {
  const format = args['log-format'] ?? (process.stderr.isTTY ? 'pretty' : 'json')
  const dest = format === 'pretty' ? prettyStream(process.stderr) : status?.enabled === true ? process.stderr : pino.destination(2)
  return pino({
    name: 'portcheck',
    level: args['log-level'],
    // The join token must never reach a log file.
    redact: { paths: ['token', '*.token', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' }
  }, status?.enabled === true ? status.sink(dest) : dest)
}

/**
 * The examples of a command's `--help`, as its epilogue: each a `#` comment over the command
 * (a newline in either starts another line of it). Keep lines within 78 columns: the help is
 * wrapped to the terminal's width, and a command broken in two can no longer be copied.
 */
export function examples (list: Array<[comment: string, command: string]>): string {
  return 'Examples:\n' + list.map(([comment, command]) => `  # ${comment.replace(/\n/g, '\n  # ')}\n  ${command.replace(/\n/g, '\n  ')}`).join('\n\n')
}

/** Writes command output to a file, or to stdout. */
export async function emit (text: string, output: string | undefined): Promise<void> {
  if (output !== undefined && output !== '-') await writeFile(output, text)
  else process.stdout.write(text)
}
