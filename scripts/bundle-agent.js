#!/usr/bin/env node
// Builds the published agent: one ES module, dist/portcheck-agent.mjs, holding the agent, the
// protocol, ws and pino (and its CommonJS twin for the standalone executable, see below).
// Loading one file instead of ~60 modules saves about 9 MB of RSS per agent, and the package needs no dependency at install. The licences of what is compiled in
// are written beside it (dist/THIRD-PARTY-LICENSES.txt).
import { build } from 'esbuild'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const agent = path.join(root, 'packages/agent')
const { version } = JSON.parse(readFileSync(path.join(agent, 'package.json'), 'utf8'))
/** What both bundles share: everything compiled in, the version too (see src/version.ts). */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  define: {
    PORTCHECK_AGENT_VERSION: JSON.stringify(version),
    // ws's optional native add-ons: a bundle never has them beside it, and the standalone
    // executable's require() warns on anything but a built-in module. Skip the attempt.
    'process.env.WS_NO_BUFFER_UTIL': '"1"',
    'process.env.WS_NO_UTF_8_VALIDATE': '"1"'
  },
  logLevel: 'warning'
}
const result = await build({
  ...common,
  entryPoints: [path.join(agent, 'dist/entry.js')],
  outfile: path.join(agent, 'dist/portcheck-agent.mjs'),
  format: 'esm',
  metafile: true,
  // ws and pino are CommonJS and require() Node's built-ins; give the ES module a require.
  banner: { js: "import { createRequire as __pcCreateRequire } from 'node:module'; const require = __pcCreateRequire(import.meta.url);" }
})
// The main script of the standalone executable (a Node single executable application), which
// Node 20 runs as CommonJS only, with a require() that loads built-in modules only: hence one
// CommonJS file with everything in it. Not published in the agent's package: the coordinator
// serves the executable it makes from it (packages/coordinator/src/agent-dist/).
await build({
  ...common,
  entryPoints: [path.join(agent, 'dist/sea-entry.js')],
  outfile: path.join(agent, 'dist/portcheck-agent-sea.cjs'),
  format: 'cjs',
  // version.js reads package.json through import.meta only when the version is not compiled in,
  // and it always is here: that branch is folded away.
  logOverride: { 'empty-import-meta': 'silent' }
})

const packages = new Map()
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  if (m === null || packages.has(m[1])) continue
  const dir = path.join(root, 'node_modules', m[1])
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  const licenseFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].map((f) => path.join(dir, f)).find((f) => existsSync(f))
  packages.set(m[1], `${pkg.name}@${pkg.version} (${pkg.license ?? 'see text'})\n\n${licenseFile !== undefined ? readFileSync(licenseFile, 'utf8').trim() : 'No licence file shipped.'}`)
}
const notices = [...packages.keys()].sort().map((k) => packages.get(k))
writeFileSync(path.join(agent, 'dist/THIRD-PARTY-LICENSES.txt'), `portcheck-agent bundles the following packages:\n\n${notices.join('\n\n' + '-'.repeat(72) + '\n\n')}\n`)
