import { Document, isMap, isSeq } from 'yaml'
import type { ImportedInventory } from './import-ansible.js'

/** What the header comment of an imported inventory says. */
export interface ImportHeader {
  file: string
  form: 'INI' | 'YAML'
  /** The command that made it. */
  command: string
  /** Ansible hosts in no group of the role map. */
  leftOut: readonly string[]
  /** Addresses that are DNS names. */
  names: readonly string[]
}

/** Lists up to 10 names, then how many more. */
function some (names: readonly string[]): string {
  return names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '')
}

/**
 * The imported inventory as YAML, one host a line (`- { name: …, address: …, roles: […] }`),
 * under a comment saying where it came from, what was left out, and which addresses are names.
 */
export function formatImported (inventory: ImportedInventory, h: ImportHeader): string {
  const header = [
    `portcheck inventory, imported from the Ansible ${h.form} inventory ${h.file} by`,
    `  ${h.command}`,
    'Import again to follow changes to the Ansible inventory (edits here would be lost).'
  ]
  if (h.leftOut.length > 0) header.push(`Left out (in no group of --role-map): ${some(h.leftOut)}`)
  if (h.names.length > 0) header.push(`Addresses that are DNS names, resolved by each agent when it probes (nothing was resolved at import): ${some(h.names)}`)
  const doc = new Document(inventory)
  const hosts = doc.get('hosts', true)
  if (isSeq(hosts)) for (const item of hosts.items) if (isMap(item)) item.flow = true
  return header.map((l) => `# ${l}`).join('\n') + '\n' + doc.toString({ lineWidth: 0 })
}
