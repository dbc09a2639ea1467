import { accessSync, constants, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Inventory, Problem, SshSettings } from '@portcheck/protocol'
import type { FieldPath, SourceFile } from '../catalog/source-file.js'

/** The SSH settings of each host, keyed by host name: the inventory's `ssh:` overridden field by field by the host's own. */
export type SshByHost = ReadonlyMap<string, Readonly<SshSettings>>

/** Names of the fields of {@link SshSettings}, in the order the docs list them. */
export const SSH_FIELDS = ['user', 'port', 'identity', 'jump', 'sudo', 'host'] as const

/**
 * Expands an `identity` path: a leading `~` or `~/` is the local home directory (as in a
 * shell), a relative path is relative to the inventory file (like its `catalog:`), so the
 * inventory means the same wherever `portcheck` is started. Returns an error message for
 * `~user` forms, which would need the password database of another user.
 */
export function expandIdentity (value: string, inventoryFile: string, home = os.homedir()): { path: string } | { error: string } {
  if (value === '~' || value.startsWith('~/')) return { path: path.join(home, value.slice(1)) }
  if (value.startsWith('~')) return { error: `only a leading "~" or "~/" is expanded (the home directory of the user running portcheck): write the full path instead of ${JSON.stringify(value.split('/')[0])}` }
  return { path: path.resolve(path.dirname(inventoryFile), value) }
}

/** Why a key file cannot be used, or null: it must be a readable file. */
function identityFileProblem (file: string): string | null {
  try {
    if (!statSync(file).isFile()) return `${file} is not a file`
    accessSync(file, constants.R_OK)
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read (${code ?? String(err)})`
  }
}

/** Options of {@link resolveSshSettings}. */
export interface ResolveSshOptions {
  /**
   * Also check that every `identity` names a readable file (default false). Only `--launch ssh`
   * needs the keys: an inventory shared between machines still plans and runs elsewhere.
   */
  checkFiles?: boolean
}

/**
 * Merges the inventory's top-level `ssh:` into each host's (host fields win, one by one) and
 * expands `identity`. The inventory has passed the schema. Problems name the field where the
 * value was written: the host's own, or the top-level default that host inherited (reported once).
 */
export function resolveSshSettings (source: SourceFile, inv: Inventory, opts: ResolveSshOptions = {}): { problems: Problem[], ssh: Map<string, SshSettings> } {
  const problems: Problem[] = []
  const checked = new Map<string, string | null>()
  const identityAt = (value: string, at: FieldPath): string | undefined => {
    const key = `${value}\u0000${at.join('.')}`
    if (checked.has(key)) return checked.get(key) ?? undefined
    const expanded = expandIdentity(value, source.file)
    let result: string | null = null
    if ('error' in expanded) problems.push(source.problem(at, expanded.error))
    else {
      const why = opts.checkFiles === true ? identityFileProblem(expanded.path) : null
      if (why !== null) problems.push(source.problem(at, `private key file ${why}`))
      else result = expanded.path
    }
    checked.set(key, result)
    return result ?? undefined
  }
  const ssh = new Map<string, SshSettings>()
  inv.hosts.forEach((host, i) => {
    const merged: SshSettings = { ...inv.ssh, ...host.ssh }
    if (merged.identity !== undefined) {
      const own = host.ssh?.identity !== undefined
      const identity = identityAt(merged.identity, own ? ['hosts', i, 'ssh', 'identity'] : ['ssh', 'identity'])
      if (identity !== undefined) merged.identity = identity
      else delete merged.identity
    }
    ssh.set(host.name, merged)
  })
  return { problems, ssh }
}
