/**
 * @portcheck/protocol: what the agent and the coordinator share, and nothing else.
 * No runtime dependencies, so the agent stays light.
 */
export * from './errors.js'
export * from './verdicts.js'
export * from './messages.js'
export * from './wire.js'
export * from './evidence.js'
export * from './catalog.js'
export * from './families.js'
export * from './guards.js'
