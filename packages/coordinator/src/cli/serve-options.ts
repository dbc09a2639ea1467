import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import { parseNotifyHeader, parseNotifyUrl } from '../notify/notify-options.js'
import { DEFAULT_KEEP_CHECKS } from '../scheduler/run-manager.js'
import { parseDuration } from '../schedule/duration.js'
import { parseListen } from './options.js'

/** The options only `portcheck serve` has: the schedule, what it keeps, where it reports. */
export interface ServeArgs {
  every?: number
  'keep-checks': number
  'notify-url'?: URL
  'notify-header': Array<[string, string]>
  'metrics-listen'?: { host: string, port: number }
}

/**
 * Adds `--every`, `--keep-checks`, `--notify-url`, `--notify-header` and `--metrics-listen`,
 * each checked as it is parsed (PC_ERR_USAGE naming the option and what is wrong).
 */
export function withServeOptions<T> (y: Argv<T>): Argv<T & ServeArgs> {
  return y
    .option('every', { type: 'string', describe: 're-check the whole matrix on a schedule, e.g. 30s, 5m, 1h: a run starts this long after the previous one started, never two at once', coerce: (v: string) => parseDuration(v) })
    .option('keep-checks', {
      type: 'number',
      default: DEFAULT_KEEP_CHECKS,
      describe: 'runs kept in memory, in checks over all of them (the oldest go first; the newest is always kept, and each run counts as at least 1,000)',
      coerce: (v: number): number => {
        if (!Number.isInteger(v) || v < 1 || v > 100_000_000) throw new PortcheckError('PC_ERR_USAGE', `--keep-checks ${v}: expected a whole number of checks from 1 to 100000000`)
        return v
      }
    })
    .option('notify-url', { type: 'string', describe: 'POST the difference (newly blocked, fixed) to this http(s) URL as JSON when a complete run differs from the one before it', coerce: (v: string) => parseNotifyUrl(v) })
    .option('notify-header', { type: 'string', array: true, default: [] as string[], describe: 'a header of the webhook POST, "Name: value" (repeatable), e.g. an Authorization header; none by default: no token is ever sent', coerce: (v: string[]) => v.map(parseNotifyHeader) })
    .option('metrics-listen', { type: 'string', describe: 'also serve GET /metrics on this address, HOST:PORT, plain HTTP and without a token (keep it on an address only Prometheus reaches)', coerce: (v: string) => parseListen(v, '--metrics-listen') }) as unknown as Argv<T & ServeArgs>
}
