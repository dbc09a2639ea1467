import pino, { type Logger } from 'pino'

/** A log record as pino writes it: `msg`, `level` (30 info, 40 warn, 50 error) and the fields. */
export type LogRecord = Record<string, unknown> & { msg: string, level: number }

/** A pino logger whose JSON lines the test reads back, as an operator's log collector would. */
export interface CapturedLog {
  logger: Logger
  records: LogRecord[]
  /** Records at `level` (`warn`, `info`, …) whose message matches. */
  find: (level: 'info' | 'warn' | 'error', msg: RegExp) => LogRecord[]
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const

/** A logger writing JSON lines into memory (at `level`, default info). */
export function captureLog (level = 'info'): CapturedLog {
  const records: LogRecord[] = []
  const logger = pino({ level }, { write: (line: string) => { records.push(JSON.parse(line) as LogRecord) } })
  return { logger, records, find: (lvl, msg) => records.filter((r) => r.level === LEVELS[lvl] && msg.test(r.msg)) }
}
