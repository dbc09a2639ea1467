import { agentCredential } from '../security/credentials.js'
import { EXECUTABLE_NAME } from '../agent-dist/executable.js'
import { AGENT_BIN_PATH, AGENT_BUNDLE_PATH } from '../agent-dist/agent-routes.js'

/** What a join command is made of. */
export interface JoinTarget {
  /** The URL agents connect to (`wss://HOST:PORT`, or `ws://` with `--insecure`); null before listening. */
  agentUrl: string | null
  /** The URL of the API, whose `/agent/…` serves the agent (`https://HOST:PORT/`); null before listening. */
  httpUrl: string | null
  /** The TLS pin agents check, or null for a plain (`--insecure`) coordinator. */
  pin: string | null
  /** The join token, from which each host's credential is derived. */
  token: string
  /** The target of the standalone agent this coordinator serves (`linux-x64`), or null if it makes none. */
  executableTarget: string | null
}

/**
 * curl's form of a pin: `sha256//` and the base64 of the same SHA-256 of the public key
 * (`--pinnedpubkey`). curl then checks the key before sending anything, with `-k` (the
 * certificate is self-signed), so a man in the middle cannot hand the node other code.
 */
export function curlPin (pin: string): string {
  return `sha256//${Buffer.from(pin.replace(/^sha256:/, ''), 'hex').toString('base64')}`
}

/** A curl command downloading `path` from the coordinator, pinned to its key when it has TLS. */
export function fetchCommand (target: JoinTarget, path: string, output?: string): string {
  const base = target.httpUrl ?? `${target.pin !== null ? 'https' : 'http'}://COORDINATOR:7070/`
  const pinning = target.pin !== null ? `-fsSk --pinnedpubkey ${curlPin(target.pin)}` : '-fsS'
  return `curl ${pinning}${output !== undefined ? ` -o ${output}` : ''} ${base}${path.replace(/^\//, '')}`
}

/**
 * The agent's arguments for host `name`: its own credential (never the join token), and the pin
 * of the coordinator's TLS key. With `withSecret` false (for viewers), the credential is a
 * placeholder: it lets a node register as that host.
 */
export function agentArguments (target: JoinTarget, name: string, withSecret = true): string {
  const credential = withSecret ? agentCredential(target.token, name) : `<credential of ${name}>`
  const url = target.agentUrl ?? `${target.pin !== null ? 'wss' : 'ws'}://COORDINATOR:7070`
  return `--coordinator ${url} --token ${credential} --name ${name} ${target.pin !== null ? `--pin ${target.pin}` : '--insecure'}`
}

/**
 * The command that joins host `name` from a node with Node.js 20.19+ and curl: the agent's
 * bundle, fetched from the coordinator (pinned) and run from stdin, so nothing is installed or
 * written on the node and no registry is needed.
 */
export function joinCommand (target: JoinTarget, name: string, withSecret = true): string {
  return `${fetchCommand(target, AGENT_BUNDLE_PATH)} | node --input-type=module - ${agentArguments(target, name, withSecret)}`
}

/** What replaces `node --input-type=module -` on a node without Node.js: the standalone agent, saved in the current directory. Null if the coordinator makes none. */
export function executablePrefix (target: JoinTarget): string | null {
  if (target.executableTarget === null) return null
  return `${fetchCommand(target, `${AGENT_BIN_PATH}/${target.executableTarget}`, EXECUTABLE_NAME)} && chmod +x ${EXECUTABLE_NAME} && ./${EXECUTABLE_NAME}`
}

/** The command that joins host `name` from a node without Node.js (of the coordinator's platform), or null if the coordinator makes no standalone agent. */
export function executableJoinCommand (target: JoinTarget, name: string, withSecret = true): string | null {
  const prefix = executablePrefix(target)
  return prefix === null ? null : `${prefix} ${agentArguments(target, name, withSecret)}`
}
