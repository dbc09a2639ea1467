/**
 * The join commands a coordinator prints, as the lab runs them: the agent's arguments for one
 * host (from `--coordinator` on), verbatim, to be passed to the local agent's bin. (The commands
 * as a whole, download included, are run verbatim by test/lab/agent-dist.test.ts.)
 */
export function joinArgs (output: string, name: string): string[] {
  for (const line of output.split('\n')) {
    const at = line.indexOf(' --coordinator ')
    if (at === -1) continue
    const args = line.slice(at + 1).trim().split(/\s+/)
    const i = args.indexOf('--name')
    if (i !== -1 && args[i + 1] === name) return args
  }
  throw new Error(`no join command for ${name} in the coordinator's output:\n${output}`)
}
