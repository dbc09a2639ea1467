import type { Problem } from '@portcheck/protocol'

/** Where something was written in the Ansible inventory: makes a problem there. */
export type Locator = (message: string) => Problem

/** A variable as the inventory sets it, and where. */
export interface AnsibleVar {
  value: unknown
  at: Locator
}

/** A group: its own hosts, its child groups, its variables. */
export interface AnsibleGroup {
  name: string
  hosts: Set<string>
  children: Set<string>
  vars: Map<string, AnsibleVar>
}

/** A host (its inventory name, Ansible's `inventory_hostname`) and its own variables. */
export interface AnsibleHost {
  name: string
  /** Where the host first appears. */
  at: Locator
  vars: Map<string, AnsibleVar>
}

/**
 * An Ansible inventory as the INI and YAML parsers read it, before variables are combined.
 * `all` and `ungrouped` always exist, as in Ansible.
 */
export class AnsibleInventory {
  readonly groups = new Map<string, AnsibleGroup>()
  readonly hosts = new Map<string, AnsibleHost>()

  constructor (readonly file: string, readonly form: 'INI' | 'YAML') {
    this.group('all')
    this.group('ungrouped')
  }

  /** The group of that name, created empty on first use. */
  group (name: string): AnsibleGroup {
    let g = this.groups.get(name)
    if (g === undefined) {
      g = { name, hosts: new Set(), children: new Set(), vars: new Map() }
      this.groups.set(name, g)
    }
    return g
  }

  /** Adds a host to a group (its variables merge with those it already has: later ones win). */
  addHost (group: string, name: string, at: Locator, vars: Iterable<[string, AnsibleVar]> = []): void {
    let h = this.hosts.get(name)
    if (h === undefined) {
      h = { name, at, vars: new Map() }
      this.hosts.set(name, h)
    }
    for (const [k, v] of vars) h.vars.set(k, v)
    this.group(group).hosts.add(name)
  }

  /**
   * Every group's depth below `all` (`all` 0, a top-level group 1, its children 2, …; a group
   * with several parents takes the deepest), as Ansible orders group variables. Every group
   * other than `all` that no group lists as a child is a child of `all`. Returns the first cycle
   * (`a > b > a`) instead if the groups have one: Ansible refuses those.
   */
  depths (): { depths: Map<string, number> } | { cycle: string[] } {
    const listed = new Set([...this.groups.values()].flatMap((g) => [...g.children]))
    for (const name of this.groups.keys()) if (name !== 'all' && !listed.has(name)) this.group('all').children.add(name)
    const indegree = new Map<string, number>([...this.groups.keys()].map((n) => [n, 0]))
    for (const g of this.groups.values()) for (const c of g.children) indegree.set(c, (indegree.get(c) ?? 0) + 1)
    // Longest path from `all`, in topological order (Kahn): linear, however the groups are shared.
    const depths = new Map<string, number>([['all', 0]])
    const ready = [...indegree].filter(([, n]) => n === 0).map(([name]) => name)
    let done = 0
    for (let name = ready.pop(); name !== undefined; name = ready.pop()) {
      done++
      for (const c of this.groups.get(name)?.children ?? []) {
        depths.set(c, Math.max(depths.get(c) ?? 0, (depths.get(name) ?? 0) + 1))
        const left = (indegree.get(c) ?? 1) - 1
        indegree.set(c, left)
        if (left === 0) ready.push(c)
      }
    }
    if (done === this.groups.size) return { depths }
    return { cycle: this.findCycle(new Set([...indegree].filter(([, n]) => n > 0).map(([name]) => name))) }
  }

  /** A cycle among `left` (groups that are their own ancestors, or below one): `a > b > a`. */
  private findCycle (left: ReadonlySet<string>): string[] {
    const path: string[] = []
    let name = [...left][0] ?? 'all'
    // Each group left has a parent left; walking up must come back to a group already seen.
    while (!path.includes(name)) {
      path.push(name)
      name = [...this.groups.values()].find((g) => left.has(g.name) && g.children.has(name))?.name ?? name
    }
    return [...path.slice(path.indexOf(name)), name].reverse()
  }

  /** Puts every host that is in no group but `all` into `ungrouped`, as Ansible does once an inventory is read. */
  reconcile (): void {
    const grouped = new Set<string>()
    for (const g of this.groups.values()) if (g.name !== 'all') for (const h of g.hosts) grouped.add(h)
    for (const h of this.hosts.keys()) if (!grouped.has(h)) this.group('ungrouped').hosts.add(h)
  }

  /** The groups a host belongs to, directly or through their parents, `all` included. */
  groupsOf (host: string): Set<string> {
    const direct = [...this.groups.values()].filter((g) => g.hosts.has(host)).map((g) => g.name)
    const out = new Set<string>(['all'])
    const up = (name: string): void => {
      if (out.has(name)) return
      out.add(name)
      for (const g of this.groups.values()) if (g.children.has(name)) up(g.name)
    }
    for (const d of direct) up(d)
    return out
  }

  /**
   * A host's variables as Ansible combines them: the variables of its groups from the
   * shallowest to the deepest (`all` first; groups at one depth by name), then its own.
   */
  hostVars (host: string, depths: ReadonlyMap<string, number>): Map<string, AnsibleVar> {
    const groups = [...this.groupsOf(host)].sort((a, b) => (depths.get(a) ?? 0) - (depths.get(b) ?? 0) || a.localeCompare(b))
    const vars = new Map<string, AnsibleVar>()
    for (const g of groups) for (const [k, v] of this.groups.get(g)?.vars ?? []) vars.set(k, v)
    for (const [k, v] of this.hosts.get(host)?.vars ?? []) vars.set(k, v)
    return vars
  }
}
