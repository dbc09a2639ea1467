import path from 'node:path'
import type { Argv } from 'yargs'
import { PortcheckError } from '@portcheck/protocol'
import { formatCatalogList, formatCatalogShow, formatValidation } from '../catalog/format-catalog.js'
import { checkCatalogFile, listCatalogFiles, loadCatalog, loadCatalogFile } from '../catalog/load-catalog.js'
import { parseSetArgs, resolveSettings, type SettingInput } from '../catalog/settings.js'
import { catalogRows } from '../plan/expand.js'
import { emit } from './options.js'

/** `portcheck catalog list|show|validate`. */
export function catalogCommand (y: Argv): Argv {
  return y.command('catalog', 'list, show and validate catalogs', (c) => c
    .command('list', 'list the built-in catalogs', (a) => a
      .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' }),
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
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'evaluate conditions with name=value' }),
    async (args) => {
      const { catalog } = await loadCatalog(args.catalog)
      const sets = parseSetArgs(args.set)
      const inputs = Object.entries(sets).map(([name, value]): [string, SettingInput] => [name, { value, problem: (message) => ({ file: '--set', path: name, message }) }])
      const { values, problems } = resolveSettings(catalog, inputs)
      if (problems.length > 0) throw new PortcheckError('PC_ERR_SETTING_INVALID', problems.map((p) => `--set ${p.path}: ${p.message}`).join('\n'))
      const rows = catalogRows(catalog, values, { all: args.all })
      await emit(args.format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : formatCatalogShow(catalog, values, rows), undefined)
    })
    .command('validate <file>', 'check a catalog file against the schema and for consistency; warn about flows that can never apply', (a) => a
      .positional('file', { type: 'string', demandOption: true }),
    async (args) => {
      // Warnings leave the exit code at 0: the catalog is valid and loads everywhere else (a flow
      // that never applies only plans skipped checks); they point at a likely transcription mistake.
      const { catalog, warnings } = await checkCatalogFile(args.file)
      await emit(formatValidation(args.file, catalog, warnings), undefined)
    })
    .demandCommand(1, 'name a catalog command: list, show or validate'))
}
