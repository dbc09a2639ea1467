import type { Argv } from 'yargs'
import { formatProblem } from '@portcheck/protocol'
import { importAnsibleInventory } from '../inventory/import-ansible/import-ansible.js'
import { emit, examples } from './options.js'

/** `portcheck inventory import`: a portcheck inventory from an Ansible one. */
export function inventoryCommand (y: Argv): Argv {
  return y.command('inventory', 'make inventories from other tools\' ones', (i) => i
    .command('import <file>', 'write a portcheck inventory from an Ansible inventory (INI or YAML): hosts, addresses, roles and SSH settings', (a) => a
      .positional('file', { type: 'string', demandOption: true, describe: 'the Ansible inventory: YAML if it ends in .yaml, .yml or .json, else INI' })
      .option('role-map', { type: 'string', array: true, demandOption: true, describe: 'GROUP=ROLE: the hosts of an Ansible group (and of its child groups) play that catalog role; GROUP=ROLE,ROLE for several; repeatable' })
      .option('catalog', { alias: 'c', type: 'string', describe: 'the catalog (built-in id or file): roles are checked against it and the inventory names it' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
      .epilogue(examples([
        ['API Connect nodes kept in an Ansible inventory', 'portcheck inventory import hosts.ini -c ibm-api-connect \\\n  --role-map mgmt=management --role-map gw=gateway -o apic.yaml'],
        ['then the checks it expands to, and the check', 'portcheck plan -i apic.yaml\nportcheck run -i apic.yaml --launch ssh']
      ])),
    async (args) => {
      const result = await importAnsibleInventory({
        file: args.file,
        roleMap: args['role-map'],
        ...(args.catalog !== undefined ? { catalog: args.catalog } : {})
      })
      for (const w of result.warnings) process.stderr.write(`portcheck: warning: ${formatProblem(w)}\n`)
      await emit(result.text, args.output)
      if (args.output !== undefined && args.output !== '-') {
        process.stderr.write(`portcheck: ${result.inventory.hosts.length} host(s) imported from ${args.file} into ${args.output}${result.leftOut.length > 0 ? ` (${result.leftOut.length} left out)` : ''}; see the checks with: portcheck plan -i ${args.output}\n`)
      }
    })
    .demandCommand(1, 'name an inventory command: import'))
}
