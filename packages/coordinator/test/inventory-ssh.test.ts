import os from 'node:os'
import path from 'node:path'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { loadInventory } from '../src/inventory/load-inventory.js'
import { expandIdentity } from '../src/inventory/ssh-settings.js'
import { BASE_CATALOG, expectError, problemLines, writeFiles } from './helpers.js'

const INVENTORY = `ssh:
  user: portcheck
  port: 2222
  identity: keys/id_ed25519
  sudo: true
hosts:
  - { name: app1, address: 198.18.7.11, roles: [app] }
  - name: db1
    address: 198.18.7.21
    roles: [db]
    ssh: { user: root, jump: "ops@bastion:2200,ssh://198.18.7.1", host: db1-alias, sudo: false }
settings:
  version: "4.6.2"
`

async function load (t: Test, inventory: string, checkFiles = false): ReturnType<typeof loadInventory> {
  const dir = t.testdir()
  const files = writeFiles(dir, { 'c.yaml': BASE_CATALOG, 'i.yaml': inventory })
  const { catalog } = await loadCatalogFile(files['c.yaml'] as string)
  return await loadInventory(files['i.yaml'] as string, catalog, {}, { ssh: { checkFiles } })
}

async function problems (t: Test, inventory: string, checkFiles = false): Promise<{ lines: string[], message: string }> {
  const err = await expectError(() => load(t, inventory, checkFiles))
  t.equal(err.code, 'PC_ERR_INVENTORY_INVALID')
  return { lines: problemLines(err.problems), message: err.message }
}

t.test('per-host ssh settings override the defaults field by field', async (t) => {
  const inv = await load(t, INVENTORY)
  const dir = path.dirname(inv.file)
  t.same(inv.ssh.get('app1'), { user: 'portcheck', port: 2222, identity: path.join(dir, 'keys/id_ed25519'), sudo: true })
  t.same(inv.ssh.get('db1'), { user: 'root', port: 2222, identity: path.join(dir, 'keys/id_ed25519'), sudo: false, jump: 'ops@bastion:2200,ssh://198.18.7.1', host: 'db1-alias' })
  t.same(inv.inventory.ssh, { user: 'portcheck', port: 2222, identity: 'keys/id_ed25519', sudo: true }, 'the inventory itself is left as written')
})

t.test('an inventory without ssh gives every host an empty entry', async (t) => {
  const inv = await load(t, 'hosts:\n  - { name: app1, address: 198.18.7.11, roles: [app] }\nsettings: { version: "4.6.2" }\n')
  t.same([...inv.ssh.entries()], [['app1', {}]])
})

t.test('~ in identity is the home directory; ~user is refused', async (t) => {
  t.same(expandIdentity('~/.ssh/id_rsa', '/srv/inv/i.yaml', '/home/op'), { path: '/home/op/.ssh/id_rsa' })
  t.same(expandIdentity('~', '/srv/inv/i.yaml', '/home/op'), { path: '/home/op' })
  t.same(expandIdentity('/etc/key', '/srv/inv/i.yaml', '/home/op'), { path: '/etc/key' })
  t.same(expandIdentity('k/id', '/srv/inv/i.yaml', '/home/op'), { path: '/srv/inv/k/id' })
  const inv = await load(t, INVENTORY.replace('identity: keys/id_ed25519', 'identity: ~/.ssh/id_ed25519'))
  t.equal(inv.ssh.get('app1')?.identity, path.join(os.homedir(), '.ssh/id_ed25519'))
  const r = await problems(t, INVENTORY.replace('identity: keys/id_ed25519', 'identity: ~ops/.ssh/id'))
  t.same(r.lines, ['ssh.identity: only a leading "~" or "~/" is expanded (the home directory of the user running portcheck): write the full path instead of "~ops"'])
  t.match(r.message, /i\.yaml:4:13: ssh\.identity/, 'file:line:col of the default, reported once for both hosts')
})

t.test('every field is checked, with the field and its position', async (t) => {
  const r = await problems(t, INVENTORY
    .replace('user: portcheck', 'user: -oProxyCommand=x')
    .replace('port: 2222', 'port: 70000')
    .replace('sudo: true', 'sudo: "yes"\n  hots: x')
    .replace('jump: "ops@bastion:2200,ssh://198.18.7.1"', 'jump: "-oProxyCommand=sh"')
    .replace('host: db1-alias', 'host: "db1 alias"'))
  t.same(r.lines.sort(), [
    'hosts[1].ssh.host: must be an SSH destination: a host alias, DNS name or IP address (got "db1 alias")',
    'hosts[1].ssh.jump: must be a ProxyJump spec: [user@]host[:port], several separated by commas (got "-oProxyCommand=sh")',
    'ssh.hots: is not a known field (did you mean "host"?)',
    'ssh.port: must be a port number 1-65535 (got 70000)',
    'ssh.sudo: must be boolean (got "yes")',
    'ssh.user: must be a user name: letters, digits, dots, dashes, underscores and @, not starting with a dash (got "-oProxyCommand=x")'
  ])
  t.match(r.message, /i\.yaml:2:9: ssh\.user/)
  t.match(r.message, /i\.yaml:\d+:\d+: hosts\[1\]\.ssh\.jump/)
})

t.test('with checkFiles, the key file must exist and be readable', async (t) => {
  const r = await problems(t, INVENTORY, true)
  t.match(r.lines, [/^ssh\.identity: private key file \/.*\/keys\/id_ed25519 does not exist$/])
  // Not t.testdir(): load() empties that one for each inventory it writes.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcheck-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const key = path.join(dir, 'id')
  writeFileSync(key, 'not really a key\n')
  chmodSync(key, 0o600)
  const ok = await load(t, INVENTORY.replace('identity: keys/id_ed25519', `identity: ${key}`), true)
  t.equal(ok.ssh.get('db1')?.identity, key)
  const dirAsKey = await problems(t, INVENTORY.replace('identity: keys/id_ed25519', `identity: ${dir}`), true)
  t.same(dirAsKey.lines, [`ssh.identity: private key file ${dir} is not a file`])
  const own = await problems(t, INVENTORY.replace('sudo: false', `sudo: false, identity: ${path.join(dir, 'nope')}`).replace('identity: keys/id_ed25519', `identity: ${key}`), true)
  t.same(own.lines, [`hosts[1].ssh.identity: private key file ${path.join(dir, 'nope')} does not exist`], 'a host\'s own key is reported at the host')
})
