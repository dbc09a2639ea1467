import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import pino from 'pino'
import { PortcheckError } from '@portcheck/protocol'
import { loadCatalogFile } from '../src/catalog/load-catalog.js'
import { cut, quote } from '../src/quote.js'
import { applyOverrides } from '../src/catalog/settings.js'
import { MAX_ALIAS_VALUES, MAX_DEPTH, MAX_FILE_BYTES, SourceFile } from '../src/catalog/source-file.js'
import { errorText } from '../src/cli/error-text.js'
import { loadInventory } from '../src/inventory/load-inventory.js'
import { buildCoordinator } from '../src/server/coordinator.js'
import { BASE_CATALOG, expectError, problemLines, writeFiles } from './helpers.js'

async function inventoryError (t: Test, inventory: string): Promise<PortcheckError> {
  const files = writeFiles(t.testdir(), { 'c.yaml': BASE_CATALOG, 'i.yaml': inventory })
  const { catalog } = await loadCatalogFile(files['c.yaml'] as string)
  return await expectError(() => loadInventory(files['i.yaml'] as string, catalog))
}

const HOST = '  - { name: app1, address: 198.18.7.11, roles: [app] }\n'

t.test('an alias bomb is refused at the alias that expands too far; reuse, loops and unknown anchors are named', async (t) => {
  let yaml = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n'
  for (let i = 1; i < 10; i++) yaml += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`
  const err = await inventoryError(t, `hosts:\n${HOST}${yaml}`)
  t.equal(err.code, 'PC_ERR_INVENTORY_INVALID')
  t.equal(err.problems.length, 1)
  // a6's first alias is where the values repeated pass MAX_ALIAS_VALUES (672,588 + 597,871).
  t.match(err.problems[0], { line: 9, column: 10, message: /^aliases expand too far: repeating their anchors adds more than 1,000,000 values by this one/ })
  t.equal(MAX_ALIAS_VALUES, 1_000_000)

  // Plain reuse, far more than yaml's own limit of 100 uses of an anchor, is fine.
  const reuse = SourceFile.parse('reuse.yaml', `base: &b { roles: [app] }\nlist:\n${Array.from({ length: 5000 }, () => '  - *b').join('\n')}\n`)
  t.same(reuse.problems, [])
  t.equal((reuse.source?.data as { list: unknown[] }).list.length, 5000)
  t.match(SourceFile.parse('loop.yaml', 'a: &a { x: [1, *a] }\n').problems, [{ line: 1, column: 16, message: 'alias *a is inside its own anchor: the data would repeat itself forever' }])
  t.match(SourceFile.parse('unknown.yaml', 'a: *b\nb: &b 1\n').problems, [{ line: 1, column: 4, message: 'alias *b has no anchor &b before it' }])
})

t.test('nesting deeper than MAX_DEPTH is refused before the document is built', async (t) => {
  t.equal(MAX_DEPTH, 64)
  const flow = SourceFile.parse('deep.yaml', `hosts: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)
  t.match(flow.problems, [{ file: 'deep.yaml', line: 1, column: 7 + MAX_DEPTH, message: 'nested deeper than 64 levels of maps and lists' }])
  const block = SourceFile.parse('deep.yaml', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' x\n')
  t.match(block.problems, [{ line: MAX_DEPTH + 1, message: /^nested deeper than 64 levels/ }])
  const atLimit = SourceFile.parse('ok.yaml', `v: ${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}\n`)
  t.same(atLimit.problems, [], '64 levels in all are fine')
})

t.test('a file over MAX_FILE_BYTES is refused from its size, a device as soon as it sends more', async (t) => {
  t.equal(MAX_FILE_BYTES, 4 * 1024 * 1024)
  const file = path.join(t.testdir(), 'big.yaml')
  writeFileSync(file, `hosts:\n${' '.repeat(MAX_FILE_BYTES)}\n`)
  const big = await SourceFile.read(file)
  t.equal(big.source, null)
  t.match(big.problems, [{ file, message: 'too large (4,194,312 bytes): a catalog or inventory may have at most 4,194,304 bytes (4 MiB)' }])
  const device = await SourceFile.read('/dev/zero')
  t.match(device.problems, [{ file: '/dev/zero', message: /^too large: a catalog or inventory may have at most 4,194,304 bytes/ }])
  const dir = await SourceFile.read(t.testdir())
  t.match(dir.problems, [{ message: 'cannot read: is a directory' }])
})

t.test('a huge value or key is quoted cut to 200 characters, with its length', async (t) => {
  const value = await inventoryError(t, `hosts:\n  - { name: "${'h'.repeat(1_000_000)}", address: 198.18.7.11, roles: [app] }\n`)
  t.equal(value.code, 'PC_ERR_INVENTORY_INVALID')
  t.same(problemLines(value.problems), [`hosts[0].name: must be a host name: letters, digits, dots, dashes and underscores (got "${'h'.repeat(200)}…" (1,000,000 characters))`])
  t.ok(value.message.length < 700, `the whole message is short (${value.message.length} characters)`)

  // An explicit key (`? key`): YAML allows 1,024 characters for a plain one.
  const key = await inventoryError(t, `hosts:\n${HOST}settings:\n  ? ${'k'.repeat(5000)}\n  : 1\n`)
  t.match(problemLines(key.problems), [`settings.${'k'.repeat(200)}… (5,000 characters): unknown setting "${'k'.repeat(200)}…" (5,000 characters) for catalog example`])
})

t.test('quote and cut', async (t) => {
  t.equal(quote('app'), '"app"')
  t.equal(quote('a"b\nc'), '"a\\"b\\nc"', 'a quote or a newline cannot break the line')
  t.equal(quote('x'.repeat(201)), `"${'x'.repeat(200)}…" (201 characters)`)
  t.equal(quote('x'.repeat(199) + '😀'), `"${'x'.repeat(199)}…" (201 characters)`, 'never half a surrogate pair')
  t.equal(cut('y'.repeat(300), 10), 'yyyyyyyyyy… (300 characters)')
  t.equal(cut('short'), 'short')
})

t.test('a run request\'s settings: huge names and values cut, a plan too big refused', async (t) => {
  const dir = t.testdir()
  const files = writeFiles(dir, {
    'c.yaml': 'id: s\ntitle: S\nroles:\n  a: { title: A }\n  b: { title: B }\nsettings:\n  mode: { type: string, enum: [one, two], default: one, description: mode }\nflows:\n  - { id: ALL, from: a, to: b, tcp: ["1-65535"], purpose: everything }\n'
  })
  const catalog = await loadCatalogFile(files['c.yaml'] as string)
  const hosts = [...Array.from({ length: 8 }, (_, i) => ({ name: `a${i}`, address: `198.18.1.${i + 1}`, roles: ['a'] })), ...Array.from({ length: 9 }, (_, i) => ({ name: `b${i}`, address: `198.18.2.${i + 1}`, roles: ['b'] }))]
  const err = t.throws(() => applyOverrides(catalog.catalog, hosts, { mode: 'one' }, { mode: 'z'.repeat(100_000), ['n'.repeat(100_000)]: 1 })) as PortcheckError
  t.equal(err.code, 'PC_ERR_SETTING_INVALID')
  t.match(problemLines(err.problems), [
    `mode: "${'z'.repeat(200)}…" (100,000 characters) is not a value of setting "mode" (one, two)`,
    `${'n'.repeat(200)}… (100,000 characters): unknown setting "${'n'.repeat(200)}…" (100,000 characters) for catalog s`
  ])

  const c = await buildCoordinator({ catalog, hosts, settings: { mode: 'one' }, token: 'tok', logger: pino({ level: 'silent' }) })
  t.teardown(() => c.close())
  const auth = { authorization: 'Bearer tok' }
  const bad = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { settings: { mode: 'z'.repeat(100_000) } }, headers: auth })
  t.equal(bad.statusCode, 400)
  t.ok(bad.body.length < 1000, `the answer is short (${bad.body.length} bytes)`)
  const big = await c.app.inject({ method: 'POST', url: '/api/runs', payload: { settings: { mode: 'two' } }, headers: auth })
  t.match({ status: big.statusCode, body: big.json() }, { status: 400, body: { error: { code: 'PC_ERR_CATALOG_INVALID', message: /up to 4,718,520 checks, more than the 1,000,000/ } } })
})

t.test('every thrown value prints as `portcheck: CODE: message`, without a stack', async (t) => {
  t.equal(errorText(new PortcheckError('PC_ERR_INVENTORY_INVALID', 'inventory x is invalid:\n  x: bad')), 'portcheck: PC_ERR_INVENTORY_INVALID: inventory x is invalid:\n  x: bad\n')
  t.equal(errorText(new PortcheckError('PC_ERR_USAGE', 'no')), 'portcheck: PC_ERR_USAGE: no\nRun `portcheck --help` for usage.\n')
  const denied = Object.assign(new Error("EACCES: permission denied, open '/root/report.json'"), { code: 'EACCES', syscall: 'open' })
  t.equal(errorText(denied), "portcheck: EACCES: permission denied, open '/root/report.json'\n")
  const bug = errorText(new RangeError('Invalid string length'))
  t.match(bug, /^portcheck: PC_ERR_INTERNAL: RangeError: Invalid string length \(at [^)]+:\d+:\d+\)\nThis is a bug in portcheck/)
  t.notMatch(bug, /\n\s+at /, 'no stack trace')
  t.match(errorText('a string'), /^portcheck: PC_ERR_INTERNAL: a string\n/)
  const long = errorText(new PortcheckError('PC_ERR_CATALOG_INVALID', 'x'.repeat(50_000) + '\n' + Array(500).fill('  line').join('\n')))
  t.ok(long.length < 4000, 'a message no quote cut is still bounded')
  t.match(long, /… \(50,000 characters\)/)
  t.match(long, /… 381 more lines/)
})
