import { StringDecoder } from 'node:string_decoder'

/**
 * Cuts a byte stream into lines, holding at most `maxLine` characters of an unfinished line: a
 * host that prints a line without end cannot make the coordinator hold it all. The rest of a
 * longer line is dropped.
 * @param maxLine longest line kept, in characters (default 16384)
 */
export function lineSplitter (onLine: (line: string) => void, maxLine = 16_384): { push: (chunk: Buffer | string) => void, end: () => void } {
  // A character cut in two by a chunk boundary is decoded once whole.
  const decoder = new StringDecoder('utf8')
  let partial = ''
  let overflow = false
  const take = (text: string): void => {
    if (overflow) return
    partial += text
    if (partial.length > maxLine) {
      partial = partial.slice(0, maxLine)
      overflow = true
    }
  }
  return {
    push: (chunk) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
      let start = 0
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', start)) {
        take(text.slice(start, i))
        onLine(partial.replace(/\r$/, ''))
        partial = ''
        overflow = false
        start = i + 1
      }
      take(text.slice(start))
    },
    end: () => {
      take(decoder.end())
      if (partial !== '') onLine(partial.replace(/\r$/, ''))
      partial = ''
    }
  }
}

/**
 * A line another program printed, made safe and short for a report: control characters (ANSI
 * colours, bells) removed, spaces collapsed, at most `max` characters (default 300).
 */
export function cleanLine (line: string, max = 300): string {
  const text = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x1f\x7f]/g, ' ').replace(/\s+/g, ' ').trim()
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}
