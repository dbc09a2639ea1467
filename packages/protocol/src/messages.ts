/**
 * The control-channel protocol between agents and the coordinator: JSON text frames over
 * one WebSocket that the agent opens to the coordinator. docs/reference/protocol.md walks
 * through a run message by message.
 *
 * Every frame is validated on arrival by {@link parseAgentMessage} or
 * {@link parseCoordinatorMessage}; anything malformed, unknown or oversized closes the
 * connection instead of being trusted.
 */
export * from './limits.js'
export * from './message-error.js'
export * from './agent-messages.js'
export * from './coordinator-messages.js'
export * from './nft-messages.js'
