/**
 * Entry of the published agent bundle (dist/portcheck-agent.mjs): the programmatic API and the
 * CLI in one file, with ws and pino compiled in, so that the installed agent has no runtime
 * dependency and starts in a fraction of the memory of a tree of modules.
 */
export * from './index.js'
export { main } from './cli.js'
