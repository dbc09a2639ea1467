import { createRequire } from 'node:module'

/** Set by scripts/bundle-agent.js (esbuild `define`) in the bundles; absent when run from the compiled sources. */
declare const PORTCHECK_AGENT_VERSION: string | undefined

/**
 * The agent's version. The bundles carry it compiled in, since they also run as a single file
 * with no package.json beside them (`curl … | node -`, the standalone executable); the compiled
 * sources read it from the package.
 */
export const AGENT_VERSION: string = typeof PORTCHECK_AGENT_VERSION === 'string'
  ? PORTCHECK_AGENT_VERSION
  : (createRequire(import.meta.url)('../package.json') as { version: string }).version
