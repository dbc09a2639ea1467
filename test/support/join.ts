/**
 * The join commands a coordinator prints, as the lab runs them: the arguments after
 * `npx portcheck-agent` for one host, verbatim, to be passed to the local agent's bin.
 */
export function joinArgs (output: string, name: string): string[] {
  for (const line of output.split('\n')) {
    const at = line.indexOf('npx portcheck-agent ')
    if (at === -1) continue
    const args = line.slice(at + 'npx portcheck-agent '.length).trim().split(/\s+/)
    const i = args.indexOf('--name')
    if (i !== -1 && args[i + 1] === name) return args
  }
  throw new Error(`no join command for ${name} in the coordinator's output:\n${output}`)
}
