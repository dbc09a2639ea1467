// Development runner: the portcheck CLI straight from TypeScript sources, no build needed.
//   node --import tsx scripts/portcheck.ts catalog show chef-automate-ha
import { main } from '../packages/coordinator/src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
