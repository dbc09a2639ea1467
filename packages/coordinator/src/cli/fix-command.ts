import type { Argv } from 'yargs'
import { FIX_FORMATS, formatFix, type FixFormat } from '../fix/format-fix.js'
import { parseChainRef } from '../fix/nftables.js'
import { readReport } from '../report/read-report.js'
import { emit } from './options.js'

/** `portcheck fix REPORT --format F [--host NAME]`: the rules that open exactly what a saved run found blocked. */
export function fixCommand (y: Argv): Argv {
  return y.command('fix <report>', 'write the firewall rules that open exactly the blocked flows of a saved JSON report', (a) => a
    .positional('report', { type: 'string', demandOption: true, describe: 'a report of `portcheck run --format json` (or GET /api/runs/:id)' })
    .option('format', {
      alias: 'f',
      type: 'string',
      choices: Object.keys(FIX_FORMATS),
      demandOption: true,
      describe: 'host firewalls: nftables, iptables, firewalld, ufw; between hosts: aws, azure, gcp, csv (a change request)'
    })
    .option('host', { type: 'string', describe: 'only the rules that go on (or in front of) this host, and the notes about its checks' })
    .option('nft-input', { type: 'string', default: 'inet filter input', describe: 'nftables: the chain whose table takes inbound accepts with no known dropping rule, FAMILY TABLE CHAIN' })
    .option('nft-output', { type: 'string', default: 'inet filter output', describe: 'nftables: the same for outbound accepts' })
    .option('output', { alias: 'o', type: 'string', describe: 'write the rules to this file instead of stdout' }),
  async (args) => {
    const nftables = { input: parseChainRef(args['nft-input'], '--nft-input'), output: parseChainRef(args['nft-output'], '--nft-output') }
    const report = await readReport(args.report)
    const out = formatFix(report, args.format as FixFormat, { nftables, ...(args.host !== undefined ? { host: args.host } : {}) })
    await emit(out.text, args.output)
    // JSON and CSV have no comments: what a script would say in them goes to stderr.
    if (out.aside.length > 0) process.stderr.write(out.aside.map((l) => `portcheck fix: ${l}\n`).join(''))
  })
}
