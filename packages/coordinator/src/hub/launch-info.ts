/**
 * The launch states and what the API says of a launch, declared once. Types and constants only,
 * with no Node import: the dashboard's browser code reads them too.
 */

/**
 * Where the launch of one host's agent stands (`portcheck run --launch ssh`), in order:
 * `queued` (waiting for a launch slot), `connecting` (ssh is connecting and authenticating),
 * `copying` (the agent file is on its way), `starting` (the agent process is being started),
 * `running` (the agent process runs; it joins the hub on its own), then `stopping` and
 * `stopped` at the end; `failed` at any point, with the reason.
 */
export type LaunchState = 'queued' | 'connecting' | 'copying' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped'

/** The launch states, in order, declared once for the API, the dashboard and the terminal. */
export const LAUNCH_STATES: readonly LaunchState[] = ['queued', 'connecting', 'copying', 'starting', 'running', 'failed', 'stopping', 'stopped']

/** One host's launch, as the API (`GET /api/agents`) and the terminal show it. */
export interface LaunchInfo {
  /** How the agent is launched: `ssh` (the system's OpenSSH client). */
  method: 'ssh'
  state: LaunchState
  /**
   * What went wrong (`failed`): the SSH error (the last line ssh printed, cleaned), or what the
   * host lacks; otherwise null.
   */
  error: string | null
  /** When the state last changed, in ms since the epoch. */
  since: number
}
