import { tokenMatches } from '../hub/token.js'
import type { Access } from './api-types.js'
import type { Coordinator } from './coordinator.js'

/**
 * Checks the API token when the coordinator requires one: the join token grants everything,
 * the viewer token only reads.
 */
export function authorize (coordinator: Coordinator, presented: string | undefined): Access | null {
  if (!coordinator.requireAuth) return 'full'
  if (tokenMatches(presented, coordinator.token)) return 'full'
  if (coordinator.viewerToken !== null && tokenMatches(presented, coordinator.viewerToken)) return 'read'
  return null
}
