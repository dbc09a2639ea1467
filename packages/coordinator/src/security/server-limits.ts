import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { openFileLimit } from '@portcheck/protocol/node'
import type { RefusalLog } from './refusal-log.js'

/** Connections at once from one address, at most (agents behind one NAT count together). */
export const MAX_CONNECTIONS_PER_ADDRESS = 256
/** Descriptors kept free of client connections: files, the event loop, DNS, logs. */
const RESERVED_DESCRIPTORS = 64

/**
 * Bounds what anyone who can reach the coordinator's port can hold: connections in all, under the
 * process's descriptor limit (so EMFILE never stops it from serving), and per remote address.
 * Idle connections are already closed by the HTTP server's timeouts.
 */
export function hardenServer (server: Server, refusals: RefusalLog, perAddress = MAX_CONNECTIONS_PER_ADDRESS): void {
  server.maxConnections = Math.max(64, openFileLimit() - RESERVED_DESCRIPTORS)
  const open = new Map<string, number>()
  // TLS servers emit 'connection' for the raw socket too: the bound applies before any handshake.
  server.on('connection', (socket: Socket) => {
    const remote = socket.remoteAddress ?? ''
    const n = (open.get(remote) ?? 0) + 1
    if (n > perAddress) {
      refusals.note('connection refused: too many connections from one address', { remote, limit: perAddress })
      socket.destroy()
      return
    }
    open.set(remote, n)
    socket.once('close', () => {
      const left = (open.get(remote) ?? 1) - 1
      if (left > 0) open.set(remote, left)
      else open.delete(remote)
    })
  })
  server.on('drop', (data?: { remoteAddress?: string }) => refusals.note('connection refused: the coordinator holds as many connections as its descriptor limit allows', { remote: data?.remoteAddress, limit: server.maxConnections }))
}
