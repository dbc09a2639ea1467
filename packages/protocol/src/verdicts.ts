/**
 * The verdicts a check can end with, and why. Outcomes are data, not exceptions:
 * this table is the single source for the report, the dashboard and docs/reference/verdicts.md.
 */

/** The four final states of a check. */
export type Status = 'pass' | 'blocked' | 'inconclusive' | 'skipped'

/** Every reason a verdict can carry, grouped by the status it belongs to. */
export const Reasons = {
  pass: {
    'existing-listener': 'Another process already held this TCP port on the target and a connection to it completed; the agent could not put its own listener there, so the nonce was not checked, and it could not count arrivals (it needs root and nftables) to prove the connection reached the target.',
    counted: "Another process already held this port on the target; the target agent saw the probe arrive past the target's own firewall, in a temporary nftables table of its own: UDP, its datagrams (its nonce, from the source's address); TCP, the SYN of the very connection that completed (the source's address and port)."
  },
  blocked: {
    timeout: "The target listener was open, and nothing arrived: the traffic was silently dropped (the detail gives the unanswered attempts and the path's measured loss, which cannot explain them).",
    refused: 'The target listener was open, and the probe was refused (TCP RST or ICMP port unreachable): a firewall rejects it.',
    unreachable: 'An ICMP host, network or administratively-prohibited unreachable came back: a firewall or router refuses the path.',
    intercepted: 'Something answered, but the target listener never saw the nonce: a DNAT, a proxy or another host took the traffic (the detail says what answered).',
    'egress-denied': "The source host's own firewall refused to send the probe (EPERM or EACCES): an egress rule on the source."
  },
  inconclusive: {
    'port-in-use': "Another process holds this port on the target, so portcheck cannot listen there, and nothing proves the probe arrived: the target's agent counted none of it (or cannot count), or the connection was refused.",
    'bind-denied': 'The target agent was not allowed to listen on this port (e.g. a port below 1024 without root or CAP_NET_BIND_SERVICE).',
    'bind-failed': 'The target agent could not listen on this port for another reason (see detail).',
    'agent-missing': 'The agent of the source or target host never joined.',
    'agent-lost': 'The agent of the source or target host left or stopped answering during the run.',
    'no-common-family': 'Source and target share no address family (one has IPv4 addresses only, the other IPv6 only, or the source host has no address of the family asked for): no packet of this flow can go between them (see detail).',
    translated: "The nonce reached the target's listener, but from an address of the other family than the check's: something on the way translates between IPv4 and IPv6 (NAT64, a proxy), so the path over this family is not proven.",
    'agent-misplaced': "The host's agent does not run on the host's inventory address (see detail for where it runs): nothing it sees would prove anything about this host, so it opens no listener and sends no probe.",
    'listener-flooded': "Others flooded the target's listener while the probe's attempts went unanswered (TCP: connections that never sent a nonce; UDP: datagrams its socket dropped, its buffer full): a listener that busy drops new traffic itself, so the silence is no evidence of a firewall (the detail gives the count).",
    'lossy-path': 'The path loses so many packets that the attempts made were not evidence enough either way: the port may be open or dropped (the detail gives the measured loss).',
    unresolved: "The source could not resolve the target's name to an address (see detail): nothing was sent.",
    'probe-error': 'The source agent could not send the probe for a local reason that says nothing about the network (see detail).',
    aborted: 'The run was stopped before this check finished.'
  },
  skipped: {
    external: 'One end is an external endpoint (users, an IP range, a public service) that runs no agent: it cannot be proven by two agents.',
    optional: 'The flow is optional in the catalog; pass --include-optional to check it.',
    'same-host': 'Source and target are the same host: the traffic never crosses a firewall between hosts.',
    condition: 'The catalog condition on this flow is off for these settings.'
  }
} as const

/** A reason valid for status S. */
export type ReasonOf<S extends Status> = keyof (typeof Reasons)[S] & string

/** Any reason. */
export type Reason = { [S in Status]: ReasonOf<S> }[Status]

/** Why a check was not run: a reason of the `skipped` status. */
export type SkipReason = ReasonOf<'skipped'>

/** How many checks ended with each status. */
export type StatusTally = Record<Status, number>

/** A tally of zero checks; callers add to it. */
export function emptyTally (): StatusTally {
  return { pass: 0, blocked: 0, inconclusive: 0, skipped: 0 }
}

/** All statuses, in report order (worst first for sorting matrices). */
export const STATUSES: readonly Status[] = ['blocked', 'inconclusive', 'pass', 'skipped']

/** Returns the explanation of a reason under a status, or undefined if the pair is not a documented one. */
export function describeReason (status: Status, reason: string): string | undefined {
  const table = Reasons[status] as Record<string, string>
  return Object.prototype.hasOwnProperty.call(table, reason) ? table[reason] : undefined
}

/** Exit codes of `portcheck run`, the pre-install gate. */
export const ExitCodes = {
  /** Every required check passed. */
  ok: 0,
  /** At least one required check is blocked. */
  blocked: 1,
  /** Bad input: usage, catalog or inventory. */
  badInput: 2,
  /** Nothing required is blocked, but some required check could not be verified. */
  inconclusive: 3,
  /** The run was interrupted (Ctrl-C, SIGTERM): every listener on the agents was closed first. */
  interrupted: 130
} as const
