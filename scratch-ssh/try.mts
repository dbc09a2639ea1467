import pino from 'pino'
import { buildCoordinator } from '/work/wt-ssh/packages/coordinator/src/server/coordinator.js'
import { loadCatalog } from '/work/wt-ssh/packages/coordinator/src/catalog/load-catalog.js'
import { launchAgents } from '/work/wt-ssh/packages/coordinator/src/launch/launcher.js'
import { readdirSync } from 'node:fs'
const logger = pino({ level: 'debug' })
const catalog = await loadCatalog('/work/wt-ssh/examples/demo/catalog.yaml')
const hosts = [{ name: 'app1', address: '127.0.0.1', roles: ['app'] }]
const c = await buildCoordinator({ catalog, hosts, settings: {}, logger })
await c.listen({ host: '127.0.0.1', port: 0 })
c.hub.launches.on('change', (n, i) => console.log('STATE', n, i.state, i.error))
process.env.TMPDIR = '/tmp/sshscratch/tmp'
const t0 = Date.now()
const l = launchAgents(c, new Map([['app1', {}]]), { logger, sshCommand: '/tmp/sshscratch/fake-ssh', verbose: true })
await l.launched
console.log('launched', Date.now() - t0, readdirSync('/tmp/sshscratch/tmp'))
const missing = await c.waitForAgents(10000)
console.log('joined', Date.now() - t0, missing)
const t1 = Date.now()
await c.close()
console.log('closed', Date.now() - t1, readdirSync('/tmp/sshscratch/tmp'))
