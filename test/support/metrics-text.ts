/** One sample of a Prometheus text exposition. */
export interface Sample { name: string, labels: Record<string, string>, value: number }

/** Parses the samples of a Prometheus text exposition (comments skipped; label values unescaped). */
export function parseMetrics (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1')
    out.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return out
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none (throws if several). */
export function sampleValue (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
