import { runFieldScenario } from './field-scenario.js'
const [loss, delay, timeout, runs, hosts] = process.argv.slice(2)
const out = await runFieldScenario({ hosts: Number(hosts ?? 10), tcp: [9001, 9002, 9003, 9004, 9005, 9006], udp: [9101, 9102, 9103, 9104, 9105, 9106], timeout: timeout === 'auto' ? 'auto' : Number(timeout), runs: Number(runs), lossPermille: Number(loss), delayMs: Number(delay) }, (l) => console.log(l))
console.log(out.checks, out.dropped)
