/**
 * Exponential backoff with jitter for reconnects, so a restarted coordinator is not hit by
 * every agent at the same instant.
 *
 * @param minMs first delay, in ms (default 500)
 * @param maxMs ceiling, in ms (default 30000)
 */
export class Backoff {
  private attempt = 0
  constructor (private readonly minMs = 500, private readonly maxMs = 30_000) {}

  /** The next delay, in ms: grows ×2 per attempt, with ±50% jitter, capped at maxMs. */
  next (): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(Math.min(this.maxMs, base * (0.5 + Math.random())))
  }

  reset (): void {
    this.attempt = 0
  }
}

/**
 * Normalises `--coordinator`: `wss://HOST:PORT` (or `https://`), or with `insecure` also `ws://`
 * (or `http://`); the agent path is added if none is given. Throws a TypeError saying what is wrong.
 */
export function agentUrl (coordinator: string, path: string, insecure = false): URL {
  let url: URL
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(coordinator)) {
    throw new TypeError(`invalid coordinator address "${coordinator.slice(0, 200)}": expected wss://HOST:PORT${insecure ? ' or ws://HOST:PORT' : ''}, as the join command prints it`)
  }
  try {
    url = new URL(coordinator)
  } catch {
    throw new TypeError(`invalid coordinator address "${coordinator.slice(0, 200)}": expected wss://HOST:PORT`)
  }
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`invalid coordinator address "${coordinator.slice(0, 200)}": the scheme must be wss:// (or ws:// with --insecure)`)
  }
  if (url.protocol === 'ws:' && !insecure) {
    throw new TypeError(`${coordinator.slice(0, 200)} is not encrypted: the credential would cross the network in clear. Use the wss:// address the join command prints, or pass --insecure if the coordinator was started with --insecure`)
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = path
  return url
}
