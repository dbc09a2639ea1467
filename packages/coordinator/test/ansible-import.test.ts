import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { formatProblem } from '@portcheck/protocol'
import { loadInputs } from '../src/api.js'
import { importAnsibleInventory, type AnsibleImportOptions } from '../src/inventory/import-ansible/import-ansible.js'
import { parseSshArgs } from '../src/inventory/import-ansible/ansible-values.js'
import { parseHostPattern } from '../src/inventory/import-ansible/host-pattern.js'
import { buildPlan } from '../src/plan/expand.js'
import { expectError } from './helpers.js'

const FIXTURES = path.resolve('packages/coordinator/test/fixtures/ansible')
const CHEF_ROLES = ['frontends=frontend', 'elasticsearch=elasticsearch', 'postgresql=postgresql', 'ungrouped=provisioning']

/** Writes an Ansible inventory into the test's directory and returns its path. */
function ansible (t: Test, name: string, text: string): string {
  const file = path.join(t.testdir(), name)
  writeFileSync(file, text)
  return file
}

/** The import's problems (or its usage error) as `file:line: message` lines, the file cut to its base name. */
async function failure (opts: AnsibleImportOptions): Promise<{ code: string, lines: string[], message: string }> {
  const err = await expectError(() => importAnsibleInventory(opts))
  const lines = err.problems.map((p) => formatProblem({ ...p, file: path.basename(p.file) }))
  return { code: err.code, lines, message: err.message }
}

const SSH = { user: 'deploy', sudo: true, jump: 'ops@198.18.20.10' }
const CHEF_HOSTS = [
  { name: 'chef-bastion', address: '198.18.20.10', roles: ['provisioning'], ssh: { user: 'deploy', sudo: true } },
  { name: 'chef-fe1', address: 'chef-fe1', roles: ['frontend'], ssh: { user: 'automate', sudo: true, jump: 'ops@198.18.20.10:2022' } },
  { name: 'chef-fe2', address: 'chef-fe2', roles: ['frontend'], ssh: { user: 'automate', sudo: true, jump: 'ops@198.18.20.10:2022' } },
  { name: 'chef-es1', address: '198.18.20.31', roles: ['elasticsearch'], ssh: SSH },
  { name: 'chef-es2', address: '198.18.20.32', roles: ['elasticsearch'], ssh: SSH },
  { name: 'chef-es3', address: '198.18.20.33', roles: ['elasticsearch'], ssh: { user: 'deploy', port: 2202, sudo: true, jump: 'ops@198.18.20.10' } },
  { name: 'chef-pg1', address: '198.18.20.41', roles: ['postgresql'], ssh: { user: 'deploy', port: 2222, sudo: true, jump: 'ops@198.18.20.10' } },
  { name: 'chef-pg2', address: '198.18.20.42', roles: ['postgresql'], ssh: SSH },
  { name: 'chef-pg3', address: '198.18.20.43', roles: ['postgresql'], ssh: { user: 'deploy', sudo: false, jump: 'ops@198.18.20.10' } }
]

for (const form of ['ini', 'yaml'] as const) {
  t.test(`the Chef Automate HA inventory in ${form.toUpperCase()} form: hosts, addresses, roles, SSH settings`, async (t) => {
    const file = path.join(FIXTURES, `chef-ha.${form}`)
    const r = await importAnsibleInventory({ file, roleMap: CHEF_ROLES, catalog: 'chef-automate-ha' })
    t.strictSame(r.inventory, { catalog: 'chef-automate-ha', hosts: CHEF_HOSTS, ssh: { identity: '/home/ops/.ssh/chef_ed25519' } })
    t.strictSame(r.leftOut, ['chef-mon1'], 'monitoring has no role: its host is left out')
    const warnings = r.warnings.map((w) => w.message)
    t.ok(warnings.includes('groups with no --role-map, whose hosts have no role: monitoring'), 'the group that leaves a host out is named')
    t.ok(warnings.includes('left out, in no group of --role-map: chef-mon1'))
    t.ok(warnings.some((w) => /ansible_ssh_common_args: -o StrictHostKeyChecking=accept-new not imported: portcheck imports only ProxyJump.*\(6 hosts: chef-es1, chef-es2, chef-es3, chef-pg1, chef-pg2, chef-pg3\)$/.test(w)), 'other ssh options: said once, for every host they concern')
    t.ok(warnings.some((w) => /ansible_connection=local: Ansible does not reach this host over SSH; --launch ssh will \(host chef-bastion\)/.test(w)))
    const ssh = r.warnings.find((w) => w.message.includes('StrictHostKeyChecking'))
    t.equal(ssh?.line, form === 'ini' ? 27 : 20, 'a warning names the line the value was written on')
    t.match(r.text, `# portcheck inventory, imported from the Ansible ${form.toUpperCase()} inventory ${file} by\n#   portcheck inventory import ${file} --role-map frontends=frontend`)
    t.match(r.text, '# Addresses that are DNS names, resolved by each agent when it probes (nothing was resolved at import): chef-fe1, chef-fe2')
    t.match(r.text, '\n  - { name: chef-es3, address: 198.18.20.33, roles: [ elasticsearch ], ssh: { user: deploy, port: 2202, sudo: true, jump: ops@198.18.20.10 } }\n', 'one host a line')

    // The round trip: the real loader takes it, SSH settings merged, and it plans.
    const out = path.join(t.testdir(), 'chef.yaml')
    writeFileSync(out, r.text)
    const inputs = await loadInputs({ inventory: out })
    t.equal(inputs.catalog.catalog.id, 'chef-automate-ha')
    t.strictSame(inputs.inventory.ssh.get('chef-pg1'), { identity: '/home/ops/.ssh/chef_ed25519', user: 'deploy', port: 2222, sudo: true, jump: 'ops@198.18.20.10' }, 'the loader merges the top-level ssh into each host')
    const plan = buildPlan({ catalog: inputs.catalog.catalog, hosts: inputs.inventory.inventory.hosts, settings: inputs.inventory.settings })
    t.ok(plan.checks.some((c) => c.from === 'chef-fe1' && c.to === 'chef-pg1' && c.skip === null), 'frontends reach the database')
  })
}

t.test('variables: the deepest group wins, groups at one depth by name, the host over all; hosts in several groups get every role', async (t) => {
  const file = ansible(t, 'hosts', `
[web]
w1 ansible_host=198.18.1.1
both ansible_host=198.18.1.3 ansible_user=own

[db]
d1 ansible_host=198.18.1.2
both

[all:vars]
ansible_user=everyone
ansible_port=22

[web:vars]
ansible_user=webuser
ansible_port=2201

[db:vars]
ansible_user=dbuser

[eu:children]
web

[eu:vars]
ansible_port=2299
`)
  const r = await importAnsibleInventory({ file, roleMap: ['web=app', 'db=db,backup'] })
  t.strictSame(r.inventory.hosts, [
    { name: 'w1', address: '198.18.1.1', roles: ['app'], ssh: { user: 'webuser', port: 2201 } },
    { name: 'both', address: '198.18.1.3', roles: ['app', 'db', 'backup'], ssh: { user: 'own', port: 2201 } },
    { name: 'd1', address: '198.18.1.2', roles: ['db', 'backup'], ssh: { user: 'dbuser', port: 22 } }
  ], 'web (depth 2, under eu) wins over eu and all; db and web... by name; the host\'s own wins; roles: the union')
  t.equal(r.inventory.catalog, undefined, 'no --catalog: no catalog: line')
})

t.test('host patterns: ranges, padding, letters, steps, ports', async (t) => {
  t.strictSame(parseHostPattern('web[01:03].example.com', 100), { names: ['web01.example.com', 'web02.example.com', 'web03.example.com'] })
  t.strictSame(parseHostPattern('db-[a:c]', 100), { names: ['db-a', 'db-b', 'db-c'] })
  t.strictSame(parseHostPattern('n[1:9:4]:2222', 100), { names: ['n1', 'n5', 'n9'], port: 2222 })
  t.strictSame(parseHostPattern('r[1:2]-[a:b]', 100), { names: ['r1-a', 'r1-b', 'r2-a', 'r2-b'] })
  t.strictSame(parseHostPattern('[2001:2::5]:22', 100), { names: ['2001:2::5'], port: 22 })
  t.strictSame(parseHostPattern('2001:2::5', 100), { names: ['2001:2::5'] })
  t.throws(() => parseHostPattern('web[01:100]', 1000), /equal-length begin and end/)
  t.throws(() => parseHostPattern('web[3]', 100), /begin:end or begin:end:step/)
  t.throws(() => parseHostPattern('web[1:]', 100), /must specify end value/)
  t.throws(() => parseHostPattern('web[c:a]', 100), /begin <= end/)
  t.throws(() => parseHostPattern('web1:ssh', 100), /"ssh" after ":" is not a port number/)
  t.throws(() => parseHostPattern('web[1:99999999]', 65_000), /stands for more than 65,000 hosts/, 'bounded before it is built')
})

t.test('ProxyJump, from every form ssh takes it in', async (t) => {
  t.strictSame(parseSshArgs('-J ops@bastion'), { jump: 'ops@bastion', proxyCommand: false, ignored: [] })
  t.strictSame(parseSshArgs('-Jops@bastion:2022'), { jump: 'ops@bastion:2022', proxyCommand: false, ignored: [] })
  t.strictSame(parseSshArgs('-o ProxyJump=a,b -o ServerAliveInterval=30'), { jump: 'a,b', proxyCommand: false, ignored: ['-o ServerAliveInterval=30'] })
  t.strictSame(parseSshArgs('-o "ProxyJump bastion" -C'), { jump: 'bastion', proxyCommand: false, ignored: ['-C'] })
  t.strictSame(parseSshArgs('-oproxyjump=bastion'), { jump: 'bastion', proxyCommand: false, ignored: [] })
  t.strictSame(parseSshArgs('-o ProxyCommand="ssh -W %h:%p -q bastion"'), { proxyCommand: true, ignored: [] })
})

t.test('INI syntax errors: each with its line and what is wrong, all at once', async (t) => {
  const file = ansible(t, 'bad.ini', [
    '[web]',
    'w1 ansible_host=198.18.1.1 oops',
    'w2 ansible_user="unclosed',
    'w[1:]',
    '[web:varz]',
    'x',
    '[bad group]',
    '[db:vars]',
    'novalue',
    '[web:children]',
    'app',
    'two words'
  ].join('\n'))
  const f = await failure({ file, roleMap: ['web=app'] })
  t.equal(f.code, 'PC_ERR_INVENTORY_INVALID')
  t.match(f.message, `Ansible inventory ${file} is invalid:`)
  t.strictSame(f.lines, [
    'bad.ini:2:1: expected key=value host variable assignment after the host, got "oops"',
    'bad.ini:3:1: cannot read this host line: Got EOF while in a quoted string',
    'bad.ini:4:1: host "w[1:]": host range must specify end value',
    'bad.ini:5:1: section [web:varz] has unknown type "varz": expected [web], [web:vars] or [web:children]',
    'bad.ini:7:1: invalid section [bad group]: a section is [group], [group:vars] or [group:children], with no spaces',
    'bad.ini:8:1: section [db:vars] is for an undefined group "db": define it with a [db] or [db:children] section',
    'bad.ini:9:1: expected key=value in [db:vars], got "novalue"',
    'bad.ini:11:1: [web:children] names an undefined group "app": define it with a [app] or [app:children] section',
    'bad.ini:12:1: expected a group name in [web:children], got "two words"'
  ])
})

t.test('values that cannot be imported name their line', async (t) => {
  const file = ansible(t, 'hosts.ini', [
    '[web]',
    'w1 ansible_host=',
    'w2 ansible_host="{{ inventory_hostname }}.example.net"',
    'w3 ansible_host=198.18.1.3 ansible_port=ssh',
    'w4 ansible_host=198.18.1.4 ansible_become=maybe',
    'w5 ansible_host=198.18.1.5 ansible_port=70000',
    'w6 ansible_host=198.18.1.5',
    'w7 ansible_host=198.18.1.7 ansible_user=-oProxyCommand=x'
  ].join('\n'))
  const f = await failure({ file, roleMap: ['web=app'] })
  t.equal(f.code, 'PC_ERR_INVENTORY_INVALID')
  t.strictSame(f.lines.slice(0, 4), [
    'hosts.ini:2:1: ansible_host: host "w1" has no address (the value is empty)',
    'hosts.ini:3:1: ansible_host: "{{ inventory_hostname }}.example.net" is a Jinja2 template, which portcheck cannot evaluate: write the value out',
    'hosts.ini:4:1: ansible_port: "ssh" is not a port number',
    'hosts.ini:5:1: ansible_become: expected a boolean (yes, no, true, false), got "maybe"'
  ], 'what the Ansible variables hold')
  // The rest is found by loading the result as `portcheck run` would, and said at the Ansible line.
  const second = ansible(t, 'second.ini', ['[web]', 'w5 ansible_host=198.18.1.5 ansible_port=70000', 'w7 ansible_host=198.18.1.7 ansible_user=-oProxyCommand=x'].join('\n'))
  t.strictSame((await failure({ file: second, roleMap: ['web=app'] })).lines, [
    'second.ini:2:1: ansible_port: must be a port number 1-65535 (got 70000)',
    'second.ini:3:1: ansible_user: must be a user name: letters, digits, dots, dashes, underscores and @, not starting with a dash (got "-oProxyCommand=x")'
  ])
  const third = ansible(t, 'third.ini', ['[web]', 'Bad/Name'].join('\n'))
  t.strictSame((await failure({ file: third, roleMap: ['web=app'] })).lines, [
    'third.ini:2:1: host "Bad/Name": must be a host name: letters, digits, dots, dashes and underscores (got "Bad/Name")',
    'third.ini:2:1: host "Bad/Name" (its name is its address, no ansible_host): must be an IP address or a DNS name (got "Bad/Name")'
  ])
  const fourth = ansible(t, 'fourth.ini', ['[web]', 'w5 ansible_host=198.18.1.5', 'w6 ansible_host=198.18.1.5'].join('\n'))
  t.strictSame((await failure({ file: fourth, roleMap: ['web=app'] })).lines, [
    'fourth.ini:3:1: ansible_host: address 198.18.1.5 is already host "w5" (hosts[0]): give one host several roles instead'
  ], 'and what the loader checks once the fields are well formed')
})

t.test('--role-map and the catalog: unknown groups and roles, said with what there is', async (t) => {
  const file = path.join(FIXTURES, 'chef-ha.ini')
  const cases: Array<[Partial<AnsibleImportOptions>, RegExp]> = [
    [{ roleMap: ['frontend=frontend'] }, /--role-map frontend=frontend: .*chef-ha\.ini has no group "frontend" \(groups: ungrouped, frontends, elasticsearch, postgresql, monitoring, backend\)/],
    [{ roleMap: ['frontends'] }, /--role-map "frontends": expected GROUP=ROLE \(or GROUP=ROLE,ROLE\)/],
    [{ roleMap: [] }, /--role-map GROUP=ROLE is required/],
    [{ roleMap: ['frontends=front'], catalog: 'chef-automate-ha' }, /--role-map frontends=front: catalog chef-automate-ha has no role "front" \(roles: provisioning, frontend, elasticsearch, postgresql\)/],
    [{ roleMap: ['frontends=clients'], catalog: 'chef-automate-ha' }, /role "clients" of catalog chef-automate-ha is external/]
  ]
  for (const [opts, re] of cases) {
    const f = await failure({ file, roleMap: [], ...opts })
    t.equal(f.code, 'PC_ERR_USAGE', String(opts.roleMap))
    t.match(f.message, re)
  }
  const empty = ansible(t, 'empty.ini', '[web]\nw1 ansible_host=198.18.1.1\n[spare]\n')
  const nothing = await failure({ file: empty, roleMap: ['spare=app'] })
  t.equal(nothing.code, 'PC_ERR_USAGE')
  t.match(nothing.message, /no host of .*empty\.ini is in a group of --role-map \(spare\): nothing to import/)
})

t.test('YAML form errors and warnings, with their lines', async (t) => {
  const file = ansible(t, 'hosts.yaml', [
    'all:',
    '  children:',
    '    web:',
    '      hosts: [w1, w2]',
    '    db:',
    '      host:',
    '        d1:',
    '    app:',
    '      hosts:',
    '        a1: ansible_host=198.18.1.1'
  ].join('\n'))
  const f = await failure({ file, roleMap: ['db=db'] })
  t.strictSame(f.lines, [
    'hosts.yaml:4:14: all.children.web.hosts: "hosts" of group "web" must be a mapping, not a list',
    'hosts.yaml:10:13: all.children.app.hosts.a1: the variables of host "a1" must be a mapping, not a string ("ansible_host=198.18.1.1")'
  ])
  const warned = ansible(t, 'warned.yaml', 'all:\n  children:\n    db:\n      host:\n        d1:\n      hosts:\n        d2: { ansible_host: 198.18.1.2 }\n')
  const r = await importAnsibleInventory({ file: warned, roleMap: ['db=db'] })
  t.strictSame(r.inventory.hosts, [{ name: 'd2', address: '198.18.1.2', roles: ['db'] }])
  t.ok(r.warnings.some((w) => w.line === 5 && /skipped: a group has only "hosts", "vars" and "children" \(did you mean "hosts"\?\)/.test(w.message)), 'a misspelt section is skipped, as Ansible does, and said')
})

t.test('groups that are their own children are refused', async (t) => {
  const file = ansible(t, 'loop.ini', '[a:children]\nb\n[b:children]\na\n[c]\nh1\n')
  const f = await failure({ file, roleMap: ['c=app'] })
  t.equal(f.code, 'PC_ERR_INVENTORY_INVALID')
  t.match(f.message, /its groups are their own children: (a > b > a|b > a > b)/)
})

t.test('a relative key path is made absolute, from where Ansible would read it', async (t) => {
  const file = ansible(t, 'keys.ini', '[web]\nw1 ansible_host=198.18.1.1 ansible_ssh_private_key_file=keys/web.pem\n')
  const r = await importAnsibleInventory({ file, roleMap: ['web=app'] })
  t.equal(r.inventory.ssh?.identity, path.resolve('keys/web.pem'))
})

t.test('docs/guide/ansible.md shows the fixture and what the import writes from it', async (t) => {
  const guide = readFileSync('docs/guide/ansible.md', 'utf8')
  const block = (after: string, fence: string): string => {
    const start = guide.indexOf(`${after}\n\n${fence}\n`)
    t.not(start, -1, `a ${fence} block after "${after}"`)
    const from = start + after.length + fence.length + 3
    return guide.slice(from, guide.indexOf('\n```\n', from) + 1)
  }
  const file = path.join(FIXTURES, 'chef-ha.ini')
  t.equal(block('`chef-ha.yaml` imports to the same inventory):', '```ini'), readFileSync(file, 'utf8').split('\n').slice(2).join('\n'), 'the INI shown is the fixture')
  const r = await importAnsibleInventory({ file, roleMap: CHEF_ROLES, catalog: 'chef-automate-ha' })
  t.equal(block('it writes:', '```yaml'), r.text.replaceAll(file, 'hosts.ini'), 'the inventory shown is what the import writes')
})
