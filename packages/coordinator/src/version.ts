import { createRequire } from 'node:module'

/** The coordinator package's version (from src/ and from dist/ alike, the package.json is two levels up). */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version
