import { addressesOf } from '@portcheck/protocol'
import type { Coordinator } from '../server/coordinator.js'

/** The coordinator's address and how agents trust it: the head of what `run` and `serve` print. */
function coordinatorHead (c: Coordinator, tls: string, insecure: string): string[] {
  return [`portcheck: coordinator for ${c.catalog.catalog.title} (${c.catalog.catalog.id}) at ${c.httpUrl ?? ''}`, '', c.pin !== null ? tls : insecure, '']
}

/** The lines telling an operator what to run on each node. */
export function joinInstructions (c: Coordinator): string {
  const lines = [
    ...coordinatorHead(c,
      `TLS: curl fetches the agent and the agent connects only if the coordinator's key matches (--pinnedpubkey, --pin ${c.pin ?? ''}); each host's --token is its own credential.`,
      'Plain HTTP and ws:// (--insecure): the agent and the credentials cross the network in clear and unchecked.'),
    'On each node, run (Node.js 20.19 or later and curl; nothing is installed; `sudo node` to check ports below 1024):',
    ''
  ]
  const w = Math.max(...c.hosts.map((h) => h.name.length))
  for (const h of c.hosts) lines.push(`  # ${h.name.padEnd(w)}  ${addressesOf(h).join(', ')}  (${h.roles.join(', ')})\n  ${c.joinCommand(h.name)}`)
  const first = c.hosts[0]
  const standalone = first !== undefined ? c.executableJoinCommand(first.name) : null
  if (first !== undefined && standalone !== null) {
    // One example, not a second command per host: the arguments are the same, and the dashboard
    // and GET /api/agents give each host's whole command.
    lines.push('', `On a node without Node.js (${c.executableTarget ?? ''}, as this coordinator), run the standalone agent with that host's arguments, e.g. on ${first.name}:`, '', `  ${standalone}`)
  }
  lines.push('')
  return lines.join('\n') + '\n'
}

/** What `--launch ssh` prints instead of the join commands: nothing is to be run by hand. */
export function launchInstructions (c: Coordinator, concurrency: number): string {
  const n = c.hosts.length
  return [
    ...coordinatorHead(c,
      `TLS: each agent, copied over SSH, connects only if the coordinator's key matches its --pin ${c.pin ?? ''}, with its host's own credential.`,
      'Plain HTTP and ws:// (--insecure): the credentials cross the network in clear and unchecked.'),
    `Starting the agent on ${n} host${n === 1 ? '' : 's'} over SSH (at most ${concurrency} at a time); each is stopped and its files removed when the coordinator stops.`,
    ''
  ].join('\n') + '\n'
}
