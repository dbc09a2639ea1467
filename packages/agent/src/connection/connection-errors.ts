import { errorCodeOf } from '../probes/classify.js'

/**
 * Why a connection to the coordinator failed, in words an operator can act on. Each cause is
 * logged at warn once a minute at most (see ConnectionLog), never as "code=1006 reason=".
 */
export function explainConnectError (err: unknown, url: URL): string {
  const code = errorCodeOf(err)
  const where = `${url.hostname}:${url.port !== '' ? url.port : url.protocol === 'wss:' ? '443' : '80'}`
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing listens at ${where}: is the coordinator running, and is the port right?`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the coordinator's name ${url.hostname} does not resolve (${code})`
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} cannot be reached (${code}): a firewall or a route between this node and the coordinator`
    case 'ECONNRESET':
      return url.protocol === 'wss:'
        ? `${where} closed the connection during the TLS handshake (ECONNRESET): a plain (--insecure) coordinator? Then use ws:// and --insecure here too`
        : `${where} closed the connection (ECONNRESET): a TLS coordinator spoken to with ws://? Use the wss:// address its join command prints`
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `the TLS handshake with ${where} failed (${code}): the coordinator is plain HTTP? Then it was started with --insecure: use ws:// and --insecure here too`
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
      return `the coordinator's certificate is not trusted here (${code}): pass the --pin printed in its join command`
    default: {
      const message = err instanceof Error ? err.message : String(err)
      return `the connection to ${where} failed: ${code ?? ''}${code !== undefined ? ' ' : ''}${message.slice(0, 200)}`
    }
  }
}

/**
 * What an agent says when a coordinator it was registered with refuses its credential: the
 * coordinator's join token changed (a restart with another --token or --state-dir), so every
 * host's credential changed, and the way out is the host's new join command.
 */
export function credentialChangedMessage (coordinator: string, name: string): string {
  return `the coordinator at ${coordinator} refuses the credential "${name}" was registered with until now: its join token changed (it was restarted with another --token or --state-dir). ` +
    'Get this host\'s new join command where the coordinator shows it (its terminal at start-up, its dashboard\'s Agents view, or GET /api/agents) and run it here instead'
}

/** Logs each distinct connection failure once per interval, so a retrying agent says why without flooding its log. */
export class ConnectionLog {
  private readonly last = new Map<string, number>()

  /** @param intervalMs how long the same cause stays quiet after being logged, in ms (default 60000) */
  constructor (private readonly log: (cause: string) => void, private readonly intervalMs = 60_000) {}

  note (cause: string): void {
    const now = Date.now()
    const at = this.last.get(cause)
    if (at !== undefined && now - at < this.intervalMs) return
    this.last.set(cause, now)
    this.log(cause)
  }

  /** A connection succeeded: the next failure is news again. */
  reset (): void {
    this.last.clear()
  }
}
