import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Test } from 'tap'

/** Debian's promtool (package `prometheus`): the reference checker of metrics, rules and configs. */
export const PROMTOOL = '/usr/bin/promtool'

/**
 * True if promtool is there. Otherwise the check is left out with a comment saying why, or, where
 * PORTCHECK_REQUIRE_PROMTOOL=1 (CI), fails: what promtool would refuse must never pass unseen.
 */
export function havePromtool (t: Test): boolean {
  if (existsSync(PROMTOOL)) return true
  const why = `promtool is not installed at ${PROMTOOL} (Debian package \`prometheus\`)`
  if (process.env.PORTCHECK_REQUIRE_PROMTOOL === '1') t.fail(`promtool required (PORTCHECK_REQUIRE_PROMTOOL=1) but unavailable: ${why}`)
  else t.comment(`promtool check left out: ${why}`)
  return false
}

/** Runs promtool with `args`, `input` on its stdin; resolves with its exit code and output. */
export async function promtool (args: string[], input = ''): Promise<{ code: number | null, out: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.once('error', reject)
    child.on('close', (code) => resolve({ code, out }))
    child.stdin.end(input)
  })
}
