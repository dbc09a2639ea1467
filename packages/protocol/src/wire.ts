/**
 * The probe protocol spoken on the data ports (the ones being checked), as opposed to the
 * control channel. It is deliberately tiny so a listener can answer nothing else:
 *
 *   source -> target   `PCHK1 <nonce>\n`   (one TCP write, or one UDP datagram; the newline is optional there)
 *   target -> source   `PCOK1 <nonce>\n`   (the acknowledgement; proof travels over the control channel)
 */
import { NONCE_RE } from './messages.js'

const PROBE_PREFIX = 'PCHK1 '
const ACK_PREFIX = 'PCOK1 '

/** A listener reads at most this many bytes before deciding; longer input is not ours. */
export const MAX_PROBE_BYTES = 128

/** How long a TCP listener waits for the probe line after accepting, in ms. */
export const PROBE_READ_TIMEOUT_MS = 5000

/** The bytes a source sends on a data port. */
export function encodeProbe (nonce: string): Buffer {
  return Buffer.from(`${PROBE_PREFIX}${nonce}\n`, 'latin1')
}

/** The bytes a listener answers with. */
export function encodeAck (nonce: string): Buffer {
  return Buffer.from(`${ACK_PREFIX}${nonce}\n`, 'latin1')
}

function parseLine (buf: Buffer, prefix: string): string | null {
  if (buf.length > MAX_PROBE_BYTES) return null
  let text = buf.toString('latin1')
  if (text.endsWith('\n')) text = text.slice(0, -1)
  if (!text.startsWith(prefix)) return null
  const nonce = text.slice(prefix.length)
  return NONCE_RE.test(nonce) ? nonce : null
}

/** Returns the nonce of a complete probe (with or without the trailing newline), or null if it is not one. */
export function parseProbe (buf: Buffer): string | null {
  return parseLine(buf, PROBE_PREFIX)
}

/** Returns the nonce of a complete acknowledgement, or null if it is not one. */
export function parseAck (buf: Buffer): string | null {
  return parseLine(buf, ACK_PREFIX)
}
