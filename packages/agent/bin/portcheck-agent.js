#!/usr/bin/env node
import { main } from '../dist/portcheck-agent.mjs'

process.exitCode = await main(process.argv.slice(2))
