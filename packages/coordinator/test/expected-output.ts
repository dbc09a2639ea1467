import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'

/** Where the exact outputs the report and fix tests expect are kept, one file each. */
export const EXPECTED_DIR = path.resolve('packages/coordinator/test/expected')

/**
 * Asserts that `actual` is exactly the content of `expected/<name>`. With UPDATE_EXPECTED=1 the
 * file is (re)written instead, for a person to review in the diff: a test run never changes the
 * tree otherwise.
 */
export function equalsExpected (t: Test, actual: string, name: string): void {
  const file = path.join(EXPECTED_DIR, name)
  if (process.env.UPDATE_EXPECTED === '1') {
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, actual)
    t.pass(`${name} written`)
    return
  }
  if (!existsSync(file)) { t.fail(`${name}: no expected output yet (run with UPDATE_EXPECTED=1 and review it)`); return }
  t.equal(actual, readFileSync(file, 'utf8'), `${name}: exact output`)
}
