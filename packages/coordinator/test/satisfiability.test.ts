import { spawn } from 'node:child_process'
import t from 'tap'
import type { Catalog, Condition, SettingDef } from '@portcheck/protocol'
import { evaluate } from '../src/catalog/conditions.js'
import { formatCatalogShow } from '../src/catalog/format-catalog.js'
import { checkCatalogFile, listCatalogFiles } from '../src/catalog/load-catalog.js'
import { neverApplyingFlows, satisfiability } from '../src/catalog/satisfiability.js'
import { catalogRows } from '../src/plan/expand.js'
import { writeFiles } from './helpers.js'

const DEFS: Record<string, SettingDef> = {
  topology: { type: 'string', enum: ['single', 'ha'], default: 'single', description: 'd' },
  monitor: { type: 'string', enum: ['none', 'single', 'ha'], default: 'none', description: 'd' },
  esb: { type: 'boolean', default: false, description: 'd' },
  name: { type: 'string', default: 'x', description: 'd' },
  level: { type: 'number', default: 1, description: 'd' },
  port: { type: 'port', description: 'd' },
  version: { type: 'version', default: '4.7', description: 'd' }
}
const verdict = (cond: Condition): string => satisfiability(cond, DEFS).result

t.test('enums and booleans: every assignment is tried', async (t) => {
  t.equal(verdict({ all: [{ topology: 'single' }, { topology: 'ha' }] }), 'unsatisfiable', 'x = a and x = b')
  t.equal(verdict({ topology: 'single', all: [{ topology: ['ha'] }] }), 'unsatisfiable', 'a value and a list')
  t.equal(verdict({ topology: { ne: 'single', in: ['single'] } }), 'unsatisfiable', 'operators of one setting')
  t.equal(verdict({ esb: true, not: { esb: true } }), 'unsatisfiable')
  t.equal(verdict({ monitor: { ne: 'none' }, all: [{ not: { monitor: 'single' } }, { not: { monitor: 'ha' } }] }), 'unsatisfiable', 'excluded one value at a time')
  t.equal(verdict({ any: [{ topology: 'single', esb: true }, { topology: 'ha', esb: false }], all: [{ esb: true }, { topology: 'ha' }] }), 'unsatisfiable', 'across two settings')
  t.equal(verdict({ topology: 'ha', monitor: 'ha' }), 'satisfiable', 'two settings, each once')
  t.equal(verdict({ any: [{ topology: 'single' }, { topology: 'ha' }] }), 'satisfiable')
  const s = satisfiability({ any: [{ topology: 'single', esb: true }, { monitor: 'ha' }], not: { monitor: 'ha' } }, DEFS)
  t.equal(s.result, 'satisfiable')
  if (s.result === 'satisfiable') t.ok(evaluate({ any: [{ topology: 'single', esb: true }, { monitor: 'ha' }], not: { monitor: 'ha' } }, s.witness, DEFS), 'the witness meets the condition')
  t.same(satisfiability(undefined, DEFS), { result: 'satisfiable', witness: {} }, 'no condition')
})

t.test('free-form settings: the constants and the gaps between them stand for every value', async (t) => {
  t.equal(verdict({ name: 'a', all: [{ name: 'b' }] }), 'unsatisfiable', 'a string equal to two values')
  t.equal(verdict({ name: { ne: 'a' }, not: { name: 'b' } }), 'satisfiable', 'some other string')
  t.equal(verdict({ level: { gt: 1, lt: 2 } }), 'satisfiable', 'a number between 1 and 2')
  t.equal(verdict({ level: { gt: 2, lt: 1 } }), 'unsatisfiable')
  t.equal(verdict({ port: { gt: 5, lt: 6 } }), 'unsatisfiable', 'no port between 5 and 6')
  t.equal(verdict({ port: { gt: 5, lt: 7 } }), 'satisfiable', 'port 6')
  t.equal(verdict({ port: { lt: 1 } }), 'unsatisfiable', 'ports start at 1')
  t.equal(verdict({ not: { port: { ge: 1 } } }), 'satisfiable', 'a port setting without default may be unset')
  t.equal(verdict({ version: { ge: '4.6.2', lt: '4.7' } }), 'satisfiable', '4.6.2 to 4.7')
  t.equal(verdict({ version: { gt: '4.6.2', lt: '4.6.3' } }), 'satisfiable', 'something like 4.6.2.1')
  t.equal(verdict({ version: { gt: '4.6', lt: '4.6.0.0' } }), 'unsatisfiable', '4.6 = 4.6.0.0: nothing in between')
  t.equal(verdict({ version: { ge: '5', lt: '4.10' } }), 'unsatisfiable')
  t.equal(verdict({ version: { eq: '4.7', ne: '4.7.0' } }), 'unsatisfiable', 'versions compare part by part')
  t.equal(verdict({ version: { gt: '4.10' } }), 'satisfiable', 'above every constant')
})

t.test('beyond the bound, only a setting that contradicts itself is reported', async (t) => {
  const cond: Condition = { topology: 'ha', monitor: 'ha', esb: true }
  t.equal(satisfiability({ all: [cond, { topology: 'single' }] }, DEFS, 4).result, 'unsatisfiable', '12 assignments, bound 4: topology alone is contradictory')
  t.equal(satisfiability({ any: [{ all: [cond, { topology: 'single' }] }] }, DEFS, 4).result, 'unknown', 'the contradiction under any is not searched for')
  t.equal(satisfiability(cond, DEFS, 4).result, 'unknown', 'no contradiction, too many to try')
  t.equal(satisfiability({ all: [cond, { topology: 'single' }] }, DEFS).result, 'unsatisfiable', 'within the default bound')
})

const CATALOG: Catalog = {
  id: 'x',
  title: 'X',
  roles: {
    app: { title: 'App', when: { topology: 'single' } },
    node: { title: 'HA node', when: { topology: 'ha' } },
    lb: { title: 'LB', when: { topology: 'ha' } },
    mon: { title: 'Monitor', when: { monitor: ['single', 'ha'] } }
  },
  settings: { topology: DEFS.topology as SettingDef, monitor: DEFS.monitor as SettingDef, esb: DEFS.esb as SettingDef },
  flows: [
    { id: 'OK', from: 'lb', to: 'node', tcp: [443], purpose: 'p' },
    { id: 'MIXED', from: 'lb', to: 'app', tcp: [443], purpose: 'p' },
    { id: 'OWN', from: 'app', to: 'mon', tcp: [443], purpose: 'p', when: { monitor: 'none' } },
    { id: 'MARKED', from: 'app', to: 'lb', tcp: [443], purpose: 'p', note: 'Never applies: the single alternative of the row.' },
    { id: 'STALE', from: 'node', to: 'lb', tcp: [443], purpose: 'p', note: 'Never applies: wrongly.' },
    { id: 'MESH', from: 'node', to: 'node', tcp: [7788], purpose: 'p', when: { esb: true } }
  ]
}

t.test('a flow never applies when its condition and its roles\' cannot hold together', async (t) => {
  t.same(neverApplyingFlows(CATALOG), [
    { index: 1, flowId: 'MIXED', condition: 'topology = ha (role lb) and topology = single (role app)', kind: 'never' },
    { index: 2, flowId: 'OWN', condition: 'monitor = none (its when) and topology = single (role app) and monitor in [single, ha] (role mon)', kind: 'never' },
    { index: 4, flowId: 'STALE', condition: 'topology = ha (role node) and topology = ha (role lb)', kind: 'stale-mark', witness: { topology: 'ha' } }
  ], 'MARKED is silenced by its note; OK and MESH can apply')
})

t.test('catalog show --all tells a marked flow from one that is merely off', async (t) => {
  const text = formatCatalogShow(CATALOG, { topology: 'single', monitor: 'none', esb: false }, catalogRows(CATALOG, { topology: 'single', monitor: 'none', esb: false }, { all: true }))
  const line = (id: string): string => text.split('\n').find((l) => l.trimStart().startsWith(id + ' ')) ?? ''
  t.match(line('MARKED'), /\[off: never applies\]/)
  t.match(line('MIXED'), /\[off\]/)
  t.notMatch(line('MIXED'), /never/)
})

t.test('validate prints each flow that can never apply, with its condition, and exits 0', async (t) => {
  const dir = t.testdir()
  const { 'c.yaml': file } = writeFiles(dir, {
    'c.yaml': `id: x
title: X
roles:
  app: { title: App, when: { topology: single } }
  lb: { title: LB, when: { topology: ha } }
settings:
  topology: { type: string, enum: [single, ha], default: single, description: d }
flows:
  - { id: OK, from: app, to: app, tcp: [1], purpose: p }
  - id: MIXED
    from: lb
    to: app
    tcp: [443]
    purpose: p
  - { id: MARKED, from: app, to: lb, tcp: [443], purpose: p, note: "Never applies: kept to transcribe the row whole." }
  - { id: STALE, from: lb, to: lb, tcp: [443], purpose: p, note: "Never applies: wrong." }
`
  }) as { 'c.yaml': string }
  const { warnings } = await checkCatalogFile(file)
  t.same(warnings.map((w) => `${w.line ?? 0}:${w.column ?? 0}: ${w.path}`), ['10:5: flows[1]', '16:66: flows[3].note'])

  const r = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    const child = spawn(process.execPath, ['packages/coordinator/bin/portcheck.js', 'catalog', 'validate', file], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.on('close', (code) => resolve({ code, stdout }))
  })
  t.equal(r.code, 0, 'a warning is not an error')
  t.equal(r.stdout, [
    `${file}: valid catalog "x" (2 roles, 4 flows), 2 warnings:`,
    `  ${file}:10:5: flows[1]: flow MIXED can never apply: no values of the settings meet topology = ha (role lb) and topology = single (role app). Fix the flow, or start its note with "Never applies:" and say why it is kept`,
    `  ${file}:16:66: flows[3].note: flow STALE is marked "Never applies:" but applies when topology = ha (role lb), e.g. with topology=ha: correct the note or the flow`,
    ''
  ].join('\n'))
})

t.test('the built-in catalogs validate without warnings', async (t) => {
  for (const file of await listCatalogFiles()) {
    const { catalog, warnings } = await checkCatalogFile(file)
    t.same(warnings, [], catalog.id)
  }
})
