import t from 'tap'
import { fitTable, paragraph, wrap, type TableColumn } from '../src/catalog/fit-table.js'
import { progressText, waitingLogLine, waitingText } from '../src/cli/run-status.js'
import { clock } from '../src/cli/status-line.js'

t.test('the waiting line names as many missing agents as fit, then how many more', async (t) => {
  const missing = ['chef-es1', 'chef-es2', 'chef-es3', 'chef-fe1', 'chef-fe2', 'chef-be1']
  t.equal(waitingText(missing, 9, 552_000, 200), '  waiting for 6 of 9 agents, 9:12 left: chef-es1, chef-es2, chef-es3, chef-fe1, chef-fe2, chef-be1 (start them with the commands above)')
  const narrow = waitingText(missing, 9, 552_000, 120)
  t.equal(narrow, '  waiting for 6 of 9 agents, 9:12 left: chef-es1, chef-es2, chef-es3, +3 more (start them with the commands above)')
  t.ok([...narrow].length <= 120)
  t.equal(waitingText([], 9, 0, 100), '  every agent joined (9/9)')
  t.equal(waitingLogLine(missing.slice(0, 2), 9, 30_000), 'portcheck: waiting for 2 of 9 agents (0:30 left): chef-es1, chef-es2; start them with the commands above\n')
  t.match(waitingLogLine(Array.from({ length: 12 }, (_, i) => `n${i}`), 12, 0), /: n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, … and 2 more; /)
})

t.test('the progress line: elapsed time, and an estimate once there is one', async (t) => {
  t.equal(progressText({ state: 'probing', done: 64, total: 66, elapsedMs: 12_400 }, 800), '  probing: 64/66 checks, 0:12 elapsed, about 0:01 left')
  t.equal(progressText({ state: 'waiting', done: 0, total: 66, elapsedMs: 0 }, null), '  starting: 0/66 checks, 0:00 elapsed')
  t.equal(clock(3_725_000), '1:02:05')
})

t.test('tables and paragraphs fit the width; nothing is cut', async (t) => {
  t.same(wrap('a bb ccc dddd', 6), ['a bb', 'ccc', 'dddd'])
  t.same(wrap('abcdefghij', 4), ['abcdefghij'], 'a long word is kept whole outside a table')
  t.same(wrap('abcdefghij', 4, { breakWords: true }), ['abcd', 'efgh', 'ij'])
  t.same(paragraph('one two three four', 12, 2, 2), ['  one two', '    three', '    four'])
  t.same(paragraph('one two three four', Infinity), ['  one two three four'])

  const columns: TableColumn[] = [{ header: 'ID' }, { header: 'NOTE', prose: { label: 'note', moveOrder: 2 } }, { header: 'REF', prose: { label: 'ref', moveOrder: 1 } }]
  const rows = [['x-1', 'a note that goes on for a while and then some more', 'section 4, table 2, row 7 of the installation guide']]
  const wide = fitTable(columns, rows, Infinity)
  t.equal(wide.length, 3, 'without a width, one line per row')
  const wrapped = fitTable(columns, rows, 70)
  t.same(wrapped.filter((l) => [...l].length > 70), [])
  t.match(wrapped[0], /^ {2}ID {3}NOTE +REF$/, 'wide enough for both prose columns, wrapped')
  t.equal(wrapped.map((l) => l.slice(7)).join(' ').replace(/\s+/g, ' ').includes('a note that goes on'), true)
  const moved = fitTable(columns, rows, 48)
  t.same(moved, [
    '  ID   NOTE',
    '  ---  -----------------------------------------',
    '  x-1  a note that goes on for a while and then',
    '       some more',
    '      ref: section 4, table 2, row 7 of the',
    '        installation guide'
  ], 'the reference moves under its row first')
  const ragged = fitTable([{ header: 'ID' }, { header: 'TARGET' }], [['a-rather-long-id', 'a-rather-long-target']], 30)
  t.same(ragged, ['  ID  TARGET', '  a-rather-long-id', '      a-rather-long-target'], 'identifiers too wide for the columns are no longer padded')
})
