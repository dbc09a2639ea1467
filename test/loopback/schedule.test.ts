import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { PROTOCOL_VERSION, PortcheckError } from '@portcheck/protocol'
import { RunSchedule } from '../../packages/coordinator/src/schedule/run-schedule.js'
import type { Run, RunOptions } from '../../packages/coordinator/src/scheduler/run.js'
import { agentCredential } from '../../packages/coordinator/src/security/credentials.js'
import type { Coordinator } from '../../packages/coordinator/src/server/coordinator.js'
import { captureLog, type CapturedLog } from '../support/log-lines.js'
import { startCoordinator } from '../support/loopback.js'

// Loopback addresses 127.83.0.x belong to this file (its agents bind nothing).
const HOSTS = [{ name: 'app1', address: '127.83.0.12', roles: ['app'] }, { name: 'db1', address: '127.83.0.14', roles: ['db'] }]
const CATALOG = 'examples/demo/catalog.yaml'
// A run whose agents never confirm their listeners lasts about LISTEN + CLOSE ms.
const SLOW = { listenTimeoutMs: 1200, closeTimeoutMs: 300 }

/** An agent that joins and then never answers: every run waits out its listen timeout. */
async function silentAgent (t: Test, c: Coordinator, name: string): Promise<void> {
  const ws = new WebSocket(`${c.agentUrl as string}/agent`)
  t.teardown(() => ws.terminate())
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, name, credential: agentCredential(c.token, name), instance: `silent-${name}`, version: 't', hostname: name, platform: 'p', pid: 1, bind: [], addresses: [] }))
  while (c.hub.get(name) === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
}

/** Every run's start and end, in order, as the run manager announces them. */
function timeline (c: Coordinator): Array<{ what: 'started' | 'finished', run: Run, at: number }> {
  const events: Array<{ what: 'started' | 'finished', run: Run, at: number }> = []
  c.runs.on('started', (run) => events.push({ what: 'started', run, at: Date.now() }))
  c.runs.on('finished', (run) => events.push({ what: 'finished', run, at: Date.now() }))
  return events
}

/** A coordinator with a captured log, two silent agents joined, and the timeline of its runs. */
async function setup (t: Test, runDefaults: RunOptions): Promise<{ c: Coordinator, log: CapturedLog, events: ReturnType<typeof timeline> }> {
  const log = captureLog()
  const c = await startCoordinator(t, { catalogFile: CATALOG, hosts: HOSTS, logger: log.logger, runDefaults })
  await silentAgent(t, c, 'app1')
  await silentAgent(t, c, 'db1')
  return { c, log, events: timeline(c) }
}

async function until (test: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('runs that outlast the period: never two at once, the next one as soon as the last ended, said once', async (t) => {
  const { c, log, events } = await setup(t, SLOW)
  const schedule = c.startSchedule({ everyMs: 1000 })
  await until(() => events.filter((e) => e.what === 'finished').length >= 4, 'four scheduled runs')
  await schedule.stop()
  t.same(events.slice(0, 8).map((e) => e.what), ['started', 'finished', 'started', 'finished', 'started', 'finished', 'started', 'finished'], 'each run ends before the next starts')
  for (let i = 1; i + 1 < events.length; i += 2) {
    const ran = (events[i] as (typeof events)[number]).at - (events[i - 1] as (typeof events)[number]).at
    const gap = (events[i + 1] as (typeof events)[number]).at - (events[i] as (typeof events)[number]).at
    t.ok(ran > 1000, `run ${(i + 1) / 2} took ${ran} ms, more than the 1 s period`)
    t.ok(gap < 300, `the next one started ${gap} ms after it ended`)
  }
  t.ok(events.every((e) => e.run.scheduled), 'all of them scheduled')
  t.equal(log.find('warn', /^a run took longer than the period \(1s\): each run now starts when the previous one ends, without overlap$/).length, 1, 'the overrun is logged once, not at every run')
  t.same(log.find('error', /./), [], 'and nothing went wrong')
})

t.test('a run started from the API is waited for; a run that cannot start is logged and the schedule goes on; stop() starts nothing more', async (t) => {
  const { c, log, events } = await setup(t, SLOW)
  const manual = c.startRun()
  let attempts = 0
  // The coordinator as the schedule sees it, whose second scheduled start fails as a bad plan would.
  const target = {
    runs: c.runs,
    hosts: c.hosts,
    waitForAgents: c.waitForAgents,
    startRun: (...args: Parameters<Coordinator['startRun']>): Run => {
      if (++attempts === 2) throw new PortcheckError('PC_ERR_SETTING_INVALID', 'flow X takes its port from setting "p", which has no value')
      return c.startRun(...args)
    }
  }
  const schedule = new RunSchedule(target, { everyMs: 1000, logger: log.logger, firstWaitMs: 0 })
  schedule.start()
  await until(() => events.filter((e) => e.what === 'finished' && e.run.scheduled).length >= 2, 'two scheduled runs')
  await schedule.stop()
  const stoppedAt = Date.now()
  const firstScheduled = events.find((e) => e.what === 'started' && e.run.scheduled)
  const manualEnd = events.find((e) => e.what === 'finished' && e.run === manual)
  t.ok(firstScheduled !== undefined && manualEnd !== undefined && firstScheduled.at >= manualEnd.at, 'the first scheduled run waited for the run started from the API')
  t.equal(log.find('error', /^a scheduled run could not start; the next one is due in 1s$/).length, 1, 'the failed start is logged')
  t.match(log.find('error', /could not start/)[0], { err: { message: /setting "p"/ } }, 'with its cause')
  t.ok(attempts >= 3, `the schedule went on after it (${attempts} starts tried)`)
  t.same(log.find('error', /PC_ERR_RUN_BUSY|busy/), [], 'and never tried to start a run over another')
  await c.runs.abortCurrent()
  const before = events.length
  await new Promise((resolve) => setTimeout(resolve, 2500))
  t.equal(events.filter((e) => e.at > stoppedAt && e.what === 'started').length, 0, 'stopped: no run starts any more')
  t.ok(events.length - before <= 1, 'at most the last run ending')
})

t.test('close() stops the schedule and aborts its run in progress', async (t) => {
  const { c, events } = await setup(t, { listenTimeoutMs: 10_000, closeTimeoutMs: 300 })
  c.startSchedule({ everyMs: 1000 })
  await until(() => c.runs.current !== null, 'the first scheduled run')
  const run = c.runs.current as Run
  const t0 = Date.now()
  await c.close()
  t.equal(run.state, 'aborted', 'the run in progress was aborted')
  t.ok(Date.now() - t0 < 5000, `close() returned in ${Date.now() - t0} ms, without waiting out the 10 s listen timeout`)
  t.equal(events.filter((e) => e.what === 'started').length, 1, 'and nothing started after it')
})
