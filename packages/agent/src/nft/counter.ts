import { readFile } from 'node:fs/promises'
import type { AcceptedConnection, ArrivalCount } from '@portcheck/protocol'
import { runNft } from './nft-command.js'
import { deleteOwnTable } from './own-tables.js'
import { SYN_SETS, countRuleset, type CountWatch } from './watch-rules.js'

interface Listed {
  nftables?: Array<{ rule?: { comment?: string, expr?: Array<{ counter?: { packets: number } }> } }>
}

interface ListedSet {
  nftables?: Array<{ set?: { elem?: Array<{ concat?: unknown[] }> } }>
}

/**
 * Whether this host's network namespace tracks connections now (conntrack holds entries): only
 * then can it NAT, and only then does counting by the original port cost it nothing more.
 */
export async function tracksConnections (file = '/proc/sys/net/netfilter/nf_conntrack_count'): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '0')
  return Number(text.trim()) > 0
}

/**
 * Counts the arrivals of checks whose port another process holds on this host, in the agent's
 * own temporary table, read at each barrier, deleted at run end: UDP, a counter per check of its
 * probe datagrams; TCP, the SYNs from the checks' sources (see {@link countRuleset}).
 */
export class ArrivalCounter {
  private readonly ids: ReadonlySet<number>
  private readonly tcp: boolean
  /** SYNs already reported (`address|port|sourcePort`): each is reported once. */
  private readonly reported = new Set<string>()
  private removed = false

  constructor (private readonly table: string, private readonly watches: readonly CountWatch[]) {
    this.ids = new Set(watches.filter((w) => w.protocol !== 'tcp').map((w) => w.id))
    this.tcp = watches.some((w) => w.protocol === 'tcp')
  }

  /** Adds the table. Throws NftError (nothing is left behind). */
  async start (): Promise<void> {
    try {
      await runNft(['-f', '-'], { input: countRuleset(this.table, this.watches, await tracksConnections()) })
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

  /** The SYNs that arrived since the last call (none when no TCP check is counted). */
  async arrived (): Promise<AcceptedConnection[]> {
    if (this.removed || !this.tcp) return []
    const out: AcceptedConnection[] = []
    for (const set of Object.values(SYN_SETS)) {
      const listed = JSON.parse(await runNft(['-j', 'list', 'set', 'inet', this.table, set])) as ListedSet
      for (const entry of listed.nftables ?? []) {
        for (const e of entry.set?.elem ?? []) {
          const [address, port, remotePort] = e.concat ?? []
          if (typeof address !== 'string' || typeof port !== 'number' || typeof remotePort !== 'number') continue
          const key = `${address}|${port}|${remotePort}`
          if (this.reported.has(key)) continue
          this.reported.add(key)
          out.push({ port, address, remotePort })
        }
      }
    }
    return out
  }

  /** Deletes the table. Idempotent. */
  async stop (): Promise<void> {
    if (this.removed) return
    this.removed = true
    await deleteOwnTable('inet', this.table)
  }
}
