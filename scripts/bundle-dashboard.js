#!/usr/bin/env node
// Builds the dashboard the coordinator serves: packages/coordinator/dist/dashboard/ holds the
// page, its style and icon (copied from packages/coordinator/dashboard/) and app.js, the
// TypeScript of dashboard/src/ bundled into one ES module with what it uses of
// @portcheck/protocol. `tsc -b` type-checks those sources first (dashboard/tsconfig.json);
// esbuild only strips the types. One file with no inline code keeps the page's strict CSP.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const source = path.join(root, 'packages/coordinator/dashboard')
const out = path.join(root, 'packages/coordinator/dist/dashboard')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
for (const file of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(path.join(source, file), path.join(out, file))

await build({
  entryPoints: [path.join(source, 'src/main.ts')],
  outfile: path.join(out, 'app.js'),
  tsconfig: path.join(source, 'tsconfig.json'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  // What the Chromium of a current Debian stable runs; the sources use nothing newer.
  target: 'es2022',
  minify: true,
  // Served beside app.js, so the browser's developer tools show the TypeScript.
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning'
})
