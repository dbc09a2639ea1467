/**
 * Waits until `test()` holds, checking every `stepMs`, for at most `ms`; resolves to whether it
 * held. Tests wait for what they then assert this way rather than for a fixed time: a busy
 * machine (CI runs many test files at once) makes things slower, and a fixed sleep then fails.
 * @param ms longest wait, in ms (default 10000)
 * @param stepMs time between checks, in ms (default 10)
 */
export async function until (test: () => boolean | Promise<boolean>, ms = 10_000, stepMs = 10): Promise<boolean> {
  for (const end = Date.now() + ms; ;) {
    if (await test()) return true
    if (Date.now() >= end) return false
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
