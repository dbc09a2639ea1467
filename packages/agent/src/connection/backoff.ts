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

/** Normalises `--coordinator`: accepts ws(s):// or http(s)://, and adds the agent path if none is given. */
export function agentUrl (coordinator: string, path: string): URL {
  let url: URL
  try {
    url = new URL(coordinator.includes('://') ? coordinator : `ws://${coordinator}`)
  } catch {
    throw new TypeError(`invalid coordinator address "${coordinator}": expected ws://HOST:PORT`)
  }
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`invalid coordinator address "${coordinator}": the scheme must be ws:// or wss://`)
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = path
  return url
}
