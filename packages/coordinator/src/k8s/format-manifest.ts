import { Document } from 'yaml'
import type { AgentManifest } from './manifest.js'

/**
 * The manifest as `kubectl apply -f` reads it: the notes as a comment, then one YAML document
 * per object. Long lines are never folded: the init container's script
 * stays a literal block, as readable as its source.
 */
export function formatManifest (manifest: AgentManifest): string {
  const header = manifest.notes.map((l) => l === '' ? '#' : `# ${l}`).join('\n') + '\n'
  return header + manifest.objects.map((obj) => new Document(obj).toString({ lineWidth: 0 })).join('---\n')
}
