import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Lab } from '../test/lab/lab.js'
import { joinArgs } from '../test/support/join.js'
const lab = await Lab.create()
const dir = mkdtempSync('/tmp/pcm50-')
try {
  const n = Number(process.argv[2] ?? 50)
  const names = Array.from({ length: n }, (_, i) => `n${String(i + 1).padStart(2, '0')}`)
  const address = (i: number): string => `198.19.40.${i + 11}`
  await lab.addHost('coord', '198.19.40.1')
  for (const [i, name] of names.entries()) await lab.addHost(name, address(i))
  writeFileSync(path.join(dir, 'catalog.yaml'), 'id: mesh\ntitle: Mesh\nroles:\n  node: { title: Node }\nflows:\n  - { id: M-1, from: node, to: node, tcp: [18080], purpose: mesh }\n')
  writeFileSync(path.join(dir, 'inv.yaml'), `catalog: ./catalog.yaml\nhosts:\n${names.map((nm, i) => `  - { name: ${nm}, address: ${address(i)}, roles: [node] }`).join('\n')}\n`)
  const c = lab.spawn('coord', 'node', ['packages/coordinator/bin/portcheck.js', 'run', '-i', path.join(dir, 'inv.yaml'), '--listen', '198.19.40.1:7070', '--state-dir', path.join(dir, 'state'), '--format', 'json', '--output', path.join(dir, 'r.json'), '--log-format', 'json', '--wait', '120'])
  await c.waitFor(/Waiting up to/)
  for (const name of names) lab.spawn(name, 'node', ['packages/agent/bin/portcheck-agent.js', ...joinArgs(c.stderr(), name), '--log-format', 'json', '--log-level', 'warn'])
  console.log('exit', await c.exited)
  const r = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8'))
  const o: Record<string, number> = {}
  for (const ch of r.checks) o[`${ch.status} ${ch.reason}`] = (o[`${ch.status} ${ch.reason}`] ?? 0) + 1
  console.log(o, r.durationMs)
} finally { await lab.destroy() }
