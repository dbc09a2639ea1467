import { PortcheckError } from '@portcheck/protocol'
import { AGENT_BUNDLE_PATH } from '../agent-dist/agent-routes.js'
import { quote } from '../quote.js'

/** Where the agents of a manifest find the coordinator. */
export interface CoordinatorAddress {
  /** What agents connect to: `wss://HOST:PORT` (`ws://` for an `--insecure` coordinator). */
  agentUrl: string
  /** Where the agent bundle is fetched from: `https://HOST:PORT/agent/portcheck-agent.mjs` (`http://` with `--insecure`). */
  bundleUrl: string
}

/**
 * Reads `--coordinator`: `wss://HOST:PORT` as a join command prints it, or `https://HOST:PORT`
 * (the dashboard's address); `ws://` or `http://` only for an `--insecure` coordinator, and TLS
 * only without it. The port must be written out: the coordinator's default is 7070, a URL's is 443.
 */
export function parseCoordinatorAddress (value: string, insecure: boolean): CoordinatorAddress {
  const bad = (why: string): PortcheckError => new PortcheckError('PC_ERR_USAGE', `--coordinator ${quote(value)}: ${why}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw bad('expected wss://HOST:PORT, the address in the join commands (e.g. wss://198.18.0.5:7070)')
  }
  const tls = url.protocol === 'wss:' || url.protocol === 'https:'
  if (!tls && url.protocol !== 'ws:' && url.protocol !== 'http:') throw bad(`unsupported scheme ${url.protocol.replace(/:$/, '')}: expected wss:// (or ws:// with --insecure)`)
  if (tls && insecure) throw bad('a TLS address contradicts --insecure: use ws:// for a coordinator started with --insecure, or drop --insecure')
  if (!tls && !insecure) throw bad('a plain address needs --insecure (credentials then cross the network in clear); a coordinator serves TLS by default: wss://')
  if (url.username !== '' || url.password !== '') throw bad('no user or password: agents authenticate with their own credential')
  // WHATWG URLs drop a scheme's default port (wss://h:443 has port ""): read it from the text.
  const port = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:@]*):(\d+)(?:\/|$)/i.exec(value)?.[1]
  if (port === undefined) throw bad(`name the port, as the join commands do (e.g. ${url.protocol}//${url.hostname}:7070)`)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') throw bad('expected only a scheme, a host and a port: the coordinator serves agents at its root')
  const host = `${url.hostname}:${Number(port)}`
  return {
    agentUrl: `${tls ? 'wss' : 'ws'}://${host}`,
    bundleUrl: `${tls ? 'https' : 'http'}://${host}${AGENT_BUNDLE_PATH}`
  }
}
