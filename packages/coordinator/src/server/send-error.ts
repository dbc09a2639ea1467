import type { FastifyReply } from 'fastify'
import type { ApiErrorBody } from './api-types.js'

/** Sends the API's one error shape (docs/reference/http-api.md#errors). */
export function sendError (reply: FastifyReply, status: number, code: string, message: string, details?: string[]): FastifyReply {
  const body: ApiErrorBody = { error: { code, message, ...(details !== undefined ? { details } : {}) } }
  return reply.code(status).send(body)
}
