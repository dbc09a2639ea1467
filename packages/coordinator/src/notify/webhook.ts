import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import pRetry, { AbortError } from 'p-retry'
import { Agent, request } from 'undici'

/** Options of {@link WebhookNotifier}. */
export interface WebhookOptions {
  /** Where to POST: http(s) only (see parseNotifyUrl). */
  url: URL
  /** Extra headers (`--notify-header`), e.g. an Authorization header; none by default. */
  headers?: Record<string, string>
  logger: Logger
  /** The User-Agent sent. Default `portcheck`. */
  userAgent?: string
  /** Messages waiting to be sent, at most; past it the oldest is dropped, with a warning. Default 16. */
  maxQueue?: number
  /** Attempts per message, at most (the first and the retries). Default 6. */
  attempts?: number
  /** Longest a message is retried for, from its first attempt, in ms. Default 120000. */
  maxRetryMs?: number
  /** Each attempt's bound on connecting, and on the response's headers and body, in ms. Default 10000. */
  attemptTimeoutMs?: number
  /** Wait before the first retry, in ms (then doubled each time, times a random factor of 1 to 2). Default 1000. */
  minDelayMs?: number
  /** Longest wait between two attempts, in ms. Default 30000. */
  maxDelayMs?: number
}

/** How the delivery of one message ended. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'dropped'

/** Statuses worth another attempt: the receiver is busy, restarting or rate-limiting; any other answer is final. */
const RETRYABLE = (status: number): boolean => status === 408 || status === 425 || status === 429 || status >= 500

/** The receiver answered with a status that is not 2xx. */
export class WebhookStatusError extends Error {
  constructor (readonly statusCode: number) {
    super(`the receiver answered HTTP ${statusCode}`)
    this.name = 'WebhookStatusError'
  }
}

/**
 * POSTs JSON messages to one URL, one at a time, in order, through undici. Each message is
 * retried with exponential backoff and jitter (p-retry), within a number of attempts and a total
 * time; a 2xx ends it, and so does a status no retry can change (a 4xx other than 408, 425 and
 * 429). Sending never blocks the caller: messages wait in a bounded queue, the oldest dropped
 * when it is full. `close()` stops at once, retries and waits included.
 */
export class WebhookNotifier extends EventEmitter<{ outcome: [DeliveryOutcome] }> {
  private queue: string[] = []
  private sending = false
  private closed = false
  private readonly ac = new AbortController()
  private readonly dispatcher: Agent
  private readonly o: Required<Omit<WebhookOptions, 'headers'>> & { headers: Record<string, string> }

  constructor (options: WebhookOptions) {
    super()
    this.o = {
      headers: {},
      userAgent: 'portcheck',
      maxQueue: 16,
      attempts: 6,
      maxRetryMs: 120_000,
      attemptTimeoutMs: 10_000,
      minDelayMs: 1000,
      maxDelayMs: 30_000,
      ...options
    }
    const t = this.o.attemptTimeoutMs
    this.dispatcher = new Agent({ connect: { timeout: t }, headersTimeout: t, bodyTimeout: t, connections: 2 })
  }

  /** Messages waiting (the one being sent not included). */
  get pending (): number {
    return this.queue.length
  }

  /** Queues a message; returns at once. */
  notify (message: unknown): void {
    if (this.closed) return
    if (this.queue.length >= this.o.maxQueue) {
      this.queue.shift()
      this.o.logger.warn({ url: this.o.url.href, maxQueue: this.o.maxQueue }, `webhook: ${this.o.maxQueue} messages already wait for ${this.o.url.origin}; the oldest is dropped`)
      this.emit('outcome', 'dropped')
    }
    this.queue.push(JSON.stringify(message))
    void this.drain()
  }

  /** Stops: what waits is dropped, a retry in progress ends, the connections close. */
  async close (): Promise<void> {
    this.closed = true
    this.queue = []
    this.ac.abort()
    await this.dispatcher.destroy().catch(() => {})
  }

  private async drain (): Promise<void> {
    if (this.sending) return
    this.sending = true
    try {
      for (let body = this.queue.shift(); body !== undefined && !this.closed; body = this.queue.shift()) await this.deliver(body)
    } finally {
      this.sending = false
    }
  }

  private async deliver (body: string): Promise<void> {
    const { url, logger } = this.o
    try {
      await pRetry(async () => await this.post(body), {
        retries: this.o.attempts - 1,
        factor: 2,
        minTimeout: this.o.minDelayMs,
        maxTimeout: this.o.maxDelayMs,
        randomize: true,
        maxRetryTime: this.o.maxRetryMs,
        signal: this.ac.signal,
        unref: true,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && !this.closed) logger.warn({ url: url.href, attempt: attemptNumber, err: { message: error.message } }, `webhook: attempt ${attemptNumber} failed (${error.message}); retrying`)
        }
      })
      logger.info({ url: url.href }, 'webhook: delivered')
      this.emit('outcome', 'delivered')
    } catch (err) {
      if (this.closed) return
      logger.error({ url: url.href, err: { message: (err as Error).message } }, `webhook: not delivered (${(err as Error).message}); dropped`)
      this.emit('outcome', 'failed')
    }
  }

  private async post (body: string): Promise<void> {
    const res = await request(this.o.url, {
      method: 'POST',
      body,
      headers: { ...this.o.headers, 'content-type': 'application/json', 'user-agent': this.o.userAgent },
      dispatcher: this.dispatcher,
      signal: this.ac.signal
    })
    // The body is never used; reading it to the end frees the connection for the next message.
    await res.body.dump()
    if (res.statusCode >= 200 && res.statusCode < 300) return
    const err = new WebhookStatusError(res.statusCode)
    if (!RETRYABLE(res.statusCode)) throw new AbortError(err)
    throw err
  }
}
