import dns from 'node:dns'
import net from 'node:net'
import { errorCodeOf } from './classify.js'

/** Longest a name may take to resolve, in ms; a resolver slower than that counts as a failure. */
export const RESOLVE_TIMEOUT_MS = 5000

/** A resolved target, or why it did not resolve. */
export type Resolution = { address: string } | { error: string }

/** How names are looked up; injectable for tests. */
export type LookupFn = (host: string) => Promise<string>

const systemLookup: LookupFn = async (host) => (await dns.promises.lookup(host)).address

/**
 * Resolves each target name once per run, before any probe to it starts and outside every probe's
 * timeout, so a slow resolver never turns an open path into a timeout. Addresses pass through.
 */
export class Resolver {
  private readonly cache = new Map<string, Promise<Resolution>>()

  constructor (private readonly lookup: LookupFn = systemLookup, private readonly timeoutMs = RESOLVE_TIMEOUT_MS) {}

  resolve (host: string): Promise<Resolution> {
    if (net.isIP(host) !== 0) return Promise.resolve({ address: host })
    let r = this.cache.get(host)
    if (r === undefined) {
      r = new Promise<Resolution>((resolve) => {
        const timer = setTimeout(() => resolve({ error: 'ERESOLVETIMEOUT' }), this.timeoutMs)
        this.lookup(host).then(
          (address) => { clearTimeout(timer); resolve({ address }) },
          (err: unknown) => { clearTimeout(timer); resolve({ error: errorCodeOf(err) ?? 'ENOTFOUND' }) }
        )
      })
      this.cache.set(host, r)
    }
    return r
  }
}
