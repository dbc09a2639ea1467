import pino from 'pino'
import type { Test } from 'tap'
import type { InventoryHost, SettingValue } from '@portcheck/protocol'
import { startAgent, type Agent } from '../../packages/agent/src/index.js'
import { loadCatalogFile } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { resolveSettings } from '../../packages/coordinator/src/catalog/settings.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { buildCoordinator, type Coordinator, type CoordinatorOptions } from '../../packages/coordinator/src/server/coordinator.js'

export const silent = pino({ level: 'silent' })
export const TOKEN = 'test-token-0123456789'

/** Loopback hosts for the demo catalog on 127.<net>.0.x, so test files running in parallel never share an address. */
export function demoHosts (net: number): InventoryHost[] {
  return [
    { name: 'lb1', address: `127.${net}.0.11`, roles: ['lb'] },
    { name: 'app1', address: `127.${net}.0.12`, roles: ['app'] },
    { name: 'app2', address: `127.${net}.0.13`, roles: ['app'] },
    { name: 'db1', address: `127.${net}.0.14`, roles: ['db'] },
    { name: 'db2', address: `127.${net}.0.15`, roles: ['db'] }
  ]
}

/** A coordinator on 127.0.0.1 (ephemeral port) for a catalog file, plain unless given `tls`; closed at teardown. */
export async function startCoordinator (t: Test, opts: { catalogFile: string, hosts: InventoryHost[], settings?: Record<string, SettingValue> } & Partial<CoordinatorOptions>): Promise<Coordinator> {
  const catalog = await loadCatalogFile(opts.catalogFile)
  const { values } = resolveSettings(catalog.catalog, Object.entries(opts.settings ?? {}).map(([name, value]) => [name, { value, problem: (message) => ({ file: 't', path: name, message }) }]))
  const c = await buildCoordinator({ logger: silent, token: TOKEN, heartbeatMs: 1000, tls: null, ...opts, catalog, hosts: opts.hosts, settings: values })
  await c.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => c.close())
  return c
}

/**
 * Starts in-process agents, each bound to its own loopback address; waits until all registered.
 * They never use nftables: the loopback suite behaves the same with root or without (and adds
 * nothing to the machine's own ruleset); localization and counting are the namespace lab's.
 */
export async function startAgents (t: Test, c: Coordinator, agents: Array<{ name: string, bind: string }>): Promise<Agent[]> {
  const started = agents.map((a) => startAgent({ coordinator: c.agentUrl as string, token: agentCredential(c.token, a.name), ...(c.pin !== null ? { pin: c.pin } : { insecure: true }), name: a.name, bind: a.bind, logger: silent, reconnectMinMs: 100, reconnectMaxMs: 500, nftables: false }))
  t.teardown(() => Promise.all(started.map((a) => a.close())))
  await Promise.all(started.map((a) => a.registered))
  return started
}
