import type { AgentHub } from '../hub/agent-hub.js'

/**
 * Resolves when every named host has an agent, after `timeoutMs`, or on abort; returns the names
 * still missing. `onChange` hears every join and leave meanwhile.
 */
export async function waitForAgents (hub: AgentHub, names: readonly string[], timeoutMs: number, onChange?: (joined: string[], missing: string[]) => void, signal?: AbortSignal): Promise<string[]> {
  const missing = (): string[] => names.filter((n) => hub.get(n) === undefined)
  if (missing().length === 0 || signal?.aborted === true) return missing()
  return await new Promise<string[]>((resolve) => {
    const update = (): void => {
      const m = missing()
      onChange?.(names.filter((n) => !m.includes(n)), m)
      if (m.length === 0) finish()
    }
    const finish = (): void => {
      clearTimeout(timer)
      hub.off('joined', update)
      hub.off('left', update)
      signal?.removeEventListener('abort', finish)
      resolve(missing())
    }
    const timer = setTimeout(finish, timeoutMs)
    hub.on('joined', update)
    hub.on('left', update)
    signal?.addEventListener('abort', finish, { once: true })
  })
}
