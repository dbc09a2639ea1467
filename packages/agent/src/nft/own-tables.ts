import type { Logger } from 'pino'
import { runNft } from './nft-command.js'

/**
 * The nftables tables an agent adds are its own, and named so: `portcheck_trace_<pid>_<instance>`
 * (drop localization) and `portcheck_count_<pid>_<instance>` (UDP arrival counting), where pid is
 * the agent's process and instance its random id. It never adds, changes or deletes any other
 * table. The pid tells a table left by an agent that is gone (killed outright) from one of a live
 * agent; the instance tells apart agents of one process (tests run several).
 */
export type TableKind = 'trace' | 'count'

const OWN = /^portcheck_(trace|count)_(\d+)_([A-Za-z0-9_-]+)$/

/** Instances of agents alive in this process: their tables are never stale. */
const liveInstances = new Set<string>()

/** The name of an agent's table of a kind. */
export function ownTableName (kind: TableKind, instance: string): string {
  return `portcheck_${kind}_${process.pid}_${instance}`
}

/** Marks an agent of this process alive (its tables are its own) or gone. */
export function setInstanceAlive (instance: string, alive: boolean): void {
  if (alive) liveInstances.add(instance)
  else liveInstances.delete(instance)
}

/** Whether process `pid` runs (one of another user's counts: signalling it is refused, not absent). */
export function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether a table name is a portcheck agent's, and that agent is gone. */
export function isStaleTable (name: string): boolean {
  const m = OWN.exec(name)
  if (m === null) return false
  const pid = Number(m[2])
  if (pid === process.pid) return !liveInstances.has(m[3] as string)
  return !pidAlive(pid)
}

/**
 * Deletes the tables of portcheck agents that are gone (an agent killed before it could delete
 * its own), found by name. Nothing else is touched. Returns the tables deleted, as `family name`.
 *
 * @param tables the output of `nft -j list tables` if already read (start-up reads it once)
 */
export async function sweepStaleTables (logger: Logger, tables?: string): Promise<string[]> {
  let listing: { nftables?: Array<{ table?: { family: string, name: string } }> }
  try {
    listing = JSON.parse(tables ?? await runNft(['-j', 'list', 'tables'])) as typeof listing
  } catch (err) {
    logger.debug({ err }, 'cannot list nftables tables; no stale table removed')
    return []
  }
  const removed: string[] = []
  for (const entry of listing.nftables ?? []) {
    const t = entry.table
    if (t === undefined || !isStaleTable(t.name)) continue
    try {
      await runNft(['delete', 'table', t.family, t.name])
      removed.push(`${t.family} ${t.name}`)
    } catch (err) {
      logger.debug({ err, table: t.name }, 'a stale table went away first')
    }
  }
  if (removed.length > 0) logger.info({ tables: removed }, 'removed nftables tables left by a portcheck agent that is gone')
  return removed
}

/** Deletes one of the agent's own tables, if it exists. */
export async function deleteOwnTable (family: string, name: string): Promise<void> {
  if (OWN.exec(name) === null) throw new Error(`not a portcheck table: ${name}`)
  try {
    await runNft(['delete', 'table', family, name])
  } catch { /* already gone */ }
}
