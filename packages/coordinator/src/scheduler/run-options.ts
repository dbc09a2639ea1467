import { randomBytes } from 'node:crypto'
import type { RunState, RunSummary } from '../report/report.js'

/**
 * Rounds of probing at most: the first, and re-probes of checks whose silence is not yet evidence
 * enough on their path's measured loss. Each round is bounded by the probe timeout.
 */
export const MAX_ROUNDS = 3

/** Tunables of a run. Every wait is bounded, so a run always ends. */
export interface RunOptions {
  /** Probe timeout, in ms. Default 3000. With `adaptive`, the longest a probe may take. */
  timeoutMs?: number
  /**
   * `--timeout auto`: agents end each probe as soon as its unanswered attempts are evidence of a
   * drop on the path's measured loss (`timeoutMs` at most). Default false.
   */
  adaptive?: boolean
  /** Most probes in flight per agent. Default 256. */
  concurrency?: number
  /**
   * How long agents have to confirm their listeners, in ms. Default 60000: the wait ends as soon as
   * every agent answered; binding is quick, but on a lossy link run-start and run-ready can each
   * sit behind TCP retransmissions for many seconds, and an agent given up on loses all its checks.
   */
  listenTimeoutMs?: number
  /**
   * How long agents have to answer the end-of-probing barrier, in ms. Default 60000: the wait
   * ends as soon as every agent answered; on a lossy link an answer can sit behind TCP
   * retransmissions for seconds, and an agent given up on turns its checks into agent-lost.
   */
  flushTimeoutMs?: number
  /** How long agents have to confirm their listeners are closed, in ms. Default 5000. */
  closeTimeoutMs?: number
  /**
   * The longest agents keep a run's listeners, in ms: they cap its TTL at this, and a run still
   * going near it is aborted. Default `MAX_RUN_TTL_MS` (1 hour), which agents enforce whatever
   * they are told; lower only to test that bound.
   */
  maxTtlMs?: number
  /** The run this one re-runs the failed checks of, if any (shown in lists). */
  rerunOf?: string
  /** Started by the schedule (`serve --every`) rather than by a request. Default false. */
  scheduled?: boolean
  /**
   * `--localize N`: after the rounds, trace a re-probe of at most this many blocked checks
   * through their hosts' nftables rules to find where each was dropped (0: off). Default 64.
   */
  localize?: number
}

export interface RunEvents {
  state: [RunState]
  done: [RunSummary]
}

let runCounter = 0

/** A short, unique, URL-safe run id. */
export function newRunId (): string {
  runCounter = (runCounter + 1) % 1296
  return `${Date.now().toString(36)}${runCounter.toString(36).padStart(2, '0')}${randomBytes(3).toString('hex')}`
}
