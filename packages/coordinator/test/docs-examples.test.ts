import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { EXPECTED_DIR } from './expected-output.js'

// The guide shows each output of `portcheck fix`, `diff` and `run --format markdown` on the
// test suite's report. Each example follows a `<!-- expected: FILE -->` marker: it must be
// that expected output, so that the guide never shows what the code no longer writes.
const GUIDE = 'docs/guide/fixing-blocked-flows.md'

t.test(`the examples of ${GUIDE} are the outputs the tests expect`, async (t) => {
  const lines = readFileSync(GUIDE, 'utf8').split('\n')
  let seen = 0
  for (let i = 0; i < lines.length; i++) {
    const name = /^<!-- expected: (\S+) -->$/.exec(lines[i] ?? '')?.[1]
    if (name === undefined) continue
    const fence = /^(`{3,})/.exec(lines[i + 1] ?? '')?.[1]
    if (fence === undefined) { t.fail(`${GUIDE}:${i + 2}: a code block must follow the marker of ${name}`); continue }
    const end = lines.findIndex((l, j) => j > i + 1 && l === fence)
    const shown = lines.slice(i + 2, end).join('\n') + '\n'
    t.equal(shown, readFileSync(path.join(EXPECTED_DIR, name), 'utf8').replace(/\r\n/g, '\n'), `${GUIDE}:${i + 1}: ${name}`)
    seen++
  }
  t.ok(seen >= 10, `${seen} examples checked`)
})
