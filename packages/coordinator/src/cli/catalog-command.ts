import path from 'node:path'
import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import { formatCatalogList, formatCatalogShow, formatValidation } from '../catalog/format-catalog.js'
import { checkCatalogFile, listCatalogFiles, loadCatalog, loadCatalogFile } from '../catalog/load-catalog.js'
import { parseSetArgs, resolveSettings, type SettingInput } from '../catalog/settings.js'
import { catalogRows } from '../plan/expand.js'
import { emit, examples } from './options.js'

/** `portcheck catalog list|show|validate`. */
export function catalogCommand (y: Argv): Argv {
  return y.command('catalog', 'list, show and validate catalogs', (c) => c
    .command('list', 'list the built-in catalogs', (a) => a
      .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
      .epilogue(examples([
        ['the products portcheck knows, and the document each catalog transcribes', 'portcheck catalog list'],
        ['the same, for a script', 'portcheck catalog list --format json']
      ])),
    async (args) => {
      const items = []
      for (const file of await listCatalogFiles()) {
        try {
          const { catalog } = await loadCatalogFile(file, true)
          items.push({ id: catalog.id, title: catalog.title, flows: catalog.flows.length, document: catalog.source?.document ?? path.basename(file) })
        } catch (err) {
          // One broken catalog must not hide the others; it is listed with what is wrong.
          items.push({ id: path.basename(file, '.yaml'), title: `INVALID: ${(err as Error).message.split('\n')[1]?.trim() ?? (err as Error).message}`, flows: 0, document: path.basename(file) })
        }
      }
      await emit(args.format === 'json' ? JSON.stringify(items, null, 2) + '\n' : formatCatalogList(items), undefined)
    })
    .command('show <catalog>', 'show a catalog\'s flows, one row per role pair, protocol and port, with its conditions', (a) => a
      .positional('catalog', { type: 'string', demandOption: true, describe: 'built-in id or file' })
      .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
      .option('all', { type: 'boolean', default: false, describe: 'include flows whose conditions are off' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'evaluate conditions with name=value' })
      .option('wide', { type: 'boolean', default: false, describe: 'one line per flow, as wide as it takes (the default on a terminal: fit its width)' })
      .epilogue(examples([
        ['a product\'s roles, settings and flows, fitted to the terminal', 'portcheck catalog show cisco-cloudcenter'],
        ['its flows with a setting changed, and those turned off too', 'portcheck catalog show cisco-cloudcenter --set monitor=ha --all'],
        ['every flow on one line, to scroll sideways', 'portcheck catalog show cisco-cloudcenter --wide | less -S']
      ])),
    async (args) => {
      const { catalog } = await loadCatalog(args.catalog)
      const sets = parseSetArgs(args.set)
      const inputs = Object.entries(sets).map(([name, value]): [string, SettingInput] => [name, { value, problem: (message) => ({ file: '--set', path: name, message }) }])
      const { values, problems } = resolveSettings(catalog, inputs)
      if (problems.length > 0) throw new PortcheckError('PC_ERR_SETTING_INVALID', problems.map((p) => `--set ${p.path}: ${p.message}`).join('\n'))
      const rows = catalogRows(catalog, values, { all: args.all })
      // Piped or redirected, there is no width to fit, and a row per line is what grep and awk want.
      const width = args.wide || process.stdout.isTTY !== true ? Infinity : process.stdout.columns ?? 100
      await emit(args.format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatCatalogShow(catalog, values, rows, { width }), undefined)
    })
    .command('validate <file>', 'check a catalog file against the schema and for consistency; warn about flows that can never apply', (a) => a
      .positional('file', { type: 'string', demandOption: true })
      .epilogue(examples([
        ['a catalog being written: each problem as FILE:LINE:COLUMN; exit 2 if any', 'portcheck catalog validate ./my-product.yaml']
      ])),
    async (args) => {
      // Warnings leave the exit code at 0: the catalog is valid and loads everywhere else (a flow
      // that never applies only plans skipped checks); they point at a likely transcription mistake.
      const { catalog, warnings } = await checkCatalogFile(args.file)
      await emit(formatValidation(args.file, catalog, warnings), undefined)
    })
    .epilogue(examples([
      ['the built-in catalogs', 'portcheck catalog list'],
      ['a product\'s roles, settings and flows, fitted to the terminal', 'portcheck catalog show cisco-cloudcenter'],
      ['a catalog being written', 'portcheck catalog validate ./my-product.yaml']
    ]))
    .demandCommand(1, 'name a catalog command: list, show or validate'))
}
