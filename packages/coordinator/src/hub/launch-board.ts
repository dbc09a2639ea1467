import { EventEmitter } from 'node:events'
import type { LaunchInfo, LaunchState } from './launch-info.js'

export type { LaunchInfo, LaunchState } from './launch-info.js'

interface BoardEvents {
  change: [name: string, info: LaunchInfo]
}

/**
 * Every host's launch state, for whoever shows it (terminal, dashboard) and for runs: a host
 * whose launch failed has no agent and will not get one, and its checks say why.
 */
export class LaunchBoard extends EventEmitter<BoardEvents> {
  private readonly byName = new Map<string, LaunchInfo>()

  /** Records a host's state (and error, for `failed`); emits `change`. */
  set (name: string, state: LaunchState, error: string | null = null): void {
    const info: LaunchInfo = { method: 'ssh', state, error, since: Date.now() }
    this.byName.set(name, info)
    this.emit('change', name, info)
  }

  get (name: string): LaunchInfo | undefined {
    return this.byName.get(name)
  }

  /** Whether any host is launched by the coordinator. */
  get active (): boolean {
    return this.byName.size > 0
  }

  /** Hosts in a state. */
  named (state: LaunchState): string[] {
    return [...this.byName].filter(([, i]) => i.state === state).map(([n]) => n)
  }

  /** Why the host's agent is missing for good (`launch over SSH failed: …`) if its launch failed; undefined otherwise. */
  failure (name: string): string | undefined {
    const info = this.byName.get(name)
    return info?.state === 'failed' ? `launch over SSH failed: ${info.error ?? 'no reason given'}` : undefined
  }
}
