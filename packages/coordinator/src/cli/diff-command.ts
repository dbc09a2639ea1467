import type { Argv } from 'yargs'
import { formatDiffMarkdown, formatDiffTable } from '../report/format-diff.js'
import { readReport } from '../report/read-report.js'
import { diffReports } from '../report/report-diff.js'
import { emit } from './options.js'

/** `portcheck diff A B`: what changed between two saved reports. Exit 1 if something newly broke. */
export function diffCommand (y: Argv, setExit: (code: number) => void): Argv {
  return y.command('diff <before> <after>', 'compare two saved JSON reports: fixed, newly broken, still blocked, unchanged', (a) => a
    .positional('before', { type: 'string', demandOption: true, describe: 'the earlier report (portcheck run --format json)' })
    .positional('after', { type: 'string', demandOption: true, describe: 'the later report' })
    .option('format', { alias: 'f', type: 'string', choices: ['table', 'json', 'markdown'], default: 'table', describe: 'output format' })
    .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' }),
  async (args) => {
    const [before, after] = await Promise.all([readReport(args.before), readReport(args.after)])
    const diff = diffReports(before, after, { before: args.before, after: args.after })
    const text = args.format === 'json' ? JSON.stringify(diff, null, 2) + '\n' : args.format === 'markdown' ? formatDiffMarkdown(diff) : formatDiffTable(diff)
    await emit(text, args.output)
    setExit(diff.counts['newly-broken'] > 0 ? 1 : 0)
  })
}
