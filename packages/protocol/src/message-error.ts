import { GuardError, obj, type Obj } from './guards.js'

/** Raised for a frame that must not be trusted; the receiver closes the connection. */
export class MessageError extends Error {
  readonly code = 'PC_ERR_MESSAGE_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'MessageError'
  }
}

/** Parses a frame's JSON, refusing it above `maxBytes`. Throws {@link MessageError}. */
export function parseFrame (raw: string | Buffer, maxBytes: number): Obj {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length
  if (size > maxBytes) throw new MessageError(`frame of ${size} bytes exceeds the ${maxBytes}-byte limit`)
  let v: unknown
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'))
  } catch {
    throw new MessageError('frame is not valid JSON')
  }
  return guarded(() => obj(v, 'message'))
}

/** Runs a validator, turning its field errors into {@link MessageError}s. */
export function guarded<T> (fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof GuardError) throw new MessageError(err.message)
    throw err
  }
}
