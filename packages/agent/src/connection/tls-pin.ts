import { createHash } from 'node:crypto'
import type { TLSSocket } from 'node:tls'

/**
 * The pin of the certificate a TLS connection's peer presented (the SHA-256 of its public key,
 * DER SubjectPublicKeyInfo), or null if it presented none.
 */
export function peerPin (socket: TLSSocket): string | null {
  const cert = socket.getPeerX509Certificate()
  if (cert === undefined) return null
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' })
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`
}
