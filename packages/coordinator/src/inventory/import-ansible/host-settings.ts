import path from 'node:path'
import type { InventoryHost, Problem, SshSettings } from '@portcheck/protocol'
import { cut, quote } from '../../quote.js'
import type { AnsibleVar, Locator } from './ansible-inventory.js'
import { ansibleBoolean, isTemplate, parseSshArgs } from './ansible-values.js'

/**
 * What the import found wrong (problems: nothing is written) and worth saying (warnings, each
 * said once for all the hosts it concerns).
 */
export class ImportNotes {
  readonly problems: Problem[] = []
  private readonly warned = new Map<string, { at: Locator, message: string, hosts: string[] }>()

  /** A warning about `host`; the same message for other hosts is said once, listing them. */
  warn (key: string, host: string, at: Locator, message: string): void {
    const w = this.warned.get(key) ?? { at, message, hosts: [] }
    w.hosts.push(host)
    this.warned.set(key, w)
  }

  /** The warnings, with the hosts each concerns (the first 10 named). */
  warnings (): Problem[] {
    return [...this.warned.values()].map((w) => w.at(`${w.message} (${w.hosts.length === 1 ? 'host' : `${w.hosts.length} hosts:`} ${w.hosts.slice(0, 10).join(', ')}${w.hosts.length > 10 ? ', …' : ''})`))
  }
}

/** A host of the portcheck inventory, and where each of its fields came from (`address`, `ssh.user`, …). */
export interface ImportedHost {
  host: InventoryHost & { ssh: SshSettings }
  origins: Map<string, Locator>
}

/** The first of `names` that the host's variables set (Ansible's current name first, then its older alias). */
function first (vars: ReadonlyMap<string, AnsibleVar>, names: readonly string[]): [string, AnsibleVar] | undefined {
  for (const n of names) {
    const v = vars.get(n)
    if (v !== undefined) return [n, v]
  }
  return undefined
}

/** Text of a scalar variable, or null (with a problem) for a template, a list or a mapping. */
function text (name: string, v: AnsibleVar, notes: ImportNotes): string | null {
  if (isTemplate(v.value)) { notes.problems.push(v.at(`${name}: ${quote(v.value)} is a Jinja2 template, which portcheck cannot evaluate: write the value out`)); return null }
  if (typeof v.value === 'string' || typeof v.value === 'number') return String(v.value)
  notes.problems.push(v.at(`${name}: expected a text value, got ${v.value === null ? 'nothing' : Array.isArray(v.value) ? 'a list' : typeof v.value}`))
  return null
}

/**
 * Converts one Ansible host into a portcheck host: its name, its address (`ansible_host`, else
 * its name, never resolved: a DNS name stays a name, for each agent to resolve when it probes)
 * and its SSH settings (`ansible_user`, `ansible_port`, `ansible_ssh_private_key_file`,
 * `ansible_become`, and a ProxyJump from `ansible_ssh_common_args`/`ansible_ssh_extra_args`).
 * A relative key path is made absolute from the current directory, where Ansible would take it.
 */
export function importHost (name: string, roles: string[], at: Locator, vars: ReadonlyMap<string, AnsibleVar>, notes: ImportNotes): ImportedHost {
  const origins = new Map<string, Locator>([
    ['name', (m) => at(`host ${quote(name)}: ${m}`)],
    ['roles', (m) => at(`host ${quote(name)}, roles ${roles.join(', ')} (from --role-map): ${m}`)]
  ])
  const ssh: SshSettings = {}
  let address = name
  const addr = first(vars, ['ansible_host', 'ansible_ssh_host'])
  if (addr !== undefined) {
    const value = text(addr[0], addr[1], notes)
    if (value !== null && value.trim() === '') notes.problems.push(addr[1].at(`${addr[0]}: host ${quote(name)} has no address (the value is empty)`))
    else if (value !== null) address = value.trim()
    origins.set('address', (m) => addr[1].at(`${addr[0]}: ${m}`))
  } else origins.set('address', (m) => at(`host ${quote(name)} (its name is its address, no ansible_host): ${m}`))

  const user = first(vars, ['ansible_user', 'ansible_ssh_user'])
  if (user !== undefined) {
    const value = text(user[0], user[1], notes)
    if (value !== null) ssh.user = value
    origins.set('ssh.user', (m) => user[1].at(`${user[0]}: ${m}`))
  }
  const port = first(vars, ['ansible_port', 'ansible_ssh_port'])
  if (port !== undefined) {
    const value = text(port[0], port[1], notes)
    if (value !== null && /^\d+$/.test(value)) ssh.port = Number(value)
    else if (value !== null) notes.problems.push(port[1].at(`${port[0]}: ${quote(value)} is not a port number`))
    origins.set('ssh.port', (m) => port[1].at(`${port[0]}: ${m}`))
  }
  const key = first(vars, ['ansible_ssh_private_key_file', 'ansible_private_key_file'])
  if (key !== undefined) {
    const value = text(key[0], key[1], notes)
    if (value !== null) ssh.identity = value.startsWith('~') || path.isAbsolute(value) ? value : path.resolve(value)
    origins.set('ssh.identity', (m) => key[1].at(`${key[0]}: ${m}`))
  }
  const become = vars.get('ansible_become')
  if (become !== undefined) {
    const value = ansibleBoolean(become.value)
    if (value === null) notes.problems.push(become.at(`ansible_become: expected a boolean (yes, no, true, false), got ${quote(String(become.value))}`))
    else {
      ssh.sudo = value
      const method = vars.get('ansible_become_method')
      if (value && method !== undefined && method.value !== 'sudo') notes.warn(`become-method ${String(method.value)}`, name, method.at, `ansible_become_method=${cut(String(method.value))}: portcheck starts the agent with sudo -n, not ${cut(String(method.value))}`)
    }
  }
  for (const argsName of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const args = vars.get(argsName)
    if (args === undefined) continue
    const value = text(argsName, args, notes)
    if (value === null) continue
    let parsed
    try {
      parsed = parseSshArgs(value)
    } catch (err) {
      notes.problems.push(args.at(`${argsName}: cannot split ${quote(value)}: ${(err as Error).message}`))
      continue
    }
    if (parsed.jump !== undefined) {
      ssh.jump = parsed.jump
      origins.set('ssh.jump', (m) => args.at(`${argsName} (its ProxyJump): ${m}`))
    }
    if (parsed.proxyCommand) notes.warn(`proxy-command ${argsName} ${value}`, name, args.at, `${argsName}: a ProxyCommand is not imported: put it in ~/.ssh/config (or a file for --ssh-config), which portcheck's ssh reads`)
    if (parsed.ignored.length > 0) notes.warn(`ignored ${argsName} ${parsed.ignored.join(' ')}`, name, args.at, `${argsName}: ${cut(parsed.ignored.join(' '))} not imported: portcheck imports only ProxyJump; other ssh options go in ~/.ssh/config (or a file for --ssh-config)`)
  }
  const connection = vars.get('ansible_connection')
  if (connection !== undefined && !['ssh', 'smart', 'paramiko'].includes(String(connection.value))) {
    notes.warn(`connection ${String(connection.value)}`, name, connection.at, `ansible_connection=${cut(String(connection.value))}: Ansible does not reach this host over SSH; --launch ssh will`)
  }
  const password = first(vars, ['ansible_password', 'ansible_ssh_pass', 'ansible_become_password', 'ansible_become_pass'])
  if (password !== undefined) notes.warn('password', name, password[1].at, `${password[0]}: passwords are not imported: --launch ssh uses keys (ssh-agent, ansible_ssh_private_key_file) and password-less sudo`)
  return { host: { name, address, roles, ssh }, origins }
}
