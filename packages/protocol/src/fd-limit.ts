import { readFileSync } from 'node:fs'

/** Assumed when the limit cannot be read (not Linux): the common default soft limit. */
const FALLBACK_LIMIT = 1024

/**
 * This process's limit on open file descriptors (the soft `RLIMIT_NOFILE`, from
 * /proc/self/limits on Linux; 1024 where it cannot be read). Sockets count against it: every
 * bound on connections and listeners is derived from it, so that EMFILE never happens.
 */
export function openFileLimit (): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (m === null) return FALLBACK_LIMIT
    return m[1] === 'unlimited' ? 1_048_576 : Number(m[1])
  } catch {
    return FALLBACK_LIMIT
  }
}
