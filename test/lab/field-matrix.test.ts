import t, { type Test } from 'tap'
import { labReady } from './guard.js'
import { delayUnavailable } from './netem.js'
import { runFieldScenario, type FieldScenario } from './field-scenario.js'

// The field lab's figures, over ten runs each of a 1,080-check matrix (10 hosts in their own
// namespaces, six TCP and six UDP ports between every pair, every fifth check dropped by the
// target's firewall): what a verdict must never be, whatever the loss and the latency. Loss
// applies to every packet every host sends, the coordinator's control channel included. Wall
// times belong to `npm run bench` (docs/benchmarks.md), not here.
const MESH = { hosts: 10, tcp: [9001, 9002, 9003, 9004, 9005, 9006], udp: [9101, 9102, 9103, 9104, 9105, 9106] }
const RUNS = Number(process.env.PORTCHECK_FIELD_RUNS ?? 10)

async function scenario (t: Test, s: Omit<FieldScenario, 'hosts' | 'tcp' | 'udp' | 'runs'>, check: (t: Test, run: Awaited<ReturnType<typeof runFieldScenario>>['runs'][number]) => void): Promise<void> {
  if (!labReady(t, delayUnavailable)) return
  const out = await runFieldScenario({ ...MESH, ...s, runs: RUNS }, (line) => t.comment(line))
  t.equal(out.checks, 1080, 'a matrix of 1,080 checks')
  t.equal(out.runs.length, RUNS, `${RUNS} runs`)
  for (const run of out.runs) {
    t.equal(run.checks, 1080)
    check(t, run)
  }
}

/** Exact: every staged drop blocked as a timeout, every other check a pass. */
function exact (t: Test, run: { run: number, wrong: number, samples: string[] }): void {
  t.equal(run.wrong, 0, `run ${run.run}: every verdict exact${run.samples.length > 0 ? `: ${run.samples.join('; ')}` : ''}`)
}

t.setTimeout(40 * 60_000)

for (const timeout of [3000, 'auto'] as const) {
  t.test(`5% loss, ${timeout === 'auto' ? '--timeout auto' : 'a fixed 3000 ms timeout'}: no false blocked or intercepted, nothing inconclusive`, async (t) => {
    await scenario(t, { timeout, lossPermille: 50 }, (t, run) => {
      t.equal(run.falseBlocked, 0, `run ${run.run}: no false blocked`)
      t.equal(run.falseIntercepted, 0, `run ${run.run}: no false intercepted`)
      t.equal(run.inconclusive, 0, `run ${run.run}: nothing inconclusive`)
      exact(t, run)
    })
  })
}

// The latency rises after the agents joined and a first run on a LAN: each run measures its own
// paths, so what the coordinator learnt before (its control-channel round trips, the last run's
// figures) never shortens a deadline.
t.test('400 ms between hosts from the second run on, the agents joined on a LAN, --timeout auto: exact in every run', async (t) => {
  await scenario(t, { timeout: 'auto', delayAfterFirstRunMs: 200 }, (t, run) => exact(t, run))
})

// 20% loss between the hosts: the verdicts' own figures. The control channel is spared here:
// at 20% loss each way, a TCP connection's retransmission timeouts double on every loss of a
// segment or its acknowledgement (36% of round trips), and CI runs have seen an agent's control
// connection stall for over 60 s: that agent's checks are then agent-lost, which is the truth
// (it stopped answering), but says nothing of the verdict rules measured here.
for (const timeout of [3000, 'auto'] as const) {
  t.test(`20% loss between hosts, ${timeout === 'auto' ? '--timeout auto' : 'a fixed 3000 ms timeout'}: no false blocked or intercepted, every drop blocked`, async (t) => {
    await scenario(t, { timeout, lossPermille: 200, cleanControl: true }, (t, run) => {
      t.equal(run.falseBlocked, 0, `run ${run.run}: no false blocked`)
      t.equal(run.falseIntercepted, 0, `run ${run.run}: no false intercepted`)
      t.equal(run.trueBlocked, run.staged, `run ${run.run}: all ${run.staged} drops blocked`)
      t.equal(run.inconclusive, run.lossyPath, `run ${run.run}: inconclusive only for a lossy path (${run.lossyPath})`)
    })
  })
}

// 20% loss on every packet, the control channel's too: whatever stalls, never a false verdict.
// A check is exact, or inconclusive for a lossy path or an agent that stopped answering.
t.test('20% loss on every packet, control channel included: no false blocked or intercepted, nothing undecided but for loss', async (t) => {
  await scenario(t, { timeout: 3000, lossPermille: 200 }, (t, run) => {
    t.equal(run.falseBlocked, 0, `run ${run.run}: no false blocked`)
    t.equal(run.falseIntercepted, 0, `run ${run.run}: no false intercepted`)
    t.equal(run.inconclusive, run.lossyPath + run.agentLost, `run ${run.run}: inconclusive only for a lossy path (${run.lossyPath}) or an agent that stopped answering (${run.agentLost})`)
    t.equal(run.wrong, run.inconclusive, `run ${run.run}: every other check exact`)
  })
})

for (const oneWay of [75, 200]) {
  t.test(`${2 * oneWay} ms between hosts, the coordinator near, --timeout auto: exact`, async (t) => {
    await scenario(t, { timeout: 'auto', delayMs: oneWay }, exact)
  })
}
