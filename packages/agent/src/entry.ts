/**
 * Entry of the published agent bundle (dist/portcheck-agent.mjs): the programmatic API and the
 * CLI in one file, with ws and pino compiled in, so that the installed agent has no runtime
 * dependency and starts in a fraction of the memory of a tree of modules.
 *
 * The bundle is also a program: run as `node portcheck-agent.mjs …`, or piped in as the join
 * command does it (`curl … | node --input-type=module - …`), it runs the CLI. Imported (by
 * bin/portcheck-agent.js, or as a library), it only exports.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { main } from './cli.js'

export * from './index.js'
export { main }

/** True if this module is the program node was asked to run: the file named on its command line, or the code it read from stdin. */
function isProgram (): boolean {
  // Node names code read from stdin (or --eval) `[eval1]` in the current directory.
  if (/\/\[eval\d*\]$/.test(import.meta.url)) return true
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (isProgram()) {
  void main(process.argv.slice(2)).then((code) => { process.exitCode = code })
}
