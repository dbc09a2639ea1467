import type { AgentHub } from '../hub/agent-hub.js'

/**
 * Resolves when every named host has an agent or, for a host the coordinator launches itself,
 * its launch failed (waiting longer cannot bring that agent); after `timeoutMs`; or on abort.
 * Returns the names still without an agent. `onChange` hears every join and leave meanwhile.
 */
export async function waitForAgents (hub: AgentHub, names: readonly string[], timeoutMs: number, onChange?: (joined: string[], missing: string[]) => void, signal?: AbortSignal): Promise<string[]> {
  const missing = (): string[] => names.filter((n) => hub.get(n) === undefined)
  const settled = (m: readonly string[]): boolean => m.every((n) => hub.launches.failure(n) !== undefined)
  if (settled(missing()) || signal?.aborted === true) return missing()
  return await new Promise<string[]>((resolve) => {
    const update = (): void => {
      const m = missing()
      onChange?.(names.filter((n) => !m.includes(n)), m)
      if (settled(m)) finish()
    }
    const onLaunch = (): void => { if (settled(missing())) finish() }
    const finish = (): void => {
      clearTimeout(timer)
      hub.off('joined', update)
      hub.off('left', update)
      hub.launches.off('change', onLaunch)
      signal?.removeEventListener('abort', finish)
      resolve(missing())
    }
    const timer = setTimeout(finish, timeoutMs)
    hub.on('joined', update)
    hub.on('left', update)
    hub.launches.on('change', onLaunch)
    signal?.addEventListener('abort', finish, { once: true })
  })
}
