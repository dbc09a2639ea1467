/**
 * Field conditions for the lab, without sch_netem (this kernel has neither netem nor dummy
 * links): random loss with nftables on the switch, delay with a TUN forwarder in the host.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { assertLabAddress, labCidr } from './addresses.js'
import type { LabHost, LabProcess } from './lab.js'
import { nftLoad, nsSysctl } from './ns-exec.js'

const run = promisify(execFile)

/** Options of `Lab.setLoss`. */
export interface LossOptions {
  /**
   * Destinations whose packets are never dropped, e.g. the coordinator's address to keep the
   * control channel whole (default: none).
   */
  except?: string[]
}

/**
 * The nftables transaction that makes the switch drop `permille`/1000 of the packets entering
 * it from `port` (a host's bridge-side veth: what enters there is what the host sends), or,
 * with 0, removes that. ARP and IPv6 neighbour discovery are spared: with them lost, the host
 * would not lose packets at random but be unreachable for seconds at a time.
 */
export function lossRuleset (port: string, permille: number, except: string[] = []): string {
  if (!Number.isInteger(permille) || permille < 0 || permille > 1000) throw new Error(`loss must be an integer between 0 and 1000 (per mille), got ${permille}`)
  if (!/^[a-z0-9]+$/.test(port)) throw new Error(`unexpected interface name ${port}`)
  for (const a of except) assertLabAddress(a, 'a loss exception')
  const table = `netdev pcloss_${port}`
  // Declaring the table first makes the delete succeed whether or not it existed.
  const replace = `table ${table} {}\ndelete table ${table}\n`
  if (permille === 0) return replace
  const v4 = except.filter((a) => !a.includes(':'))
  const v6 = except.filter((a) => a.includes(':'))
  return replace + [
    `table ${table} {`,
    '  chain ingress {',
    `    type filter hook ingress device "${port}" priority 0; policy accept;`,
    '    ether type arp accept',
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept',
    ...(v4.length > 0 ? [`    ip daddr { ${v4.join(', ')} } accept`] : []),
    ...(v6.length > 0 ? [`    ip6 daddr { ${v6.join(', ')} } accept`] : []),
    // nft refuses `< 1000` with `mod 1000` (the value is out of the range of the numbers drawn).
    permille === 1000 ? '    drop' : `    numgen random mod 1000 < ${permille} drop`,
    '  }',
    '}',
    ''
  ].join('\n')
}

/** Sets the loss of what `host` sends (see lossRuleset), in the switch namespace `sw`. */
export async function setLoss (sw: string, host: LabHost, permille: number, options: LossOptions = {}): Promise<void> {
  await nftLoad(sw, lossRuleset(host.port, permille, options.except), `the switch (loss of ${host.name})`)
}

/** Options of `Lab.setDelay`. */
export interface DelayOptions {
  /** Destinations to delay: IPv4 addresses or CIDRs inside 198.18.0.0/15. */
  to: string | string[]
}

/** The Python the forwarder runs with: Debian's, never a version manager's shim. */
export const PYTHON = '/usr/bin/python3'
const FORWARDER = fileURLToPath(new URL('./tun-delay.py', import.meta.url))
// Each host has its own namespace, so these need only be unique within one host.
const TUN = 'pcdelay'
const TABLE = '4242'
const RULE_PRIORITY = '4242' // before the main table's rule (32766)
// The kernel's queue into the TUN (default 500 packets) drops what the forwarder has not read
// yet; a burst of a few thousand packets must wait there, not be lost.
const TUN_QUEUE = '10000'

/** Why setDelay cannot work here, or null if it can. */
export function delayUnavailable (): string | null {
  if (!existsSync(PYTHON)) return `lab delays need ${PYTHON} (Debian package python3)`
  if (!existsSync('/dev/net/tun')) return 'lab delays need /dev/net/tun (the tun kernel module)'
  return null
}

interface DelayLine {
  forwarder: LabProcess
  /** The `ip rule` destinations routed into the forwarder, to remove them on replacement. */
  cidrs: string[]
}

/**
 * The delay lines of one lab, at most one per host. A host's locally generated packets to the
 * delayed destinations are policy-routed into a TUN device (`ip rule iif lo to CIDR`); the
 * forwarder (tun-delay.py) holds each one, writes it back, and the kernel forwards it out of
 * eth0 with the host's own source address. Replies are not delayed by this host: delay the
 * peer's egress too for a round trip.
 */
export class DelayLines {
  private readonly lines = new Map<string, DelayLine>()

  /** @param spawn starts a process in a lab host; the lab kills it on destroy() */
  constructor (private readonly spawn: (host: string, cmd: string, args: string[]) => LabProcess) {}

  /** Delays what `host` sends to `to` by `ms` milliseconds (0: no delay), replacing its previous delay. */
  async set (host: LabHost, ms: number, to: string | string[]): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0 || ms > 60_000) throw new Error(`delay must be between 0 and 60000 ms, got ${ms}`)
    const cidrs = (Array.isArray(to) ? to : [to]).map(labCidr)
    await this.clear(host)
    if (ms === 0 || cidrs.length === 0) return
    const why = delayUnavailable()
    if (why !== null) throw new Error(why)
    // Forwarding, with no reverse-path check (the packets come back in on the TUN with a source
    // address that is routed out of eth0), and with local source addresses accepted on the TUN.
    await nsSysctl(host.ns, [['net/ipv4/ip_forward', 1], ['net/ipv4/conf/all/rp_filter', 0], ['net/ipv4/conf/default/rp_filter', 0]])
    const forwarder = this.spawn(host.name, PYTHON, [FORWARDER, TUN, String(ms), host.ns])
    const line: DelayLine = { forwarder, cidrs: [] }
    this.lines.set(host.name, line)
    await forwarder.waitFor(/^ready$/m, 10_000)
    await nsSysctl(host.ns, [[`net/ipv4/conf/${TUN}/rp_filter`, 0], [`net/ipv4/conf/${TUN}/accept_local`, 1]])
    await ip(host.ns, ['link', 'set', TUN, 'up', 'txqueuelen', TUN_QUEUE])
    await ip(host.ns, ['route', 'add', 'default', 'dev', TUN, 'src', host.address, 'table', TABLE])
    for (const cidr of cidrs) {
      await ip(host.ns, ['rule', 'add', 'iif', 'lo', 'to', cidr, 'lookup', TABLE, 'priority', RULE_PRIORITY])
      line.cidrs.push(cidr)
    }
  }

  /** Removes `host`'s delay, if any: its rules, then its forwarder (packets it holds are lost). */
  async clear (host: LabHost): Promise<void> {
    const line = this.lines.get(host.name)
    if (line === undefined) return
    this.lines.delete(host.name)
    for (const cidr of line.cidrs) {
      await ip(host.ns, ['rule', 'del', 'iif', 'lo', 'to', cidr, 'lookup', TABLE, 'priority', RULE_PRIORITY]).catch(() => {})
    }
    line.forwarder.child.kill('SIGTERM')
    await line.forwarder.exited
  }
}

async function ip (ns: string, args: string[]): Promise<void> {
  await run('ip', ['-n', ns, ...args])
}
