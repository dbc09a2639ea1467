#!/usr/bin/env node
// Puts the agent the coordinator serves (GET /agent/…) where the coordinator finds it, installed
// or not: packages/coordinator/dist/agent-files/. Run by `npm run build` after bundle-agent.js.
//   portcheck-agent.tgz      the agent's npm package, made by `npm pack` (exactly what would be
//                            published; scripts are skipped, the bundle is built already)
//   portcheck-agent.mjs      the single-file bundle (the same file the package holds)
//   portcheck-agent-sea.cjs  the CommonJS bundle the coordinator makes the standalone executable of
//   manifest.json            the agent's version and each file's size and SHA-256
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const agent = path.join(root, 'packages/agent')
const target = path.join(root, 'packages/coordinator/dist/agent-files')
const { version } = JSON.parse(readFileSync(path.join(agent, 'package.json'), 'utf8'))

mkdirSync(target, { recursive: true })
const scratch = mkdtempSync(path.join(target, '.pack-'))
try {
  // npm pack decides what goes in (the `files` whitelist, package.json, licence) as publishing does.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  // Run under `npm pack --dry-run` of the coordinator (its prepack builds), this one must still write.
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--dry-run=false', '--pack-destination', scratch], { cwd: agent, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const [{ filename }] = JSON.parse(out)
  renameSync(path.join(scratch, filename), path.join(target, 'portcheck-agent.tgz'))
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
copyFileSync(path.join(agent, 'dist/portcheck-agent.mjs'), path.join(target, 'portcheck-agent.mjs'))
copyFileSync(path.join(agent, 'dist/portcheck-agent-sea.cjs'), path.join(target, 'portcheck-agent-sea.cjs'))

const files = {}
for (const name of ['portcheck-agent.tgz', 'portcheck-agent.mjs', 'portcheck-agent-sea.cjs']) {
  const body = readFileSync(path.join(target, name))
  files[name] = { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }
}
writeFileSync(path.join(target, 'manifest.json'), JSON.stringify({ version, files }, null, 2) + '\n')
