/** Longest piece of a user's value quoted in a message or a log line, in characters. */
export const QUOTE_MAX = 200

/**
 * A value cut to {@link QUOTE_MAX} characters for a message, with its full length when cut: a 50 MB
 * string in a bad input must not be printed whole.
 */
export function quote (value: string, max = QUOTE_MAX): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`
}
