/**
 * OpenSSH servers in lab hosts, for `portcheck run --launch ssh`: Debian's `sshd` run in a host's
 * namespace with `-D -e` and a configuration, host key, authorized keys and TMPDIR of its own
 * under a per-test directory, plus the client side (a key, known_hosts, an ssh_config for
 * `--ssh-config`), so the machine's own ~/.ssh and /etc/ssh are never read or written.
 *
 * Lab hosts share the machine's file system and users: each SshLab makes its own system users
 * (`pct<pid>…`, login shell /bin/sh, no password) and, when asked, a sudoers drop-in, and
 * removes them in destroy(); users left by a test process that no longer exists are removed
 * by the next SshLab.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Lab, LabProcess } from './lab.js'

const run = promisify(execFile)
const USER_PREFIX = 'pct'
const SUDOERS_DIR = '/etc/sudoers.d'

/** Why SSH launches cannot be tested here, or null: sshd, ssh, ssh-keygen, useradd (and sudo, when asked). */
export function sshUnavailable (needSudo = false): string | null {
  const tools: Array<[string, string]> = [['/usr/sbin/sshd', 'openssh-server'], ['/usr/bin/ssh', 'openssh-client'], ['/usr/bin/ssh-keygen', 'openssh-client'], ['/usr/sbin/useradd', 'passwd']]
  if (needSudo) tools.push(['/usr/bin/sudo', 'sudo'])
  for (const [file, pkg] of tools) if (!existsSync(file)) return `SSH launches need ${file} (Debian package ${pkg})`
  return null
}

function pidAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** Removes lab users and sudoers drop-ins made by test processes that no longer exist. */
function sweepStaleUsers (): void {
  const passwd = readFileSync('/etc/passwd', 'utf8')
  for (const line of passwd.split('\n')) {
    const name = line.split(':')[0] ?? ''
    const m = new RegExp(`^${USER_PREFIX}(\\d+)x[0-9a-f]+[a-z]$`).exec(name)
    if (m === null || pidAlive(Number(m[1]))) continue
    try { execFileSync('userdel', [name], { stdio: 'ignore' }) } catch { /* gone */ }
    rmSync(path.join(SUDOERS_DIR, name), { force: true })
  }
}

/** An sshd running in a lab host. */
export interface LabSshd {
  host: string
  address: string
  port: number
  /** The TMPDIR of its sessions: where launched agents get their private directory. */
  tmp: string
  proc: LabProcess
}

/** Options of {@link SshLab.startSshd}. */
export interface SshdOptions {
  /** Default 22. */
  port?: number
  /** Accept a key other than the client's (a host the client's key cannot log in to). Default false. */
  wrongKey?: boolean
  /** Sessions get a PATH with the usual tools but no `node`: a host without Node.js. Default false. */
  noNode?: boolean
}

/** What the launch script runs, besides the shell's built-ins. */
const SCRIPT_TOOLS = ['sh', 'mktemp', 'head', 'wc', 'rm', 'uname', 'id', 'cat', 'chmod', 'sleep', 'mkdir']

export class SshLab {
  /** The per-test directory holding every key, configuration and TMPDIR. */
  readonly dir: string
  /** The client's private key (for the inventory's `identity` or `IdentityFile`). */
  readonly clientKey: string
  readonly knownHosts: string
  readonly users: string[] = []
  readonly sshds: LabSshd[] = []
  private readonly hostKey: string
  private readonly otherKey: string
  private readonly sudoers: string[] = []
  private destroyed = false

  private constructor (private readonly lab: Lab) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'portcheck-ssh-'))
    chmodSync(this.dir, 0o755)
    this.clientKey = path.join(this.dir, 'client_key')
    this.hostKey = path.join(this.dir, 'host_key')
    this.otherKey = path.join(this.dir, 'other_key')
    this.knownHosts = path.join(this.dir, 'known_hosts')
  }

  /** Makes the keys; sshd needs /run/sshd (its privilege separation directory) to exist. */
  static async create (lab: Lab): Promise<SshLab> {
    sweepStaleUsers()
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
    const s = new SshLab(lab)
    for (const key of [s.clientKey, s.hostKey, s.otherKey]) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'portcheck-lab', '-f', key])
    writeFileSync(s.knownHosts, '')
    return s
  }

  /**
   * Adds a system user with /bin/sh as its shell and no password (not locked: sshd refuses
   * locked accounts), optionally allowed password-less sudo. Returns its name.
   */
  async addUser (sudo = false): Promise<string> {
    const name = `${USER_PREFIX}${process.pid}x${Math.random().toString(16).slice(2, 8)}${String.fromCharCode(97 + this.users.length)}`
    const home = path.join(this.dir, 'home', name)
    mkdirSync(home, { recursive: true })
    await run('useradd', ['--system', '--shell', '/bin/sh', '--home-dir', home, '--no-create-home', '--user-group', name])
    this.users.push(name)
    await run('usermod', ['-p', '*', name])
    chownSync(home, Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()))
    if (sudo) {
      const file = path.join(SUDOERS_DIR, name)
      writeFileSync(file, `${name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 })
      this.sudoers.push(file)
    }
    return name
  }

  /**
   * Starts sshd in lab host `host`, listening on its address: the lab's host key, the client's
   * key authorized (or another one), StrictModes off (its files live under /tmp), and TMPDIR
   * set for its sessions to a directory of its own, writable by the lab users.
   */
  async startSshd (host: string, opts: SshdOptions = {}): Promise<LabSshd> {
    const h = this.lab.host(host)
    const port = opts.port ?? 22
    const base = path.join(this.dir, 'hosts', host)
    const tmp = path.join(base, 'tmp')
    mkdirSync(tmp, { recursive: true })
    // Every lab user may make its private directory here, as in /tmp.
    chmodSync(tmp, 0o1777)
    const authorized = path.join(base, 'authorized_keys')
    writeFileSync(authorized, readFileSync(`${opts.wrongKey === true ? this.otherKey : this.clientKey}.pub`))
    let sessionPath: string | null = null
    if (opts.noNode === true) {
      sessionPath = path.join(base, 'bin')
      mkdirSync(sessionPath)
      for (const tool of SCRIPT_TOOLS) {
        const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => existsSync(f))
        if (found !== undefined) symlinkSync(found, path.join(sessionPath, tool))
      }
    }
    const config = path.join(base, 'sshd_config')
    writeFileSync(config, [
      `ListenAddress ${h.address}:${port}`,
      `HostKey ${this.hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'PidFile none',
      'MaxStartups 200',
      'LogLevel VERBOSE',
      `SetEnv TMPDIR=${tmp}${sessionPath !== null ? ` PATH=${sessionPath}` : ''}`,
      ''
    ].join('\n'))
    const proc = this.lab.spawn(host, '/usr/sbin/sshd', ['-D', '-e', '-f', config])
    await proc.waitFor(/Server listening on/)
    const hostPub = readFileSync(`${this.hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(this.knownHosts, `${port === 22 ? h.address : `[${h.address}]:${port}`} ${hostPub}\n`, { flag: 'a' })
    const sshd = { host, address: h.address, port, tmp, proc }
    this.sshds.push(sshd)
    return sshd
  }

  /**
   * Writes an ssh_config for `--ssh-config`: only the lab's known_hosts, strict host key
   * checking, and, when given, the identity; the machine's ~/.ssh and ssh-agent are not used.
   */
  sshConfig (opts: { identity?: boolean, user?: string } = {}): string {
    const file = path.join(this.dir, `ssh_config_${readdirSync(this.dir).length}`)
    writeFileSync(file, [
      'Host *',
      `  UserKnownHostsFile ${this.knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      ...(opts.identity === true ? [`  IdentityFile ${this.clientKey}`] : []),
      ...(opts.user !== undefined ? [`  User ${opts.user}`] : []),
      ''
    ].join('\n'))
    return file
  }

  /**
   * What a launched agent left in a host: processes of its namespace other than its sshd
   * (zombies aside: nothing reaps an orphan at once on a machine whose init does not) and
   * entries of its sessions' TMPDIR.
   */
  async leftovers (sshd: LabSshd): Promise<{ processes: string[], files: string[] }> {
    const ns = this.lab.host(sshd.host).ns
    const { stdout } = await run('ip', ['netns', 'pids', ns])
    const processes: string[] = []
    for (const pid of stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
      if (Number(pid) === sshd.proc.child.pid) continue
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        if (/^\d+ \(.*\) Z /.test(stat)) continue
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
        if (cmd === `/usr/sbin/sshd -D -e -f ${path.join(this.dir, 'hosts', sshd.host, 'sshd_config')}`) continue
        processes.push(`${pid} ${cmd}`)
      } catch { /* exited meanwhile */ }
    }
    return { processes, files: readdirSync(sshd.tmp) }
  }

  /** Waits until no host has leftovers, or `timeoutMs`; returns what is left, by host. */
  async settledLeftovers (timeoutMs: number): Promise<Record<string, { processes: string[], files: string[] }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const left: Record<string, { processes: string[], files: string[] }> = {}
      for (const s of this.sshds) {
        const l = await this.leftovers(s)
        if (l.processes.length > 0 || l.files.length > 0) left[s.host] = l
      }
      if (Object.keys(left).length === 0 || Date.now() > deadline) return left
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  /** Stops every sshd (with the lab), removes the users, sudoers drop-ins and files. Idempotent. */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    for (const s of this.sshds) s.proc.child.kill('SIGTERM')
    await Promise.all(this.sshds.map(async (s) => await s.proc.exited))
    for (const f of this.sudoers) rmSync(f, { force: true })
    for (const u of this.users) {
      try { await run('userdel', ['-f', u]) } catch { /* gone */ }
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}
