/**
 * Commands run inside a lab namespace with `ip netns exec`, which also bind-mounts the files
 * of /etc/netns/<ns>/ over /etc (see resolver.ts).
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Runs `cmd` in namespace `ns` to completion; returns its stdout. */
export async function nsExec (ns: string, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, cmd, ...args], { maxBuffer: 64 * 1024 * 1024 })
  return stdout
}

/**
 * Loads an nftables ruleset in namespace `ns` (`nft -f -`, one transaction: all of it or none).
 * @param where names the namespace in the error, with the ruleset
 */
export async function nftLoad (ns: string, ruleset: string, where: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  child.stdin.end(ruleset)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`nft failed in ${where}: ${err}\n${ruleset}`)
}

/**
 * Sets kernel parameters of namespace `ns`, in order. /proc/sys/net shows the namespace of the
 * process that opens it, so the writing has to happen inside; `sh` is there on every machine,
 * `sysctl` (procps) is not.
 * @param values parameter paths under /proc/sys (`net/ipv4/ip_forward`) and their values
 */
export async function nsSysctl (ns: string, values: Array<[string, string | number]>): Promise<void> {
  for (const [key] of values) {
    if (!/^net\/[\w./-]+$/.test(key) || key.includes('..')) throw new Error(`not a network sysctl: ${key}`)
  }
  const script = 'while [ $# -gt 0 ]; do printf %s "$2" > "/proc/sys/$1" || exit 1; shift 2; done'
  await nsExec(ns, 'sh', ['-c', script, 'sh', ...values.flatMap(([k, v]) => [k, String(v)])])
}
