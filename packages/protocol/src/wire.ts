/**
 * The probe protocol spoken on the data ports (the ones being checked), as opposed to the
 * control channel. It is deliberately tiny so a listener can answer nothing else:
 *
 *   source -> target   `PCHK1 <nonce> <attempt>\n`   (one TCP write, or one UDP datagram; the newline is optional there)
 *   target -> source   `PCOK1 <nonce> <attempt>\n`   (the acknowledgement; proof travels over the control channel)
 *
 * `<attempt>` numbers a probe's attempts (1, 2, …) and is echoed, so the source knows which
 * attempt was answered first: the attempts before it that stayed silent are the path's loss.
 * It may be left out; the acknowledgement then leaves it out too.
 */
import { NONCE_RE } from './limits.js'

const PROBE_PREFIX = 'PCHK1 '
const ACK_PREFIX = 'PCOK1 '
const SEQ_RE = /^[1-9]\d{0,3}$/

/** A listener reads at most this many bytes before deciding; longer input is not ours. */
export const MAX_PROBE_BYTES = 128

/** How long a TCP listener waits for the probe line after accepting, in ms. */
export const PROBE_READ_TIMEOUT_MS = 5000

/** A parsed probe or acknowledgement line. */
export interface ProbeLine {
  nonce: string
  /** The attempt number, or null if the line carried none. */
  seq: number | null
}

function encode (prefix: string, nonce: string, seq: number | null): Buffer {
  return Buffer.from(`${prefix}${nonce}${seq === null ? '' : ` ${seq}`}\n`, 'latin1')
}

/** The bytes a source sends on a data port. */
export function encodeProbe (nonce: string, seq: number | null = null): Buffer {
  return encode(PROBE_PREFIX, nonce, seq)
}

/** The bytes a listener answers with. */
export function encodeAck (nonce: string, seq: number | null = null): Buffer {
  return encode(ACK_PREFIX, nonce, seq)
}

function parseLine (buf: Buffer, prefix: string): ProbeLine | null {
  if (buf.length > MAX_PROBE_BYTES) return null
  let text = buf.toString('latin1')
  if (text.endsWith('\n')) text = text.slice(0, -1)
  if (!text.startsWith(prefix)) return null
  const [nonce, seq, ...rest] = text.slice(prefix.length).split(' ')
  if (nonce === undefined || !NONCE_RE.test(nonce) || rest.length > 0) return null
  if (seq === undefined) return { nonce, seq: null }
  return SEQ_RE.test(seq) ? { nonce, seq: Number(seq) } : null
}

/** Parses a complete probe (with or without the trailing newline); null if it is not one. */
export function parseProbe (buf: Buffer): ProbeLine | null {
  return parseLine(buf, PROBE_PREFIX)
}

/** Parses a complete acknowledgement; null if it is not one. */
export function parseAck (buf: Buffer): ProbeLine | null {
  return parseLine(buf, ACK_PREFIX)
}
