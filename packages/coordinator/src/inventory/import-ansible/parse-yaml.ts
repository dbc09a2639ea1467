import type { Problem } from '@portcheck/protocol'
import type { FieldPath, SourceFile } from '../../catalog/source-file.js'
import { cut, quote } from '../../quote.js'
import { MAX_HOSTS } from '../load-inventory.js'
import { AnsibleInventory, type AnsibleVar } from './ansible-inventory.js'
import { parseHostPattern } from './host-pattern.js'

type Obj = Record<string, unknown>
const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const kind = (v: unknown): string => Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a mapping' : `a ${typeof v} (${quote(String(v))})`

/**
 * Ansible's YAML inventory, read as its `yaml` inventory plugin reads it: top-level keys are
 * groups (usually `all`); a group has `hosts` (patterns, with ranges and `:port`, each with its
 * variables or nothing), `vars` and `children` (groups again). As in Ansible, a section may be
 * a single name instead of a mapping; another key in a group, or a group that is not a mapping,
 * is skipped with a warning; a section of another type is an error. Problems and warnings name
 * the file, line and field.
 */
export function parseYamlInventory (source: SourceFile): { inventory: AnsibleInventory, problems: Problem[], warnings: Problem[] } {
  const inv = new AnsibleInventory(source.file, 'YAML')
  const problems: Problem[] = []
  const warnings: Problem[] = []
  let hostCount = 0
  const vars = (data: Obj, path: FieldPath): Array<[string, AnsibleVar]> =>
    Object.entries(data).map(([k, value]) => [k, { value, at: (message: string) => source.problem([...path, k], message) }])

  const parseGroup = (name: string, data: unknown, path: FieldPath): void => {
    if (data !== null && !isMap(data)) {
      warnings.push(source.problem(path, `skipped: a group is a mapping of hosts, vars and children, not ${kind(data)}`))
      return
    }
    const group = inv.group(name)
    if (data === null) return
    for (const [key, raw] of Object.entries(data)) {
      const at = [...path, key]
      if (key !== 'hosts' && key !== 'vars' && key !== 'children') {
        warnings.push(source.problem(at, `skipped: a group has only "hosts", "vars" and "children"${/^hosts?$/i.test(key) ? ' (did you mean "hosts"?)' : ''}`))
        continue
      }
      // Ansible takes a single name for a mapping of that one name.
      const section = typeof raw === 'string' ? { [raw]: null } : raw
      if (section === null || section === undefined) continue
      if (!isMap(section)) { problems.push(source.problem(at, `"${key}" of group ${quote(name)} must be a mapping, not ${kind(section)}`)); continue }
      if (key === 'vars') {
        for (const [k, v] of vars(section, at)) group.vars.set(k, v)
      } else if (key === 'children') {
        for (const [child, childData] of Object.entries(section)) {
          group.children.add(child)
          parseGroup(child, childData, [...at, child])
        }
      } else {
        for (const [pattern, hostData] of Object.entries(section)) {
          const hostAt = [...at, pattern]
          if (hostData !== null && !isMap(hostData)) { problems.push(source.problem(hostAt, `the variables of host ${quote(pattern)} must be a mapping, not ${kind(hostData)}`)); continue }
          let hosts
          try {
            hosts = parseHostPattern(pattern, MAX_HOSTS - hostCount)
          } catch (err) {
            problems.push(source.problem(hostAt, `host ${quote(cut(pattern))}: ${(err as Error).message}`))
            continue
          }
          const hostVars = hostData === null ? [] : vars(hostData, hostAt)
          if (hosts.port !== undefined) hostVars.unshift(['ansible_port', { value: hosts.port, at: (message) => source.problem(hostAt, message) }])
          for (const h of hosts.names) inv.addHost(name, h, (message) => source.problem(hostAt, message), hostVars)
          hostCount += hosts.names.length
        }
      }
    }
  }

  const root = source.data
  if (root !== null && root !== undefined && !isMap(root)) problems.push(source.problem([], `an Ansible YAML inventory is a mapping of groups (all: …), not ${kind(root)}`))
  else for (const [name, data] of Object.entries(root ?? {})) parseGroup(name, data, [name])
  return { inventory: inv, problems, warnings }
}
