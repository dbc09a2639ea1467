/**
 * Longest piece of a user's value that a message repeats, in characters (default 200): a
 * message names the value so it can be found, and a 50 MB string would bury the rest.
 */
export const QUOTE_MAX = 200

/** Cuts text to `max` characters, never through a surrogate pair. */
function head (text: string, max: number): string {
  const cut = text.slice(0, max)
  const last = cut.charCodeAt(cut.length - 1)
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut
}

/**
 * Text from a user's file for a message, without quotes: as is up to `max` characters, else its
 * start, an ellipsis and the full length (`xxxx… (50,000,000 characters)`).
 */
export function cut (text: string, max = QUOTE_MAX): string {
  if (text.length <= max) return text
  return `${head(text, max)}… (${text.length.toLocaleString('en-US')} characters)`
}

/**
 * A user's value in double quotes for a message, escaped like JSON so a newline or a quote in
 * it cannot break the one-problem-per-line output; cut like {@link cut} past `max` characters.
 */
export function quote (value: unknown, max = QUOTE_MAX): string {
  const text = typeof value === 'string' ? value : String(value)
  if (text.length <= max) return JSON.stringify(text)
  return `${JSON.stringify(head(text, max)).slice(0, -1)}…" (${text.length.toLocaleString('en-US')} characters)`
}
