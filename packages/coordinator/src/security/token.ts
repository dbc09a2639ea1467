import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A fresh join token: 24 random bytes, base64url (32 characters). */
export function generateToken (): string {
  return randomBytes(24).toString('base64url')
}

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first
 * so that neither their contents nor their lengths leak through timing.
 */
export function tokenMatches (presented: string | undefined, expected: string): boolean {
  if (presented === undefined || expected.length === 0) return false
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The bearer token of a request (`Authorization: Bearer T`), if any. */
export function bearerToken (req: IncomingMessage): string | undefined {
  const h = req.headers.authorization
  if (typeof h !== 'string') return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
  return m?.[1]
}
