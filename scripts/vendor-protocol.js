#!/usr/bin/env node
// npm does not bundle a workspace sibling (it is a symlink hoisted to the root), so `prepack`
// copies the built @portcheck/protocol into this package's own node_modules, where
// `bundleDependencies` picks it up; `postpack` removes the copy again so development keeps
// resolving the live workspace package. Usage: vendor-protocol.js add|remove (run in a package dir).
import { cpSync, mkdirSync, rmSync, rmdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const protocolDir = resolve(here, '..', 'packages', 'protocol')
const target = join(process.cwd(), 'node_modules', '@portcheck', 'protocol')

if (process.argv[2] === 'add') {
  rmSync(target, { recursive: true, force: true })
  mkdirSync(target, { recursive: true })
  cpSync(join(protocolDir, 'package.json'), join(target, 'package.json'))
  cpSync(join(protocolDir, 'dist'), join(target, 'dist'), {
    recursive: true,
    filter: (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo')
  })
} else if (process.argv[2] === 'remove') {
  rmSync(target, { recursive: true, force: true })
  try { rmdirSync(dirname(target)) } catch { /* not empty, or gone */ }
  try { rmdirSync(dirname(dirname(target))) } catch { /* not empty, or gone */ }
} else {
  process.stderr.write('usage: vendor-protocol.js add|remove\n')
  process.exitCode = 2
}
