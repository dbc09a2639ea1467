/**
 * Entry of the standalone agent executable (a Node.js single executable application, made by
 * the coordinator from this file bundled as CommonJS: Node 20 runs only a CommonJS main script
 * there). The executable is the CLI and nothing else.
 */
import { main } from './cli.js'

void main(process.argv.slice(2)).then((code) => { process.exitCode = code })
