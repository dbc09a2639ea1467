#!/usr/bin/env node
// prepack of the `portcheck` package: ships the repository's catalogs/ (the built-in catalogs
// and schema.json) inside the package, where the coordinator looks for them once installed.
// postpack (`copy-catalogs.js remove`) deletes the copy again: left behind, it would shadow the
// repository's catalogs during development.
import { cpSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const source = resolve(here, '..', 'catalogs')
const target = join(process.cwd(), 'catalogs')
rmSync(target, { recursive: true, force: true })
if (process.argv[2] !== 'remove') cpSync(source, target, { recursive: true, filter: (src) => src === source || src.endsWith('.yaml') || src.endsWith('.json') })
