import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import type { AgentsResponse } from '../../packages/coordinator/src/server/api-types.js'
import { createSelfSigned } from '../../packages/coordinator/src/security/certificate.js'
import { CLI_BIN, labReady } from './guard.js'
import { Lab, filterRules, type LabProcess } from './lab.js'
import { processTree, userOf } from './process-tree.js'

// Nodes that have nothing of portcheck and no registry: each runs, verbatim through `sh -c`, as
// `nobody`, with HOME an empty directory (an empty npm cache), the command the coordinator
// printed for it. db1 has no Node.js on its PATH and runs the standalone agent; app1 pipes the
// bundle to node; db2 takes the npm package with npx, as the documentation shows. db2 drops one
// UDP port, so that the verdicts prove probes really ran. Then a man in the middle: the same
// commands on a node whose traffic to the coordinator is redirected to an impostor are refused
// by curl's pin, and run the impostor's code once the pin is taken out (so the check can fail).
const HOSTS: Array<[string, string, string]> = [
  ['db1', '198.18.71.14', 'db'],
  ['app1', '198.18.71.12', 'app'],
  ['db2', '198.18.71.15', 'db']
]
const COORD = '198.18.70.1'
const VICTIM = '198.18.72.20'
const MITM = '198.18.72.66'
const TOKEN = 'lab-agent-dist-token-4c1e8a'
const NOBODY = 65534

/** The verdict of every check; anything else must not exist. */
const EXPECTED: Record<string, string> = {
  'app1>db1 tcp/15432': 'pass -',
  'app1>db2 tcp/15432': 'pass -',
  'db1>db2 tcp/15433': 'pass -',
  'db1>db2 udp/15405': 'blocked timeout',
  'db2>db1 tcp/15433': 'pass -',
  'db2>db1 udp/15405': 'pass -',
  'app1>db1 udp/18125': 'skipped optional',
  'app1>db2 udp/18125': 'skipped optional'
}

/** A directory only `nobody` writes to: a node user's fresh home. */
function homeOf (dir: string, name: string): string {
  const home = path.join(dir, `home-${name}`)
  mkdirSync(home, { mode: 0o700 })
  chownSync(home, NOBODY, NOBODY)
  return home
}

/** A PATH directory with `curl` and `chmod`, and no `node`: a node without Node.js. */
function pathWithoutNode (dir: string): string {
  const bin = path.join(dir, 'bin-without-node')
  mkdirSync(bin)
  for (const tool of ['curl', 'chmod']) symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool))
  return bin
}

/** Runs `command` through `sh -c` in lab host `host` as nobody, in `home`, with nothing of the test's environment. */
function asNobody (lab: Lab, host: string, home: string, pathVar: string, command: string): LabProcess {
  return lab.spawn(host, 'setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-i', '-C', home, `HOME=${home}`, `PATH=${pathVar}`, '/bin/sh', '-c', command])
}

/** The printed line that starts with `curl` and matches `pattern`. */
function printed (output: string, pattern: RegExp): string {
  const line = output.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl ') && pattern.test(l))
  if (line === undefined) throw new Error(`no printed command matching ${String(pattern)} in:\n${output}`)
  return line
}

/** Stops every process `sh -c` started (a pipeline's processes are its children), and waits for the shell. */
async function stopTree (p: LabProcess): Promise<void> {
  for (const pid of processTree(p.child.pid as number).reverse()) {
    try { process.kill(pid, 'SIGTERM') } catch { /* gone */ }
  }
  await p.exited
}

/** A lab with the coordinator's host, and a directory `nobody` can enter (homes, PATH); both removed at teardown. */
async function setUp (t: Test): Promise<{ lab: Lab, dir: string }> {
  const lab = await Lab.create()
  t.teardown(() => lab.destroy())
  const dir = mkdtempSync(path.join(tmpdir(), 'portcheck-lab-dist-'))
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await lab.addHost('coord', COORD)
  return { lab, dir }
}

t.test('namespace lab: the printed join commands bring agents up verbatim on nodes with no registry, as nobody, with and without Node.js', async (t) => {
  if (!labReady(t)) return
  const { lab, dir } = await setUp(t)
  for (const [name, address] of HOSTS) await lab.addHost(name, address)
  await lab.nft('db2', filterRules('input', '    udp dport 15405 drop'))

  // No registry from the nodes: no route out of the lab, no name server that answers.
  const registry = await lab.exec('app1', 'sh', ['-c', 'curl -sS --max-time 5 https://registry.npmjs.org/ 2>&1; echo "exit=$?"'])
  t.notMatch(registry, /exit=0/, `the registry is out of reach from the nodes (${registry.trim().split('\n')[0] ?? ''})`)

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n${HOSTS.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, roles: [${r}] }`).join('\n')}\n`)
  const reportFile = path.join(dir, 'report.json')
  const stateDir = path.join(dir, 'state')
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'run', '--inventory', inventory, '--listen', `${COORD}:7070`, '--token', TOKEN, '--state-dir', stateDir,
    '--wait', '120', '--timeout', '1500', '--format', 'json', '--output', reportFile, '--log-format', 'json'])
  await coordinator.waitFor(/Waiting up to/)
  const out = coordinator.stderr()
  const nodeForm = printed(out, / --name app1 /)
  const standalone = printed(out, /\/agent\/bin\//)
  t.match(nodeForm, /^curl -fsSk --pinnedpubkey sha256\/\/\S+ https:\/\/198\.18\.70\.1:7070\/agent\/portcheck-agent\.mjs \| node --input-type=module - --coordinator wss:\/\/198\.18\.70\.1:7070 --token \S+ --name app1 --pin sha256:[0-9a-f]{64}$/)
  t.match(standalone, new RegExp(`^curl -fsSk --pinnedpubkey sha256//\\S+ -o portcheck-agent https://198\\.18\\.70\\.1:7070/agent/bin/${process.platform}-${process.arch} && chmod \\+x portcheck-agent && \\./portcheck-agent --coordinator wss://\\S+ --token \\S+ --name db1 --pin sha256:[0-9a-f]{64}$`))
  const api = JSON.parse(await lab.exec('coord', 'curl', ['-fsSk', '-H', `Authorization: Bearer ${TOKEN}`, `https://${COORD}:7070/api/agents`])) as AgentsResponse
  t.equal(api.hosts.find((h) => h.name === 'db1')?.executableJoinCommand, standalone, 'the API gives the same command')
  // The documented npm form: the package fetched the same way, then npx on the file.
  const db2Node = printed(out, / --name db2 /)
  const npxForm = db2Node.replace(/ (https:\/\/\S+)\/agent\/portcheck-agent\.mjs \| node --input-type=module - /, ' -o portcheck-agent.tgz $1/agent/portcheck-agent.tgz && npx --yes ./portcheck-agent.tgz ')
  t.not(npxForm, db2Node)

  const homes = { app1: homeOf(dir, 'app1'), db1: homeOf(dir, 'db1'), db2: homeOf(dir, 'db2') }
  const noNode = pathWithoutNode(dir)
  const check = await lab.exec('db1', 'sh', ['-c', `PATH=${noNode}; command -v node || echo none`])
  t.equal(check.trim(), 'none', 'db1 has no node on its PATH')
  const agents = {
    app1: asNobody(lab, 'app1', homes.app1, '/usr/local/bin:/usr/bin:/bin', nodeForm),
    db1: asNobody(lab, 'db1', homes.db1, noNode, standalone),
    db2: asNobody(lab, 'db2', homes.db2, '/usr/local/bin:/usr/bin:/bin', npxForm)
  }
  t.teardown(async () => { for (const a of Object.values(agents)) await stopTree(a) })

  const code = await coordinator.exited
  t.equal(code, 1, 'the run ended: one flow is blocked (exit 1)')
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
  t.match(report, { agents: { expected: 3, joined: 3, missing: [] } }, 'every agent joined')
  const actual: Record<string, string> = {}
  for (const c of report.checks) actual[`${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`] = `${c.status ?? 'none'} ${c.reason ?? '-'}`
  t.same(actual, EXPECTED, 'the exact verdict of every check')

  for (const [name, agent] of Object.entries(agents)) {
    const tree = processTree(agent.child.pid as number)
    t.ok(tree.length > 1, `${name}: its command still runs the agent`)
    t.same([...new Set(tree.map(userOf))], [NOBODY], `${name}: every process of it runs as nobody`)
  }
  await Promise.all(Object.values(agents).map(stopTree))
  t.same(readdirSync(homes.app1), [], 'app1 (bundle piped to node): nothing was written in its home')
  t.same(readdirSync(homes.db1), ['portcheck-agent'], 'db1: the executable only')
  t.ok(readdirSync(homes.db2).includes('portcheck-agent.tgz') && readdirSync(homes.db2).includes('.npm'), 'db2: the package, and npx\'s cache')
  t.notMatch(agents.db2.stderr(), /npm (error|ERR!)/, 'npx installed it with no registry, and no error')
  t.match(agents.db2.stderr(), /"msg":"registered with the coordinator"/, 'db2 registered')
  t.match(agents.app1.stderr(), /"msg":"registered with the coordinator"/, 'app1 registered')
  t.match(agents.db1.stderr(), /"msg":"registered with the coordinator"/, 'db1 registered')
})

t.test('namespace lab: a man in the middle cannot hand a node other code; without the pin, it could', async (t) => {
  if (!labReady(t)) return
  const { lab, dir } = await setUp(t)
  await lab.addHost('victim', VICTIM)
  await lab.addHost('mitm', MITM)

  const inventory = path.join(dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ${path.resolve('examples/demo/catalog.yaml')}\nhosts:\n  - { name: db1, address: ${VICTIM}, roles: [db] }\n`)
  const coordinator = lab.spawn('coord', 'node', [CLI_BIN, 'serve', '--inventory', inventory, '--listen', `${COORD}:7070`, '--token', TOKEN, '--state-dir', path.join(dir, 'state'), '--log-format', 'json'])
  await coordinator.waitFor(/Dashboard: /)
  const nodeForm = printed(coordinator.stderr(), / \| node /)
  const standalone = printed(coordinator.stderr(), /\/agent\/bin\//)

  // The impostor: its own key, serving code that leaves a mark, for both the bundle and the executable.
  const fake = await createSelfSigned([COORD])
  writeFileSync(path.join(dir, 'fake.json'), JSON.stringify(fake))
  const impostor = lab.spawn('mitm', 'node', ['-e', `
    const fake = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))
    require('https').createServer({ key: fake.key, cert: fake.cert }, (req, res) => {
      res.end(req.url.endsWith('.mjs') ? 'import fs from "node:fs"; fs.writeFileSync(process.env.HOME + "/owned", "js")\\n' : '#!/bin/sh\\necho sh > "$HOME/owned"\\n')
    }).listen(7443, '${MITM}', () => console.log('ready'))`, path.join(dir, 'fake.json')])
  await impostor.waitFor(/ready/)
  // The victim's traffic to the coordinator goes to the impostor instead.
  await lab.nft('victim', `table ip pcmitm {\n  chain output {\n    type nat hook output priority -100; policy accept;\n    ip daddr ${COORD} tcp dport 7070 dnat to ${MITM}:7443\n  }\n}\n`)

  const attempt = async (t: Test, command: string, label: string): Promise<{ code: number | string, stderr: string, owned: boolean, files: string[] }> => {
    const home = homeOf(dir, `${label}-${Math.random().toString(36).slice(2, 8)}`)
    const p = asNobody(lab, 'victim', home, '/usr/local/bin:/usr/bin:/bin', command)
    const code = await p.exited
    t.comment(`${label}: exit ${code}, ${p.stderr().trim().split('\n')[0] ?? ''}`)
    return { code, stderr: p.stderr(), owned: existsSync(path.join(home, 'owned')), files: readdirSync(home) }
  }
  for (const [label, command] of [['bundle', nodeForm], ['executable', standalone]] as const) {
    const pinned = await attempt(t, command, `${label}, pinned`)
    t.match(pinned.stderr, /curl: \(90\) .*public key does not match pinned public key/, `${label}: curl refuses the impostor's key`)
    t.notOk(pinned.owned, `${label}: nothing of the impostor ran`)
    t.same(pinned.files, [], `${label}: nothing was saved`)
    if (label === 'executable') t.equal(pinned.code, 90, 'and the command fails')
    const unpinned = await attempt(t, command.replace(/ --pinnedpubkey \S+/, ''), `${label}, without the pin`)
    t.ok(unpinned.owned, `${label}: without the pin, the impostor's code runs (what the pin prevents)`)
  }
  coordinator.child.kill('SIGTERM')
  t.equal(await coordinator.exited, 0)
})
