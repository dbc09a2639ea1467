import { addressesOf } from '@portcheck/protocol'
import type { Coordinator } from '../server/coordinator.js'

/** The lines telling an operator what to run on each node. */
export function joinInstructions (c: Coordinator): string {
  const lines = [
    `portcheck: coordinator for ${c.catalog.catalog.title} (${c.catalog.catalog.id}) at ${c.httpUrl ?? ''}`,
    '',
    c.pin !== null
      ? `TLS: agents check the coordinator's key against --pin ${c.pin}; each host's --token is its own credential.`
      : 'Plain HTTP and ws:// (--insecure): credentials and tokens cross the network in clear.',
    '',
    'On each node, run (Node.js 20.19 or later; add `sudo` to check ports below 1024):',
    ''
  ]
  const w = Math.max(...c.hosts.map((h) => h.name.length))
  for (const h of c.hosts) lines.push(`  # ${h.name.padEnd(w)}  ${addressesOf(h).join(', ')}  (${h.roles.join(', ')})\n  ${c.joinCommand(h.name)}`)
  lines.push('')
  return lines.join('\n') + '\n'
}
