import type { LineSink } from '@portcheck/protocol/node'

/** Clears the terminal line the cursor is on: carriage return, then erase to its end. */
const CLEAR = '\r\x1b[K'

/**
 * One line at the bottom of a terminal that is redrawn in place: the wait for agents, the run's
 * progress. Everything else written to the same stream goes through {@link StatusLine.write} or
 * {@link StatusLine.sink}, which clear the line first and redraw it after, so that a log line
 * never lands on the same line as the status.
 *
 * On a stream that is not a terminal it draws nothing, and writes pass straight through.
 */
export class StatusLine {
  /** Whether the stream is a terminal: only then is anything drawn. */
  readonly enabled: boolean
  private render: (() => string) | null = null
  private timer: NodeJS.Timeout | null = null
  /** What is on the screen now, so that a redraw with the same text costs nothing. */
  private drawn = ''

  /**
   * @param out the terminal; default process.stderr
   * @param intervalMs how often the line is redrawn, in ms; default 250
   */
  constructor (private readonly out: NodeJS.WriteStream = process.stderr, private readonly intervalMs = 250) {
    this.enabled = out.isTTY === true
  }

  /**
   * The columns a status line may use: one short of the terminal's width, since writing the
   * last column makes some terminals wrap, and a wrapped line can no longer be cleared with a
   * carriage return. 80 columns when the width is unknown.
   */
  get width (): number {
    return (this.out.columns ?? 80) - 1
  }

  /** Shows `render()` from now on, redrawn at once and every `intervalMs`, until {@link hide}. */
  show (render: () => string): void {
    if (!this.enabled) return
    this.render = render
    if (this.timer === null) {
      this.timer = setInterval(() => this.draw(), this.intervalMs)
      // The status line must never keep the process alive.
      this.timer.unref()
    }
    this.draw()
  }

  /** Clears the line and stops redrawing it. */
  hide (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.render = null
    this.clear()
  }

  /** Writes text (whole lines) above the status line. */
  write (text: string): void {
    this.clear()
    this.out.write(text)
    this.draw()
  }

  /** Wraps a log destination so that each log line is written above the status line. */
  sink (dest: LineSink): LineSink {
    return {
      write: (chunk: string) => {
        this.clear()
        const r = dest.write(chunk)
        this.draw()
        return r
      }
    }
  }

  private clear (): void {
    if (this.drawn === '') return
    this.out.write(CLEAR)
    this.drawn = ''
  }

  private draw (): void {
    if (this.render === null) return
    const text = fit(this.render(), this.width)
    if (text === this.drawn) return
    this.out.write(CLEAR + text)
    this.drawn = text
  }
}

/** Cuts text to at most `width` characters, ending with `…` when cut. */
export function fit (text: string, width: number): string {
  const chars = [...text]
  if (chars.length <= width) return text
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…'
}

/** A duration as a clock, `m:ss` or `h:mm:ss`: short enough for a status line. */
export function clock (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const pad = (n: number): string => String(n).padStart(2, '0')
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}
