/**
 * Name resolution per lab host. `ip netns exec NS` bind-mounts every file of /etc/netns/NS/
 * over the file of the same name in /etc, so a hosts and a resolv.conf there are what the
 * processes of that host see. Processes started before a change keep the files they had.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { assertLabAddress } from './addresses.js'

/** Options of `Lab.setResolver`: how names resolve in one host. Each call replaces the last. */
export interface ResolverOptions {
  /** Names and the addresses they resolve to, in the host's /etc/hosts after localhost's lines. */
  hosts?: Record<string, string>
  /**
   * The DNS server, in the host's /etc/resolv.conf. An address where nothing answers gives slow,
   * then failed, lookups without any packet leaving the lab. Without it, the machine's
   * resolv.conf applies, whose servers the lab has no route to.
   */
  nameserver?: string
  /**
   * resolv.conf options, e.g. `['timeout:1', 'attempts:1']` (glibc's defaults: 5 s per try,
   * 2 tries per server). Only with `nameserver`.
   */
  options?: string[]
}

/** Where `ip netns exec` looks for a namespace's own /etc files. */
export const NETNS_ETC = '/etc/netns'

/** The directory of namespace `ns`'s own /etc files. */
export function netnsEtc (ns: string): string {
  return path.join(NETNS_ETC, ns)
}

const NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const OPTION = /^[a-z][a-z0-9-]*(:\d{1,3})?$/

/** Writes (or, with no hosts and no nameserver, removes) namespace `ns`'s hosts and resolv.conf. */
export function writeResolver (ns: string, options: ResolverOptions): void {
  const hosts = Object.entries(options.hosts ?? {})
  for (const [name, address] of hosts) {
    if (!NAME.test(name)) throw new Error(`not a host name: ${name}`)
    assertLabAddress(address, `the address of ${name}`)
  }
  if (options.nameserver !== undefined) assertLabAddress(options.nameserver, 'the nameserver')
  for (const o of options.options ?? []) if (!OPTION.test(o)) throw new Error(`not a resolv.conf option: ${o}`)
  if (options.options !== undefined && options.nameserver === undefined) throw new Error('resolv.conf options need a nameserver')

  removeResolver(ns)
  if (hosts.length === 0 && options.nameserver === undefined) return
  const dir = netnsEtc(ns)
  mkdirSync(dir, { recursive: true })
  const header = `# Written by the portcheck namespace lab (test/lab/resolver.ts) for ${ns}.\n`
  if (hosts.length > 0) {
    // The file replaces /etc/hosts as a whole: localhost must stay resolvable.
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...hosts.map(([n, a]) => `${a} ${n}`)]
    writeFileSync(path.join(dir, 'hosts'), header + lines.join('\n') + '\n')
  }
  if (options.nameserver !== undefined) {
    const opts = options.options ?? []
    writeFileSync(path.join(dir, 'resolv.conf'), `${header}nameserver ${options.nameserver}\n${opts.length > 0 ? `options ${opts.join(' ')}\n` : ''}`)
  }
}

/** Removes namespace `ns`'s own /etc files, if any. */
export function removeResolver (ns: string): void {
  rmSync(netnsEtc(ns), { recursive: true, force: true })
}

/** Removes the /etc/netns directories of namespaces for which `stale` says so. */
export function sweepStaleResolvers (stale: (ns: string) => boolean): string[] {
  let names: string[]
  try {
    names = readdirSync(NETNS_ETC)
  } catch {
    return []
  }
  const removed = names.filter(stale)
  for (const ns of removed) removeResolver(ns)
  return removed
}
