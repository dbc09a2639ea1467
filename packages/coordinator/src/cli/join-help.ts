import type { Coordinator } from '../server/coordinator.js'

/** The lines telling an operator what to run on each node. */
export function joinInstructions (c: Coordinator): string {
  const lines = [
    `portcheck: coordinator for ${c.catalog.catalog.title} (${c.catalog.catalog.id}) at ${c.httpUrl ?? ''}`,
    '',
    c.pin !== null
      ? `TLS: curl fetches the agent and the agent connects only if the coordinator's key matches (--pinnedpubkey, --pin ${c.pin}); each host's --token is its own credential.`
      : 'Plain HTTP and ws:// (--insecure): the agent and the credentials cross the network in clear and unchecked.',
    '',
    'On each node, run (Node.js 20.19 or later and curl; nothing is installed; `sudo node` to check ports below 1024):',
    ''
  ]
  const w = Math.max(...c.hosts.map((h) => h.name.length))
  for (const h of c.hosts) lines.push(`  # ${h.name.padEnd(w)}  ${h.address}  (${h.roles.join(', ')})\n  ${c.joinCommand(h.name)}`)
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
