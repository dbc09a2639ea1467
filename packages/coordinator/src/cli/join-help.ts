import type { Coordinator } from '../server/coordinator.js'

/** The coordinator's address and how agents trust it: the head of what `run` and `serve` print. */
function coordinatorHead (c: Coordinator): string[] {
  return [
    `portcheck: coordinator for ${c.catalog.catalog.title} (${c.catalog.catalog.id}) at ${c.httpUrl ?? ''}`,
    '',
    c.pin !== null
      ? `TLS: agents check the coordinator's key against --pin ${c.pin}; each host's --token is its own credential.`
      : 'Plain HTTP and ws:// (--insecure): credentials and tokens cross the network in clear.',
    ''
  ]
}

/** The lines telling an operator what to run on each node. */
export function joinInstructions (c: Coordinator): string {
  const lines = [
    ...coordinatorHead(c),
    'On each node, run (Node.js 20.19 or later; add `sudo` to check ports below 1024):',
    ''
  ]
  const w = Math.max(...c.hosts.map((h) => h.name.length))
  for (const h of c.hosts) lines.push(`  # ${h.name.padEnd(w)}  ${h.address}  (${h.roles.join(', ')})\n  ${c.joinCommand(h.name)}`)
  lines.push('')
  return lines.join('\n') + '\n'
}

/** What `--launch ssh` prints instead of the join commands: nothing is to be run by hand. */
export function launchInstructions (c: Coordinator, concurrency: number): string {
  const n = c.hosts.length
  return [
    ...coordinatorHead(c),
    `Starting the agent on ${n} host${n === 1 ? '' : 's'} over SSH (at most ${concurrency} at a time); each is stopped and its files removed when the coordinator stops.`,
    ''
  ].join('\n') + '\n'
}
