/**
 * Every error portcheck raises on purpose carries a stable code, documented in
 * docs/reference/errors.md. Callers branch on `code`, never on the message.
 */
export const ErrorCodes = {
  /** Command-line usage is wrong (unknown option, missing argument). Exit 2. */
  PC_ERR_USAGE: 'PC_ERR_USAGE',
  /** A catalog file cannot be read, parsed or fails validation. Exit 2. */
  PC_ERR_CATALOG_INVALID: 'PC_ERR_CATALOG_INVALID',
  /** `--catalog` names neither a built-in catalog nor a readable file. Exit 2. */
  PC_ERR_CATALOG_NOT_FOUND: 'PC_ERR_CATALOG_NOT_FOUND',
  /** An inventory file cannot be read, parsed or fails validation. Exit 2. */
  PC_ERR_INVENTORY_INVALID: 'PC_ERR_INVENTORY_INVALID',
  /** A `--set name=value` (or a run request's setting) is unknown or has the wrong type; inventory problems are PC_ERR_INVENTORY_INVALID. Exit 2. */
  PC_ERR_SETTING_INVALID: 'PC_ERR_SETTING_INVALID',
  /** The agent's token was refused by the coordinator. The agent stops; retrying cannot help. */
  PC_ERR_AGENT_AUTH: 'PC_ERR_AGENT_AUTH',
  /** Another live agent already uses this name. */
  PC_ERR_AGENT_DUPLICATE: 'PC_ERR_AGENT_DUPLICATE',
  /** The agent and coordinator speak different protocol versions. */
  PC_ERR_PROTOCOL_VERSION: 'PC_ERR_PROTOCOL_VERSION',
  /** A control message was malformed, of an unknown type or too large; the connection is closed. */
  PC_ERR_MESSAGE_INVALID: 'PC_ERR_MESSAGE_INVALID',
  /** A run was requested while another one is in progress. */
  PC_ERR_RUN_BUSY: 'PC_ERR_RUN_BUSY',
  /** The coordinator could not listen on its address. */
  PC_ERR_LISTEN: 'PC_ERR_LISTEN',
  /** An option passed to the programmatic API is invalid. */
  PC_ERR_OPTION_INVALID: 'PC_ERR_OPTION_INVALID',
  /** The agent's name is not a host of the coordinator's inventory. The agent stops. */
  PC_ERR_AGENT_UNKNOWN: 'PC_ERR_AGENT_UNKNOWN',
  /** The coordinator's TLS key does not match the agent's `--pin`: not the coordinator the join command was made for. The agent stops. */
  PC_ERR_TLS_PIN: 'PC_ERR_TLS_PIN',
  /** TLS material (certificate, key, state directory) cannot be read, written or used. Exit 2. */
  PC_ERR_TLS: 'PC_ERR_TLS',
  /** HTTP 401: the request needs a token (`Authorization: Bearer TOKEN`). */
  PC_ERR_UNAUTHORIZED: 'PC_ERR_UNAUTHORIZED',
  /** HTTP 403: the token does not grant this (the viewer token only reads), or a same-origin proof is missing. */
  PC_ERR_FORBIDDEN: 'PC_ERR_FORBIDDEN',
  /** HTTP 421: the request's Host is not one of the coordinator's names or addresses (DNS rebinding). */
  PC_ERR_HOST: 'PC_ERR_HOST',
  /** HTTP 404: no such route or run. */
  PC_ERR_NOT_FOUND: 'PC_ERR_NOT_FOUND',
  /** HTTP 4xx other than the above: a malformed request (body, query, parameters, size, type). */
  PC_ERR_REQUEST: 'PC_ERR_REQUEST',
  /** A saved run report (`portcheck fix`, `diff`, `run --rerun-failed`) cannot be read, parsed or fails validation. Exit 2. */
  PC_ERR_REPORT_INVALID: 'PC_ERR_REPORT_INVALID',
  /** A saved run report does not belong with what it is used with: another catalog, or no check of the current plan. Exit 2. */
  PC_ERR_REPORT_MISMATCH: 'PC_ERR_REPORT_MISMATCH',
  /** The coordinator cannot serve this agent file (`GET /agent/…`): not built, another platform's executable, or the executable could not be made. HTTP 404 or 503. */
  PC_ERR_AGENT_DIST: 'PC_ERR_AGENT_DIST'
} as const

/** One of the documented error codes. */
export type ErrorCode = keyof typeof ErrorCodes

/** Where in a user's file a validation problem sits. */
export interface Problem {
  /** The file, as the user named it (or `<inline>`). */
  file: string
  /** The path to the field, e.g. `flows[3].tcp[0]`; empty for the document itself. */
  path: string
  /** What is wrong, in words that say what was expected. */
  message: string
  /** 1-based line in the file, where known. */
  line?: number
  /** 1-based column in the file, where known. */
  column?: number
}

/** Formats a problem as `file:line:col: path: message`, the way compilers do, so editors can jump to it. */
export function formatProblem (p: Problem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`
}

/** An error with a stable code and, for input errors, the list of problems found. */
export class PortcheckError extends Error {
  readonly code: ErrorCode
  readonly problems: Problem[]

  constructor (code: ErrorCode, message: string, options: { problems?: Problem[], cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PortcheckError'
    this.code = code
    this.problems = options.problems ?? []
  }
}

/** Orders problems the way an editor lists them: by file, then line and column. */
export function sortProblems (problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.file.localeCompare(b.p.file) || (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p)
}

/** Builds an input error whose message lists every problem, one per line, in file order. */
export function problemsError (code: ErrorCode, summary: string, unsorted: Problem[]): PortcheckError {
  const problems = sortProblems(unsorted)
  const lines = problems.map((p) => '  ' + formatProblem(p))
  return new PortcheckError(code, `${summary}\n${lines.join('\n')}`, { problems })
}
