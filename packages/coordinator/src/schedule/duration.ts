import { PortcheckError } from '@portcheck/protocol'

/** Shortest period `--every` takes, in ms: a run cannot be proven in less than a probe round anyway. */
export const MIN_EVERY_MS = 1000

/** Longest period `--every` takes, in ms (7 days). */
export const MAX_EVERY_MS = 7 * 24 * 3_600_000

const DURATION = /^(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,9})s)?$/

/**
 * Parses a period such as `30s`, `5m`, `1h` or `1h30m`: whole hours, minutes and seconds, in that
 * order, each at most once. Nothing else is a duration: no bare number (seconds or milliseconds?),
 * no fraction, no space, no other unit. Throws PC_ERR_USAGE naming the option.
 *
 * @param option the option's name, for the message (default `--every`)
 * @returns the period in ms, from {@link MIN_EVERY_MS} to {@link MAX_EVERY_MS}
 */
export function parseDuration (text: string, option = '--every'): number {
  const m = DURATION.exec(text)
  const usage = `${option} ${JSON.stringify(text)}: expected a duration such as 30s, 5m, 1h or 1h30m (whole hours h, minutes m and seconds s, from 1s to 7 days)`
  if (m === null || text === '') throw new PortcheckError('PC_ERR_USAGE', usage)
  const [, h = '0', min = '0', s = '0'] = m
  const ms = ((Number(h) * 60 + Number(min)) * 60 + Number(s)) * 1000
  if (ms < MIN_EVERY_MS || ms > MAX_EVERY_MS) throw new PortcheckError('PC_ERR_USAGE', usage)
  return ms
}

/** A period in words, as the logs and the dashboard say it: `5m`, `1h30m`, `45s`. */
export function formatDuration (ms: number): string {
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const out = `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`
  return out === '' ? '0s' : out
}
