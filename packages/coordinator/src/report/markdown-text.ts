/** Text made safe for one Markdown table cell: one line, pipes and backslashes escaped, no HTML. */
export function mdCell (text: string): string {
  return text.replace(/\r?\n|\r/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;')
}
