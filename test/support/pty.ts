import { spawn, spawnSync } from 'node:child_process'

/** Whether script(1) from util-linux is here to give a command a pseudo-terminal. */
export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true

function shellQuote (arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`
}

/**
 * Runs a command on a pseudo-terminal `cols` columns wide, with `script -qfec` (no dependency),
 * and resolves to its exit code and everything it wrote, as the terminal received it (stdout and
 * stderr mixed, `\n` turned into `\r\n` by the terminal). `onOutput` sees the output so far.
 */
export function inPty (argv: string[], opts: { cols?: number, env?: NodeJS.ProcessEnv, onOutput?: (raw: string) => void } = {}): Promise<{ code: number | null, raw: string }> {
  const command = `stty cols ${opts.cols ?? 100} rows 50; exec ${argv.map(shellQuote).join(' ')}`
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'], env: opts.env ?? process.env })
    let raw = ''
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString()
      opts.onOutput?.(raw)
    })
    child.on('close', (code) => resolve({ code, raw }))
  })
}

/**
 * What a terminal shows for `raw`: carriage returns, line feeds and erase-to-end-of-line are
 * applied, colours and other escape sequences dropped. One string per screen line, trailing
 * spaces trimmed. Lines longer than the terminal are not wrapped.
 */
export function screen (raw: string): string[] {
  const lines: string[][] = [[]]
  let row = 0
  let col = 0
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string
    if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i))
      if (m === null) continue
      if (m[2] === 'K') (lines[row] as string[]).length = Math.min((lines[row] as string[]).length, col)
      i += m[0].length - 1
    } else if (ch === '\r') {
      col = 0
    } else if (ch === '\n') {
      row++
      lines[row] ??= []
    } else {
      const line = lines[row] as string[]
      while (line.length < col) line.push(' ')
      line[col++] = ch
    }
  }
  return lines.map((l) => l.join('').trimEnd())
}
