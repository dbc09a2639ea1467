import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import type { RunReport } from '../../packages/coordinator/src/report/report.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import { CLI_BIN, labReady } from './guard.js'
import { Lab, filterRules, type LabProcess } from './lab.js'
import { SshLab, sshUnavailable } from './sshd.js'

// `portcheck run --launch ssh` against Debian's sshd in every host namespace: the coordinator
// starts each agent through the system's ssh client, with the lab's own keys, known_hosts and
// ssh_config (--ssh-config), and must leave no process and no file on any host: after the run,
// after Ctrl-C, and after the coordinator is killed outright.

const COORD = '198.18.30.1'
const BASTION = '198.18.30.5'
const CATALOG = `id: ssh-lab
title: SSH launch lab
roles:
  front: { title: Front }
  back: { title: Back }
flows:
  - { id: SL-443, from: back, to: front, tcp: [443], purpose: "HTTPS, below 1024" }
  - { id: SL-8080, from: front, to: back, tcp: [18080], purpose: API }
`

/** The coordinator's process, in the `coord` namespace, with a HOME of its own: the machine's ~/.ssh is never read. */
function startCoordinator (lab: Lab, ssh: SshLab, args: string[]): LabProcess {
  const home = path.join(ssh.dir, 'coord-home')
  mkdirSync(home, { recursive: true })
  return lab.spawn('coord', 'node', [CLI_BIN, 'run', '--launch', 'ssh', '--listen', `${COORD}:7070`, '--state-dir', path.join(ssh.dir, 'state'), '--log-format', 'json', ...args], { HOME: home, SSH_AUTH_SOCK: '' })
}

function key (c: RunReport['checks'][number]): string {
  return `${c.from ?? c.fromRole}>${c.to ?? c.toRole} ${c.protocol}/${c.port}`
}

async function setup (t: Test, hosts: Array<[string, string]>): Promise<{ lab: Lab, ssh: SshLab }> {
  const lab = await Lab.create()
  t.teardown(() => lab.destroy())
  const ssh = await SshLab.create(lab)
  // Before the lab: its sshds are stopped first, then the users they served are removed.
  t.teardown(() => ssh.destroy())
  await lab.addHost('coord', COORD)
  for (const [name, address] of hosts) await lab.addHost(name, address)
  return { lab, ssh }
}

t.test('run --launch ssh: agents started over SSH as a user, with sudo, as root, through a jump host; failures are agent-missing with the SSH error; nothing is left behind', async (t) => {
  if (!labReady(t, () => sshUnavailable(true))) return
  const HOSTS: Array<[string, string]> = [['bastion', BASTION], ['f1', '198.18.30.11'], ['f2', '198.18.30.12'], ['b1', '198.18.30.13'], ['b2', '198.18.30.14'], ['x1', '198.18.30.15'], ['x2', '198.18.30.16']]
  const { lab, ssh } = await setup(t, HOSTS)
  const user = await ssh.addUser(true)
  const noSudo = await ssh.addUser(false)
  await ssh.startSshd('bastion')
  await ssh.startSshd('f1')
  await ssh.startSshd('f2')
  await ssh.startSshd('b1', { port: 2222 })
  await ssh.startSshd('b2')
  await ssh.startSshd('x1', { wrongKey: true })
  await ssh.startSshd('x2')
  // b2 accepts SSH only from the bastion: the coordinator reaches it through ProxyJump.
  await lab.nft('b2', filterRules('input', `    ip saddr ${COORD} tcp dport 22 drop`))

  writeFileSync(path.join(ssh.dir, 'catalog.yaml'), CATALOG)
  const inventory = path.join(ssh.dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ./catalog.yaml
ssh:
  user: ${user}
  identity: ${ssh.clientKey}
hosts:
  - { name: f1, address: 198.18.30.11, roles: [front], ssh: { sudo: true } }
  - { name: f2, address: 198.18.30.12, roles: [front] }
  - { name: b1, address: 198.18.30.13, roles: [back], ssh: { user: root, port: 2222 } }
  - { name: b2, address: 198.18.30.14, roles: [back], ssh: { jump: "${user}@${BASTION}" } }
  - { name: x1, address: 198.18.30.15, roles: [back] }
  - { name: x2, address: 198.18.30.16, roles: [front], ssh: { user: ${noSudo}, sudo: true } }
`)
  // The jump connection is ssh's own: it takes its key from the configuration, not from -i.
  const config = ssh.sshConfig()
  writeFileSync(config, `Host ${BASTION}\n  IdentityFile ${ssh.clientKey}\n` + readFileSync(config, 'utf8'))
  const reportFile = path.join(ssh.dir, 'report.json')
  const coordinator = startCoordinator(lab, ssh, ['-i', inventory, '--ssh-config', config, '--wait', '60', '--format', 'json', '--output', reportFile])
  const code = await coordinator.exited
  if (code !== 3) t.comment(coordinator.stderr().slice(-5000))
  t.equal(code, 3, 'exit 3: nothing blocked, two hosts without agent')
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport
  const actual = Object.fromEntries(report.checks.map((c) => [key(c), `${c.status ?? 'none'} ${c.reason ?? '-'}`]))
  t.same(actual, {
    'b1>f1 tcp/443': 'pass -', // f1's agent runs as root through sudo -n
    'b2>f1 tcp/443': 'pass -',
    'x1>f1 tcp/443': 'inconclusive agent-missing',
    'b1>f2 tcp/443': 'inconclusive bind-denied', // f2's agent runs as the user: no port below 1024
    'b2>f2 tcp/443': 'inconclusive bind-denied',
    'x1>f2 tcp/443': 'inconclusive agent-missing',
    'b1>x2 tcp/443': 'inconclusive agent-missing',
    'b2>x2 tcp/443': 'inconclusive agent-missing',
    'x1>x2 tcp/443': 'inconclusive agent-missing',
    'f1>b1 tcp/18080': 'pass -',
    'f1>b2 tcp/18080': 'pass -',
    'f1>x1 tcp/18080': 'inconclusive agent-missing',
    'f2>b1 tcp/18080': 'pass -',
    'f2>b2 tcp/18080': 'pass -',
    'f2>x1 tcp/18080': 'inconclusive agent-missing',
    'x2>b1 tcp/18080': 'inconclusive agent-missing',
    'x2>b2 tcp/18080': 'inconclusive agent-missing',
    'x2>x1 tcp/18080': 'inconclusive agent-missing'
  }, 'the exact verdict of every check')
  t.match(report.agents, { expected: 6, joined: 4, missing: ['x1', 'x2'] })
  t.match(report.agents.launchErrors, {
    x1: /^launch over SSH failed: .*Permission denied \(publickey\)/,
    x2: /^launch over SSH failed: sudo: a password is required$/
  }, 'the SSH error of each failed launch, in the report')
  t.match(report.checks.find((c) => key(c) === 'f1>x1 tcp/18080')?.detail, /^no agent joined for x1 \(launch over SSH failed: .*Permission denied \(publickey\)\.?\)$/, 'and in the check\'s detail')
  t.match(report.checks.find((c) => key(c) === 'x1>x2 tcp/443')?.detail, /^no agent joined for x1 and x2 \(x1: launch over SSH failed: .*publickey.*; x2: launch over SSH failed: sudo: a password is required\)$/)
  t.match(coordinator.stderr(), /portcheck: x1: launch over SSH failed: .*Permission denied \(publickey\)/, 'the terminal says it as it happens')
  t.match(coordinator.stderr(), /portcheck: agents over SSH: 4\/6 joined · 2 failed \(x1, x2\)/)
  const credentials = ['f1', 'f2', 'b1', 'b2'].map((h) => agentCredential(readFileSync(path.join(ssh.dir, 'state', 'token'), 'utf8').trim(), h))
  t.notOk(credentials.some((c) => coordinator.stderr().includes(c)), 'no credential is printed or logged')
  t.same(await ssh.settledLeftovers(15_000), {}, 'no agent process and no file left on any host')
})

/** Two hosts launched (one as a user, one as root), and one whose SSH port drops everything: the run waits for it. */
async function heldRun (t: Test): Promise<{ lab: Lab, ssh: SshLab, coordinator: LabProcess, user: string }> {
  const { lab, ssh } = await setup(t, [['f1', '198.18.30.21'], ['b1', '198.18.30.22'], ['b2', '198.18.30.23']])
  const user = await ssh.addUser()
  await ssh.startSshd('f1')
  await ssh.startSshd('b1')
  await lab.nft('b2', filterRules('input', '    tcp dport 22 drop'))
  writeFileSync(path.join(ssh.dir, 'catalog.yaml'), CATALOG)
  const inventory = path.join(ssh.dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ./catalog.yaml
hosts:
  - { name: f1, address: 198.18.30.21, roles: [front] }
  - { name: b1, address: 198.18.30.22, roles: [back], ssh: { user: root } }
  - { name: b2, address: 198.18.30.23, roles: [back] }
`)
  const coordinator = startCoordinator(lab, ssh, ['-i', inventory, '--ssh-config', ssh.sshConfig({ identity: true, user }), '--wait', '120', '--log-level', 'info'])
  await coordinator.waitFor(/"msg":"agent joined"[\s\S]*"msg":"agent joined"/, 60_000)
  return { lab, ssh, coordinator, user }
}

t.test('while the agents run: a private directory of the user, the credential on no command line', async (t) => {
  if (!labReady(t, () => sshUnavailable())) return
  const { ssh, coordinator, user } = await heldRun(t)
  const f1 = ssh.sshds.find((s) => s.host === 'f1')
  if (f1 === undefined) throw new Error('no f1')
  const dirs = readdirSync(f1.tmp)
  t.equal(dirs.length, 1, 'one private directory')
  const dir = path.join(f1.tmp, dirs[0] ?? '')
  const st = statSync(dir)
  t.equal(st.mode & 0o777, 0o700, 'mode 700')
  t.equal(st.uid, Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':')[2]), 'owned by the SSH user')
  // `beat` comes and goes with the heartbeats.
  t.same(readdirSync(dir).filter((f) => f !== 'beat').sort(), ['agent.pid', 'launch.sh', 'portcheck-agent.mjs'], 'the agent, its pid and its launch script; the credential file is gone once read')
  const left = await ssh.leftovers(f1)
  const agent = left.processes.find((p) => p.includes('--name f1'))
  t.ok(agent, `the agent runs on f1: ${left.processes.join(' | ')}`)
  const credential = agentCredential(readFileSync(path.join(ssh.dir, 'state', 'token'), 'utf8').trim(), 'f1')
  t.notOk(left.processes.some((p) => p.includes(credential)), 'no process shows the credential on its command line')
  coordinator.child.kill('SIGINT')
  await coordinator.exited
})

t.test('Ctrl-C while waiting: exit 130, every launched agent stopped, every file removed', async (t) => {
  if (!labReady(t, () => sshUnavailable())) return
  const { ssh, coordinator } = await heldRun(t)
  t.ok(Object.keys(await ssh.settledLeftovers(0)).length > 0, 'agents run before Ctrl-C')
  coordinator.child.kill('SIGINT')
  t.equal(await coordinator.exited, 130)
  t.same(await ssh.settledLeftovers(15_000), {}, 'no agent process and no file left on any host')
})

t.test('the coordinator killed outright (SIGKILL): the hosts stop their agents and remove their files by themselves', async (t) => {
  if (!labReady(t, () => sshUnavailable())) return
  const { ssh, coordinator } = await heldRun(t)
  t.ok(Object.keys(await ssh.settledLeftovers(0)).length > 0, 'agents run before the kill')
  coordinator.child.kill('SIGKILL')
  await coordinator.exited
  t.same(await ssh.settledLeftovers(15_000), {}, 'no agent process and no file left on any host')
})

t.test('a host without Node.js gets the standalone agent, made by the coordinator from its own Node.js', async (t) => {
  if (!labReady(t, () => sshUnavailable())) return
  const { lab, ssh } = await setup(t, [['e1', '198.18.30.31'], ['e2', '198.18.30.32']])
  const user = await ssh.addUser()
  await ssh.startSshd('e1', { noNode: true })
  await ssh.startSshd('e2')
  writeFileSync(path.join(ssh.dir, 'catalog.yaml'), CATALOG)
  const inventory = path.join(ssh.dir, 'inventory.yaml')
  writeFileSync(inventory, `catalog: ./catalog.yaml
hosts:
  - { name: e1, address: 198.18.30.31, roles: [front] }
  - { name: e2, address: 198.18.30.32, roles: [back] }
`)
  const coordinator = startCoordinator(lab, ssh, ['-i', inventory, '--ssh-config', ssh.sshConfig({ identity: true, user }), '--wait', '120', '--log-level', 'debug', '--format', 'json', '--output', path.join(ssh.dir, 'report.json')])
  const code = await coordinator.exited
  if (code !== 3) t.comment(coordinator.stderr().slice(-5000))
  t.equal(code, 3, 'exit 3: e1\'s port 443 needs root')
  const sent = coordinator.stderr().split('\n').filter((l) => l.includes('"msg":"sending the agent"')).map((l) => JSON.parse(l) as { host: string, kind: string, node: string | null })
  t.match(sent.sort((a, b) => a.host.localeCompare(b.host)), [{ host: 'e1', kind: 'executable', node: null }, { host: 'e2', kind: 'script', node: process.version }], 'the executable where node is missing, the script elsewhere')
  const report = JSON.parse(readFileSync(path.join(ssh.dir, 'report.json'), 'utf8')) as RunReport
  t.same(Object.fromEntries(report.checks.map((c) => [key(c), `${c.status ?? 'none'} ${c.reason ?? '-'}`])), {
    'e2>e1 tcp/443': 'inconclusive bind-denied',
    'e1>e2 tcp/18080': 'pass -'
  }, 'the standalone agent probes and listens like the script')
  t.same(await ssh.settledLeftovers(15_000), {}, 'and leaves nothing behind either')
})
