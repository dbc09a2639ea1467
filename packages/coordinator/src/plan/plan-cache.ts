import type { SettingValues } from '../catalog/conditions.js'
import type { Plan } from './expand.js'

/** Plans kept for reuse, at most: the default run's, `includeOptional`'s, and a couple of overrides. */
export const MAX_CACHED_PLANS = 4

/** What decides a plan besides the coordinator's catalog and inventory, which never change. */
export interface PlanKey {
  settings: SettingValues
  includeOptional: boolean
}

/** The cache key of a plan's inputs: settings in name order, so that equal inputs meet. */
function keyOf (k: PlanKey): string {
  return JSON.stringify([k.includeOptional, Object.entries(k.settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))])
}

/**
 * One plan per set of inputs, shared by every run of them: a plan of a million checks weighs
 * hundreds of megabytes, and runs only read theirs. The least recently used plan is dropped past
 * {@link MAX_CACHED_PLANS}; runs that still hold it keep it alive until they are dropped too.
 */
export class PlanCache {
  private readonly plans = new Map<string, Plan>()

  constructor (private readonly build: (key: PlanKey) => Plan, private readonly max = MAX_CACHED_PLANS) {}

  /** The plan of these inputs: the cached one, or a new one (which a failed build does not leave behind). */
  get (key: PlanKey): Plan {
    const k = keyOf(key)
    let plan = this.plans.get(k)
    if (plan !== undefined) {
      this.plans.delete(k)
    } else {
      plan = this.build(key)
    }
    this.plans.set(k, plan)
    for (const old of this.plans.keys()) {
      if (this.plans.size <= this.max) break
      this.plans.delete(old)
    }
    return plan
  }
}
