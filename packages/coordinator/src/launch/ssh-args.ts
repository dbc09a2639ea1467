import type { InventoryHost, SshSettings } from '@portcheck/protocol'
import { BOOTSTRAP } from './remote-script.js'

/** Options of {@link sshArgs}, the same for every host. */
export interface SshArgsOptions {
  /** `--ssh-config FILE`, passed as `-F` (ssh then reads no other configuration file). */
  configFile?: string
  /** Longest wait for the TCP connection (of each hop), in seconds (default 15). */
  connectTimeoutSeconds?: number
}

/** Where ssh connects for a host: its `ssh.host`, else its inventory address. */
export function sshDestination (host: InventoryHost, ssh: Readonly<SshSettings>): string {
  return ssh.host ?? host.address
}

/**
 * The arguments of the `ssh` command that launches a host's agent. What the inventory leaves
 * out, ssh takes from its configuration (`~/.ssh/config`, or `-F`), so aliases, ProxyJump,
 * ssh-agent and known_hosts work as for any ssh command. Added to every connection:
 * - `-T` and `BatchMode=yes`: never a terminal, never a prompt (a password, an unknown host
 *   key): the launch fails with ssh's message instead of hanging;
 * - `ConnectTimeout` and `ServerAliveInterval=10` × 3: a dead path fails within seconds, and a
 *   connection that dies later ends the launch;
 * - no forwarding (agent, X11, ports) the configuration may ask for: the launch needs none, and
 *   a port forwarded by 50 connections at once would collide;
 * - `--` before the destination, so that no inventory value is ever read as an option.
 */
export function sshArgs (host: InventoryHost, ssh: Readonly<SshSettings>, opts: SshArgsOptions = {}): string[] {
  const args: string[] = []
  if (opts.configFile !== undefined) args.push('-F', opts.configFile)
  args.push(
    '-T',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${opts.connectTimeoutSeconds ?? 15}`,
    '-o', 'ServerAliveInterval=10',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'ForwardAgent=no',
    '-o', 'ForwardX11=no',
    '-o', 'ClearAllForwardings=yes'
  )
  if (ssh.user !== undefined) args.push('-l', ssh.user)
  if (ssh.port !== undefined) args.push('-p', String(ssh.port))
  // ssh expands %-tokens in identity paths: a literal % must be doubled.
  if (ssh.identity !== undefined) args.push('-i', ssh.identity.replace(/%/g, '%%'))
  if (ssh.jump !== undefined) args.push('-J', ssh.jump)
  args.push('--', sshDestination(host, ssh), BOOTSTRAP)
  return args
}
