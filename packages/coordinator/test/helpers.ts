import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { PortcheckError, type Problem } from '@portcheck/protocol'

/** Writes files into a directory and returns their paths, by name. */
export function writeFiles (dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name)
    writeFileSync(p, text)
    out[name] = p
  }
  return out
}

/** Runs fn, expecting a PortcheckError; returns it (or throws if none). */
export async function expectError (fn: () => Promise<unknown>): Promise<PortcheckError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof PortcheckError) return err
    throw err
  }
  throw new Error('expected a PortcheckError, none thrown')
}

/** The problems as `path: message` strings, for readable assertions. */
export function problemLines (problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.message}`)
}

/** A minimal valid catalog, in YAML; tests change one thing at a time. */
export const BASE_CATALOG = `id: example
title: Example product
roles:
  app: { title: Application servers }
  db: { title: Database servers }
  users: { title: End users, external: true }
settings:
  ha: { type: boolean, default: false, description: HA topology }
  version: { type: version, default: "4.7", description: Product version }
  tunnel-port: { type: port, default: 50103, description: Per-host tunnel port, scope: host }
flows:
  - id: EX-01
    from: app
    to: db
    tcp: [5432, 6432]
    purpose: Application to database
  - id: EX-02
    from: users
    to: app
    tcp: [443]
    purpose: Users to the UI
`
