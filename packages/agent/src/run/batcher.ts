/**
 * Collects items and hands them out in batches of at most `max`, once per event-loop turn,
 * so a burst of receipts or results costs a few frames instead of thousands.
 */
export class Batcher<T> {
  private items: T[] = []
  private scheduled = false

  constructor (private readonly max: number, private readonly emit: (items: T[]) => void) {}

  push (item: T): void {
    this.items.push(item)
    if (this.items.length >= this.max) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.scheduled = false; this.flush() })
    }
  }

  /** Emits everything collected so far, now. */
  flush (): void {
    while (this.items.length > 0) {
      const batch = this.items.length <= this.max ? this.items : this.items.slice(0, this.max)
      this.items = this.items.length <= this.max ? [] : this.items.slice(this.max)
      this.emit(batch)
    }
  }

  /** Drops everything not yet emitted. */
  clear (): void {
    this.items = []
  }
}
