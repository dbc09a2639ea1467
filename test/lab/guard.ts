import { existsSync } from 'node:fs'
import type { Test } from 'tap'
import { labUnavailable } from './lab.js'

export const AGENT_BIN = 'packages/agent/bin/portcheck-agent.js'
export const CLI_BIN = 'packages/coordinator/bin/portcheck.js'

/**
 * True if the namespace lab can run here. Otherwise the test is skipped with the reason, or,
 * where PORTCHECK_REQUIRE_LAB=1 (CI), fails: CI must never skip the lab silently.
 * @param more further requirements of the test, each saying why it cannot run or null (e.g. delayUnavailable)
 */
export function labReady (t: Test, ...more: Array<() => string | null>): boolean {
  const why = labUnavailable() ?? more.reduce<string | null>((found, check) => found ?? check(), null) ?? (existsSync('packages/agent/dist/cli.js') && existsSync('packages/coordinator/dist/cli/main.js') ? null : 'the packages are not built: run `npm test` (it builds first) or `npm run build`')
  if (why === null) return true
  if (process.env.PORTCHECK_REQUIRE_LAB === '1') t.fail(`namespace lab required (PORTCHECK_REQUIRE_LAB=1) but unavailable: ${why}`)
  else t.plan(0, `namespace lab skipped: ${why}`)
  return false
}
