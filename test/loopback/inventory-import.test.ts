import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runCli } from '../support/run-cli.js'

// `portcheck inventory import` as an operator runs it: the Ansible inventory in, a portcheck
// inventory out, and `portcheck plan` taking it as it is.

const FIXTURES = path.resolve('packages/coordinator/test/fixtures/ansible')
const ROLES = ['--role-map', 'frontends=frontend', '--role-map', 'elasticsearch=elasticsearch', '--role-map', 'postgresql=postgresql', '--role-map', 'ungrouped=provisioning']

t.test('import, then plan: the inventory written is the one `run` loads', async (t) => {
  const dir = t.testdir()
  for (const form of ['ini', 'yaml']) {
    const out = path.join(dir, `chef-${form}.yaml`)
    const r = await runCli(['inventory', 'import', path.join(FIXTURES, `chef-ha.${form}`), '-c', 'chef-automate-ha', ...ROLES, '-o', out])
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, '')
    t.match(r.stderr, `portcheck: 9 host(s) imported from ${path.join(FIXTURES, `chef-ha.${form}`)} into ${out} (1 left out); see the checks with: portcheck plan -i ${out}`)
    t.match(r.stderr, /portcheck: warning: .*chef-ha\.(ini|yaml): left out, in no group of --role-map: chef-mon1/)
    const plan = await runCli(['plan', '-i', out, '--format', 'json'])
    t.equal(plan.code, 0, plan.stderr)
    const checks = (JSON.parse(plan.stdout) as { checks: Array<{ from: string | null, to: string | null, skip: string | null }> }).checks
    t.ok(checks.filter((c) => c.skip === null).length > 100, `${form}: the plan has the checks of nine hosts`)
  }
  t.equal(readFileSync(path.join(dir, 'chef-ini.yaml'), 'utf8').split('\n').slice(4).join('\n'), readFileSync(path.join(dir, 'chef-yaml.yaml'), 'utf8').split('\n').slice(4).join('\n'), 'both forms give the same inventory, below the header')
})

t.test('bad input: exit 2, file and line, nothing written', async (t) => {
  const dir = t.testdir()
  const bad = path.join(dir, 'hosts.ini')
  writeFileSync(bad, '[web]\nw1 ansible_host=198.18.1.1 oops\n')
  const out = path.join(dir, 'out.yaml')
  const r = await runCli(['inventory', 'import', bad, '--role-map', 'web=app', '-o', out])
  t.equal(r.code, 2)
  t.equal(r.stderr, `portcheck: PC_ERR_INVENTORY_INVALID: Ansible inventory ${bad} is invalid:\n  ${bad}:2:1: expected key=value host variable assignment after the host, got "oops"\n`)
  t.notOk(existsSync(out))

  const unknown = await runCli(['inventory', 'import', path.join(FIXTURES, 'chef-ha.ini'), '--role-map', 'web=app'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /PC_ERR_USAGE: --role-map web=app: .*chef-ha\.ini has no group "web" \(groups: ungrouped, frontends, elasticsearch, postgresql, monitoring, backend\)/)
  t.equal(unknown.stdout, '')

  const missing = await runCli(['inventory', 'import', path.join(dir, 'nope.ini'), '--role-map', 'web=app'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, `Ansible inventory ${path.join(dir, 'nope.ini')} is invalid:\n  ${path.join(dir, 'nope.ini')}: cannot read: file not found`)

  const noMap = await runCli(['inventory', 'import', path.join(FIXTURES, 'chef-ha.ini')])
  t.equal(noMap.code, 2)
  t.match(noMap.stderr, /Missing required argument: role-map/)
})
