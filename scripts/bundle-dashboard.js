#!/usr/bin/env node
// Builds the dashboard the coordinator serves, in packages/coordinator/dist/dashboard/: app.js,
// the TypeScript of dashboard/src/ bundled into one ES module with what it uses of
// @portcheck/protocol; style.css, dashboard/styles/ bundled in the order dashboard/style.css
// imports them; and the page and its icon, copied. `tsc -b` type-checks the sources first
// (dashboard/tsconfig.json); esbuild only strips the types. Two files with no inline code keep
// the page's strict CSP.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const source = path.join(root, 'packages/coordinator/dashboard')
const out = path.join(root, 'packages/coordinator/dist/dashboard')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
for (const file of ['index.html', 'favicon.svg']) copyFileSync(path.join(source, file), path.join(out, file))

await build({
  entryPoints: [{ in: path.join(source, 'src/main.ts'), out: 'app' }, { in: path.join(source, 'style.css'), out: 'style' }],
  outdir: out,
  tsconfig: path.join(source, 'tsconfig.json'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  // What the Chromium of a current Debian stable runs; the sources use nothing newer.
  target: 'es2022',
  minify: true,
  // Served beside app.js and style.css, so the browser's developer tools show the sources.
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning'
})
