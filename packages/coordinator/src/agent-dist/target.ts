/**
 * Targets of the standalone agent: `<platform>-<arch>` as Node.js names them (`linux-x64`,
 * `linux-arm64`), the form of `GET /agent/bin/<target>`.
 */

/** What a target may look like in a request path; anything else is not one. */
export const TARGET_PATTERN = /^[a-z0-9]{2,16}-[a-z0-9]{2,16}$/

/** The target of this process: the platform and architecture of the Node.js binary it runs on. */
export function currentTarget (): string {
  return `${process.platform}-${process.arch}`
}

/**
 * Why this coordinator cannot make the standalone agent for `target`, or null if it can. It makes
 * it from its own Node.js binary (a single executable application), so for its own target only,
 * and on Linux only (macOS and Windows need code signing steps it does not take).
 */
export function unservedTargetReason (target: string, own = currentTarget()): string | null {
  if (target !== own) return `no standalone agent for ${target.slice(0, 40)}: this coordinator runs ${own}; run it on a ${target.slice(0, 40)} machine to serve that`
  if (!own.startsWith('linux-')) return `no standalone agent for ${own}: the coordinator makes it on Linux only; on this node, run the join command for Node.js`
  return null
}
