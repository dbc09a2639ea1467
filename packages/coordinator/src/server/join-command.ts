import { agentCredential } from '../security/credentials.js'

/** What a join command is made of. */
export interface JoinTarget {
  /** The URL agents connect to (`wss://HOST:PORT`, or `ws://` with `--insecure`); null before listening. */
  agentUrl: string | null
  /** The TLS pin agents check, or null for a plain (`--insecure`) coordinator. */
  pin: string | null
  /** The join token, from which each host's credential is derived. */
  token: string
}

/**
 * The command that joins host `name` to a coordinator: its own credential (never the join token),
 * and the pin of the coordinator's TLS key. With `withSecret` false (for viewers), the credential
 * is a placeholder: it lets a node register as that host.
 */
export function joinCommand (target: JoinTarget, name: string, withSecret = true): string {
  const credential = withSecret ? agentCredential(target.token, name) : `<credential of ${name}>`
  const url = target.agentUrl ?? `${target.pin !== null ? 'wss' : 'ws'}://COORDINATOR:7070`
  return `npx portcheck-agent --coordinator ${url} --token ${credential} --name ${name} ${target.pin !== null ? `--pin ${target.pin}` : '--insecure'}`
}
