import type { Problem } from '@portcheck/protocol'
import { cut } from '../../quote.js'
import { MAX_HOSTS } from '../load-inventory.js'
import { AnsibleInventory, type AnsibleVar, type Locator } from './ansible-inventory.js'
import { cutComment, parseIniValue, splitWords } from './ansible-values.js'
import { parseHostPattern } from './host-pattern.js'

/**
 * Ansible's INI inventory, read as its `ini` inventory plugin reads it (no npm package parses
 * this format: `ini` and its kin take `web1 ansible_host=…` for one key and one value):
 *
 * - `[group]` lists hosts, one per line: a host pattern (`web[01:03].example.com`,
 *   `db1:2222`), then `key=value` variables, split like a shell line, `#` starting a comment;
 * - `[group:vars]` sets the group's variables, `key=value` a line, the value the rest of the
 *   line (a `#` there is part of it, as in Ansible);
 * - `[group:children]` lists child groups; a child must be defined somewhere in the file;
 * - lines before any section are hosts of `ungrouped`; lines starting with `#` or `;` are comments.
 *
 * Values are read as Python literals are (see parseIniValue). Problems name the file and line.
 */
export function parseIniInventory (file: string, text: string): { inventory: AnsibleInventory, problems: Problem[] } {
  const inv = new AnsibleInventory(file, 'INI')
  const problems: Problem[] = []
  const at = (line: number): Locator => (message) => ({ file, path: '', message, line })
  // Groups defined by a [group] or [group:children] section; those only named by a
  // [parent:children] line or a [group:vars] section must be, somewhere in the file.
  const defined = new Set(['all', 'ungrouped'])
  const mentioned: Array<{ group: string, line: number, why: string }> = []
  let group = 'ungrouped'
  let state = 'hosts'
  let hostCount = 0
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const n = i + 1
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const section = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/.exec(line)
    if (section !== null) {
      group = section[1] ?? ''
      state = section[2] ?? 'hosts'
      if (state !== 'hosts' && state !== 'vars' && state !== 'children') {
        problems.push(at(n)(`section [${cut(group)}:${cut(state)}] has unknown type ${JSON.stringify(state)}: expected [${cut(group)}], [${cut(group)}:vars] or [${cut(group)}:children]`))
        state = 'skip'
        return
      }
      inv.group(group)
      if (state === 'vars') mentioned.push({ group, line: n, why: `section [${group}:vars] is for an undefined group "${group}"` })
      else defined.add(group)
      return
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      problems.push(at(n)(`invalid section ${cut(line)}: a section is [group], [group:vars] or [group:children], with no spaces`))
      state = 'skip'
      return
    }
    if (state === 'skip') return
    if (state === 'vars') {
      const eq = line.indexOf('=')
      if (eq <= 0) { problems.push(at(n)(`expected key=value in [${cut(group)}:vars], got ${JSON.stringify(cut(line))}`)); return }
      inv.group(group).vars.set(line.slice(0, eq).trim(), { value: parseIniValue(line.slice(eq + 1).trim()), at: at(n) })
      return
    }
    if (state === 'children') {
      const child = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(line)?.[1]
      if (child === undefined) { problems.push(at(n)(`expected a group name in [${cut(group)}:children], got ${JSON.stringify(cut(line))}`)); return }
      inv.group(group).children.add(child)
      inv.group(child)
      mentioned.push({ group: child, line: n, why: `[${group}:children] names an undefined group "${child}"` })
      return
    }
    let words: string[]
    try {
      words = splitWords(cutComment(line))
    } catch (err) {
      problems.push(at(n)(`cannot read this host line: ${(err as Error).message}`))
      return
    }
    const [pattern, ...assignments] = words
    if (pattern === undefined) return
    const vars: Array<[string, AnsibleVar]> = []
    for (const a of assignments) {
      const eq = a.indexOf('=')
      if (eq <= 0) { problems.push(at(n)(`expected key=value host variable assignment after the host, got ${JSON.stringify(cut(a))}`)); return }
      vars.push([a.slice(0, eq), { value: parseIniValue(a.slice(eq + 1)), at: at(n) }])
    }
    let hosts
    try {
      hosts = parseHostPattern(pattern, MAX_HOSTS - hostCount)
    } catch (err) {
      problems.push(at(n)(`host ${JSON.stringify(cut(pattern))}: ${(err as Error).message}`))
      return
    }
    if (hosts.port !== undefined) vars.unshift(['ansible_port', { value: hosts.port, at: at(n) }])
    for (const name of hosts.names) inv.addHost(group, name, at(n), vars)
    hostCount += hosts.names.length
  })
  for (const m of mentioned) if (!defined.has(m.group)) problems.push(at(m.line)(`${m.why}: define it with a [${cut(m.group)}] or [${cut(m.group)}:children] section`))
  return { inventory: inv, problems }
}
