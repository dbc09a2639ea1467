/**
 * portcheck-agent: the node-side daemon of portcheck. See {@link startAgent}.
 */
export { startAgent, type Agent, type AgentOptions } from './agent.js'
export { tcpProbe } from './probes/tcp-probe.js'
export { udpProbe } from './probes/udp-probe.js'
