import t, { type Test } from 'tap'
import { loadCatalog, loadCatalogFile } from '../src/catalog/load-catalog.js'
import { BASE_CATALOG, expectError, problemLines, writeFiles } from './helpers.js'

async function catalogProblems (t: Test, yaml: string): Promise<{ code: string, lines: string[], problems: Array<{ file: string, line?: number }>, message: string }> {
  const dir = t.testdir()
  const { 'c.yaml': file } = writeFiles(dir, { 'c.yaml': yaml })
  const err = await expectError(() => loadCatalogFile(file as string))
  return { code: err.code, lines: problemLines(err.problems), problems: err.problems, message: err.message }
}

t.test('a valid catalog loads', async (t) => {
  const dir = t.testdir()
  const { 'c.yaml': file } = writeFiles(dir, { 'c.yaml': BASE_CATALOG })
  const { catalog } = await loadCatalogFile(file as string)
  t.equal(catalog.id, 'example')
  t.equal(catalog.flows.length, 2)
})

t.test('an unknown role in a flow names the flow, the field and the known roles', async (t) => {
  const r = await catalogProblems(t, BASE_CATALOG.replace('to: db', 'to: database'))
  t.equal(r.code, 'PC_ERR_CATALOG_INVALID')
  t.same(r.lines, ['flows[0].to: unknown role "database" (roles: app, db, users)'])
  t.match(r.message, /c\.yaml:14:9: flows\[0\]\.to: unknown role "database"/, 'message carries file:line:col')
})

t.test('a port outside 1-65535 is refused', async (t) => {
  for (const bad of ['70000', '0', '-1', '5432.5']) {
    const r = await catalogProblems(t, BASE_CATALOG.replace('tcp: [5432, 6432]', `tcp: [5432, ${bad}]`))
    t.same(r.lines, [`flows[0].tcp[1]: must be a port number 1-65535, a range "low-high", or { setting: NAME } (got ${bad === '-1' ? '-1' : bad})`], `port ${bad}`)
  }
  const range = await catalogProblems(t, BASE_CATALOG.replace('tcp: [5432, 6432]', 'tcp: ["30000-70000"]'))
  t.same(range.lines, ['flows[0].tcp[0]: port range "30000-70000" must stay within 1-65535'])
  const backwards = await catalogProblems(t, BASE_CATALOG.replace('tcp: [5432, 6432]', 'tcp: ["32767-30000"]'))
  t.same(backwards.lines, ['flows[0].tcp[0]: port range "32767-30000" runs backwards: write "30000-32767"'])
})

t.test('an unknown protocol is refused', async (t) => {
  const r = await catalogProblems(t, BASE_CATALOG.replace('tcp: [5432, 6432]', 'sctp: [5432]'))
  t.same(r.lines, [
    'flows[0]: must list its ports under tcp, udp or both',
    'flows[0].sctp: unknown protocol or field "sctp": ports go under tcp or udp; the other fields are id, from, to, purpose, optional, when, ref and note'
  ])
})

t.test('duplicate flow ids, duplicate ports and a flow between two external roles', async (t) => {
  const yaml = BASE_CATALOG.replace('id: EX-02', 'id: EX-01').replace('tcp: [5432, 6432]', 'tcp: [5432, 5432]') +
    '  - { id: EX-03, from: users, to: users, tcp: [80], purpose: nonsense }\n'
  const r = await catalogProblems(t, yaml)
  t.same(r.lines, [
    'flows[0].tcp[1]: port listed twice (also tcp[0])',
    'flows[1].id: duplicate flow id "EX-01" (also flows[0])',
    'flows[2]: both ends ("users" and "users") are external roles: no agent could ever check it'
  ])
})

t.test('conditions must name declared settings with values of their type', async (t) => {
  const yaml = BASE_CATALOG.replace('    purpose: Application to database\n', '    purpose: Application to database\n    when: { ha: yes-please, version: { lt: "x.y" }, esb: true }\n')
  const r = await catalogProblems(t, yaml)
  t.same(r.lines, [
    'flows[0].when.ha: setting "ha" is a boolean: compare it with true or false',
    'flows[0].when.version.lt: setting "version" is a version like 4.7 or 4.6.2',
    'flows[0].when.esb: unknown setting "esb" (declared: ha, version, tunnel-port)'
  ])
})

t.test('port references must name a port setting', async (t) => {
  const r = await catalogProblems(t, BASE_CATALOG.replace('tcp: [5432, 6432]', 'udp: [{ setting: ha }, { setting: nope }]'))
  t.same(r.lines, [
    'flows[0].udp[0].setting: setting "ha" is a boolean, not a port',
    'flows[0].udp[1].setting: unknown setting "nope" (declared: ha, version, tunnel-port)'
  ])
})

t.test('missing fields, unknown fields and bad ids', async (t) => {
  const r = await catalogProblems(t, BASE_CATALOG.replace('    purpose: Users to the UI\n', '    purpse: Users to the UI\n').replace('id: example', 'id: Example_1'))
  t.same(r.lines, [
    'id: must be a lower-case id: letters, digits and dashes (got "Example_1")',
    'flows[1].purpose: is required',
    'flows[1].purpse: unknown protocol or field "purpse": ports go under tcp or udp; the other fields are id, from, to, purpose, optional, when, ref and note'
  ])
})

t.test('versions must be quoted, names must fit', async (t) => {
  const r = await catalogProblems(t, BASE_CATALOG.replace('default: "4.7"', 'default: 4.10').replace('  ha: {', '  Bad_Name: { type: boolean, default: true, description: x }\n  ha: {'))
  t.same(r.lines, [
    'settings.Bad_Name: is not a valid name: it must be a lower-case setting name (letters, digits, dashes), other than any, all or not'
  ])
  const v = await catalogProblems(t, BASE_CATALOG.replace('default: "4.7"', 'default: 4.10'))
  t.same(v.lines, ['settings.version.default: default does not fit: setting "version" is a version: write it in quotes ("4.1"), or YAML turns 4.10 into 4.1'])
})

t.test('YAML syntax errors carry their line', async (t) => {
  const r = await catalogProblems(t, 'id: x\ntitle: [unclosed\nroles: {}\n')
  t.equal(r.code, 'PC_ERR_CATALOG_INVALID')
  t.match(r.lines[0], /invalid YAML/)
  t.ok(typeof r.problems[0]?.line === 'number', 'line reported')
})

t.test('an unreadable catalog names the file', async (t) => {
  const err = await expectError(() => loadCatalogFile('/nonexistent/catalog.yaml'))
  t.equal(err.code, 'PC_ERR_CATALOG_INVALID')
  t.match(err.message, '/nonexistent/catalog.yaml: cannot read: file not found')
})

t.test('--catalog with an unknown id lists the built-ins', async (t) => {
  const err = await expectError(() => loadCatalog('no-such-product'))
  t.equal(err.code, 'PC_ERR_CATALOG_NOT_FOUND')
  t.match(err.message, /no built-in catalog "no-such-product"/)
})
