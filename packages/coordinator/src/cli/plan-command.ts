import type { Argv } from 'yargs'
import { loadInputs } from '../api.js'
import { buildPlan } from '../plan/expand.js'
import { isDualStack, noCommonFamily } from '../plan/families.js'
import { portFamilyLabel } from '../report/family-text.js'
import { emit, examples, setOverrides, withInputs } from './options.js'

/** `portcheck plan`: the checks a run would make, without any agent. */
export function planCommand (y: Argv): Argv {
  return y.command('plan', 'expand a catalog over an inventory into the list of checks, without any agent', (a) => withInputs(a)
    .option('format', { type: 'string', choices: ['table', 'json'], default: 'table' })
    .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
    .epilogue(examples([
      ['the checks a run would make, before any agent is started', 'portcheck plan -i hosts.yaml'],
      ['with a built-in catalog, and a setting for this invocation', 'portcheck plan -c cisco-cloudcenter -i hosts.yaml --set monitor=ha'],
      ['every check, the optional ones too, as JSON', 'portcheck plan -i hosts.yaml --include-optional --format json -o plan.json']
    ])),
  async (args) => {
    const { catalog, inventory } = await loadInputs({ ...(args.catalog !== undefined ? { catalog: args.catalog } : {}), inventory: args.inventory, set: setOverrides(args) })
    const plan = buildPlan({ catalog: catalog.catalog, hosts: inventory.inventory.hosts, settings: inventory.settings, includeOptional: args['include-optional'] })
    if (args.format === 'json') {
      await emit(JSON.stringify({ catalog: catalog.catalog.id, settings: plan.settings, includeOptional: plan.includeOptional, checks: plan.checks }, null, 2) + '\n', args.output)
      return
    }
    const tested = plan.checks.filter((c) => c.skip === null)
    const lines = [`${catalog.catalog.title}: ${plan.checks.length} checks, ${tested.length} to test, ${plan.checks.length - tested.length} skipped`]
    const dual = isDualStack(plan.hosts)
    for (const c of plan.checks) {
      // Hosts of no common family: planned, but no packet can go between them.
      const gap = c.skip === null && noCommonFamily(c) ? ', no common family' : ''
      lines.push(`  ${c.from ?? `(${c.fromRole})`} -> ${c.to ?? `(${c.toRole})`}  ${portFamilyLabel(c, dual)}  ${c.skip !== null ? `skipped: ${c.skip}` : c.required ? 'required' : 'optional'}${gap}  [${c.flowIds.join(', ')}]`)
    }
    await emit(lines.join('\n') + '\n', args.output)
  })
}
