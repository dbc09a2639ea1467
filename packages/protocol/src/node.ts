/**
 * @portcheck/protocol/node: what the agent and the coordinator share that needs Node.js itself
 * (the main entry stays free of Node modules: the dashboard's browser code imports it too): the
 * file-descriptor limit and the human log format.
 */
export * from './fd-limit.js'
export * from './pretty-log.js'
export * from './tail-nudge.js'
export * from './loopback.js'
