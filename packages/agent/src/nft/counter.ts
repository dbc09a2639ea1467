import type { ArrivalCount } from '@portcheck/protocol'
import { runNft } from './nft-command.js'
import { deleteOwnTable } from './own-tables.js'
import { countRuleset, type CountWatch } from './watch-rules.js'

interface Listed {
  nftables?: Array<{ rule?: { comment?: string, expr?: Array<{ counter?: { packets: number } }> } }>
}

/**
 * Counts the probe datagrams of UDP checks whose port another process holds on this host: a
 * counter per check in the agent's own temporary table, read at each barrier, deleted at run end.
 */
export class ArrivalCounter {
  private readonly ids: ReadonlySet<number>
  private removed = false

  constructor (private readonly table: string, private readonly watches: readonly CountWatch[]) {
    this.ids = new Set(watches.map((w) => w.id))
  }

  /** Adds the table. Throws NftError (nothing is left behind). */
  async start (): Promise<void> {
    try {
      await runNft(['-f', '-'], { input: countRuleset(this.table, this.watches) })
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** The counts so far, per check (a check counted from several addresses sums them). */
  async read (): Promise<ArrivalCount[]> {
    if (this.removed) return []
    const listed = JSON.parse(await runNft(['-j', 'list', 'table', 'inet', this.table])) as Listed
    const sums = new Map<number, number>([...this.ids].map((id) => [id, 0]))
    for (const entry of listed.nftables ?? []) {
      const m = /^pc(\d+)$/.exec(entry.rule?.comment ?? '')
      const id = m === null ? NaN : Number(m[1])
      if (!sums.has(id)) continue
      const packets = entry.rule?.expr?.find((e) => e.counter !== undefined)?.counter?.packets ?? 0
      sums.set(id, (sums.get(id) as number) + packets)
    }
    return [...sums].map(([id, packets]) => ({ id, packets }))
  }

  /** Deletes the table. Idempotent. */
  async stop (): Promise<void> {
    if (this.removed) return
    this.removed = true
    await deleteOwnTable('inet', this.table)
  }
}
