/**
 * The payload of a nudge: an unsolicited WebSocket pong (RFC 6455 §5.5.3 allows them, and no
 * answer is due) that a receiver tells from a heartbeat's pong by this one byte (a heartbeat's
 * pong echoes its ping's empty payload).
 */
export const NUDGE_PAYLOAD = 'n'

/**
 * When the second nudge of a burst goes, in ms after the burst's last message. It covers a lost
 * retransmission: a repair that is lost too is noticed only when something sent after it
 * arrives, or after the 200 ms timeout. 25 ms is well after a repair on a LAN or within a region.
 */
export const LATE_NUDGE_MS = 25

/**
 * Returns a function to call after each control message: it sends one nudge (`nudge()`) once the
 * current burst of messages has been written, so that the burst is never the only data in flight
 * on its TCP connection.
 *
 * Why: when the last segment in flight is lost, Linux probes for it (tail loss probe) after twice
 * the round trip plus 200 ms (its minimum retransmission timeout) if it was the only one, but
 * plus 2 ms if another segment was in flight behind it, whose selective ACK also repairs the loss
 * at once. Runs are a few request-answer exchanges of one message each, so at 5% loss on every
 * packet those 200 ms stalls were most of what the loss added to a run (docs/benchmarks.md §5).
 * A second nudge goes {@link LATE_NUDGE_MS} after the burst's last message. A nudge is a
 * 3-byte frame: two per burst.
 *
 * Both sides also call it when a message arrives: the nudge back carries their TCP
 * acknowledgement once more. When the ACK of a retransmitted segment is lost, the sender waits
 * for its retransmission timer, which doubles with each loss; at 20% loss each way, that is how
 * a control connection stalls for tens of seconds. Nudges never answer nudges.
 */
export function tailNudger (nudge: () => void, lateMs = LATE_NUDGE_MS): () => void {
  let pending = false
  let late: NodeJS.Timeout | undefined
  return () => {
    if (late === undefined) {
      late = setTimeout(nudge, lateMs)
      late.unref()
    } else {
      late.refresh()
    }
    if (pending) return
    pending = true
    setImmediate(() => {
      pending = false
      nudge()
    })
  }
}
