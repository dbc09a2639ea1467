import { PortcheckError } from '@portcheck/protocol'

/** Headers `--notify-header` may not set: undici sets them from the request itself. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'])

/** A header name: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/

/**
 * Checks `--notify-url`: an absolute http:// or https:// URL without user name or password, which
 * would reach the log wherever the URL is named (`--notify-header` carries credentials instead).
 */
export function parseNotifyUrl (text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new PortcheckError('PC_ERR_USAGE', `--notify-url ${JSON.stringify(text.slice(0, 200))}: not a URL; expected http(s)://HOST[:PORT]/PATH`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PortcheckError('PC_ERR_USAGE', `--notify-url ${JSON.stringify(text.slice(0, 200))}: only http:// and https:// URLs are posted to, not ${url.protocol}`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new PortcheckError('PC_ERR_USAGE', '--notify-url: a user name or password in the URL would be written to the log with it; send it with --notify-header "Authorization: …" instead')
  }
  return url
}

/** Parses one `--notify-header "Name: value"`. Throws PC_ERR_USAGE saying what is wrong. */
export function parseNotifyHeader (text: string): [name: string, value: string] {
  const colon = text.indexOf(':')
  const name = colon === -1 ? '' : text.slice(0, colon).trim()
  const value = colon === -1 ? '' : text.slice(colon + 1).trim()
  const shown = JSON.stringify(name !== '' ? `${name}: …` : text.slice(0, 40))
  if (!HEADER_NAME.test(name)) throw new PortcheckError('PC_ERR_USAGE', `--notify-header ${shown}: expected "Name: value", e.g. "Authorization: Bearer TOKEN"`)
  if (RESERVED_HEADERS.has(name.toLowerCase())) throw new PortcheckError('PC_ERR_USAGE', `--notify-header ${shown}: ${name} is set by the request itself`)
  // A line break would start another header (or the body): refused, never stripped.
  if (/[\r\n\0]/.test(value) || value === '' || value.length > 4096) throw new PortcheckError('PC_ERR_USAGE', `--notify-header ${shown}: the value must be 1 to 4096 characters on one line`)
  return [name, value]
}
