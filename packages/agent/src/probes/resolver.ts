import dns from 'node:dns'
import net from 'node:net'
import type { AddressFamily } from '@portcheck/protocol'
import { errorCodeOf } from './classify.js'

/** Longest a name may take to resolve, in ms; a resolver slower than that counts as a failure. */
export const RESOLVE_TIMEOUT_MS = 5000

/** A resolved target, or why it did not resolve. */
export type Resolution = { address: string } | { error: string }

/** How names are looked up, for addresses of one family or (undefined) the first of any; injectable for tests. */
export type LookupFn = (host: string, family?: AddressFamily) => Promise<string>

const systemLookup: LookupFn = async (host, family) =>
  (await dns.promises.lookup(host, family === undefined ? {} : { family: family === 'ipv6' ? 6 : 4 })).address

/**
 * Resolves each target name once per run (and family asked for), before any probe to it starts
 * and outside every probe's timeout, so a slow resolver never turns an open path into a timeout.
 * Addresses pass through. Without a family, a name resolves to the first address the system's
 * resolver returns (its preference order, RFC 6724); with one, to the first of that family.
 */
export class Resolver {
  private readonly cache = new Map<string, Promise<Resolution>>()

  constructor (private readonly lookup: LookupFn = systemLookup, private readonly timeoutMs = RESOLVE_TIMEOUT_MS) {}

  resolve (host: string, family?: AddressFamily): Promise<Resolution> {
    if (net.isIP(host) !== 0) return Promise.resolve({ address: host })
    const key = `${family ?? ''}|${host}`
    let r = this.cache.get(key)
    if (r === undefined) {
      r = new Promise<Resolution>((resolve) => {
        const timer = setTimeout(() => resolve({ error: 'ERESOLVETIMEOUT' }), this.timeoutMs)
        this.lookup(host, family).then(
          (address) => { clearTimeout(timer); resolve({ address }) },
          (err: unknown) => { clearTimeout(timer); resolve({ error: errorCodeOf(err) ?? 'ENOTFOUND' }) }
        )
      })
      this.cache.set(key, r)
    }
    return r
  }
}
