/**
 * Processes as Linux shows them in /proc: what a `sh -c` started (a pipeline's processes are
 * the shell's children, and outlive it if only the shell is killed), and who runs them.
 */
import { readFileSync, readdirSync } from 'node:fs'

/** The parent of `pid`, or null if it is gone. */
function parentOf (pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: the fields after it follow the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return null
  }
}

/** `root` and every process under it that is still alive, parents before their children. */
export function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const ppid = parentOf(Number(entry))
    if (ppid !== null) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const out: number[] = []
  const visit = (pid: number): void => {
    out.push(pid)
    for (const c of children.get(pid) ?? []) visit(c)
  }
  if (parentOf(root) !== null) visit(root)
  return out
}

/** The real user id of `pid`, or -1 if it is gone. */
export function userOf (pid: number): number {
  try {
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return uid === undefined ? -1 : Number(uid)
  } catch {
    return -1
  }
}
