import t from 'tap'
import type { TraceFinding } from '@portcheck/protocol'
import { decideDrop, reportedRule, type TraceEvidence } from '../src/localize/drop-decision.js'
import { summaryText } from '../src/localize/localization.js'
import { formatFix } from '../src/fix/format-fix.js'
import { checkKey } from '../src/report/check-key.js'
import { remedy } from '../src/report/remedy.js'
import { fixtureReport } from './report-fixture.js'

// Where a blocked check was dropped, from what its two agents traced of one more probe: the
// decision itself (the lab runs it for real), the rule as the report names it, and the summary.

const finding = (role: 'source' | 'target', f: Partial<TraceFinding>): TraceFinding => ({ id: 3, role, seen: 0, passed: 0, dropped: 0, ...f })
const DB1_DROP = { family: 'inet', table: 'filter', chain: 'input', handle: 3, text: 'ip saddr 198.18.1.12 tcp dport 15432 drop', owner: 'nftables' as const }
const base: TraceEvidence = { from: 'app1', to: 'db1', passed: false, source: null, target: null, watched: ['198.18.1.12'] }

t.test('the drop site follows the evidence, and only the evidence', async (t) => {
  t.same(decideDrop({ ...base, source: finding('source', { seen: 3, dropped: 3, rule: { ...DB1_DROP, chain: 'output' } }), target: finding('target', {}) }),
    { droppedAt: 'source', rule: { text: DB1_DROP.text, family: 'inet', table: 'filter', chain: 'output', handle: 3 } }, 'dropped by a rule of the source\'s, none left it: source')
  t.same(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3 }), target: finding('target', { seen: 3, dropped: 3, rule: DB1_DROP }) }),
    { droppedAt: 'target', rule: { text: DB1_DROP.text, family: 'inet', table: 'filter', chain: 'input', handle: 3 } }, 'left the source, a rule of the target\'s dropped it: target')
  t.same(decideDrop({ ...base, source: null, target: finding('target', { seen: 3, dropped: 3, rule: DB1_DROP }) }).droppedAt, 'target', 'the target\'s evidence is enough when the source cannot trace')
  t.same(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3, via: ['198.18.1.12'] }), target: finding('target', {}) }), { droppedAt: 'network' }, 'left the source, never reached the target: network')
  t.match(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3, via: ['198.18.7.7'] }), target: finding('target', {}) }),
    { note: /left app1 from 198\.18\.7\.7, an address db1 was not watching for/ }, 'left with an address the target did not watch: no claim')
  t.notOk('droppedAt' in decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3 }), target: null }), 'the target could not trace: no claim of a network drop')
  t.same(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3 }), target: finding('target', {}), targetUnwatched: ['eth9', 'bond0'] }),
    { note: 'not localized: the re-probe left app1 and db1 saw nothing arrive, but db1 has netdev ingress chains on eth9, bond0 that its agent could not watch: the drop is there or in the network' }, 'netdev chains the target could not watch: no claim of a network drop')
  t.match(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3 }), target: finding('target', { seen: 3, dropped: 3, rule: DB1_DROP }), targetUnwatched: ['eth9'] }), { droppedAt: 'target' }, 'a drop the target saw stands, whatever it could not watch')
  t.match(decideDrop({ ...base, source: finding('source', { seen: 3, passed: 3 }), target: finding('target', { seen: 3, passed: 3 }) }), { note: /reached db1 and no rule of db1's own dropped it/ })
  t.match(decideDrop({ ...base, source: finding('source', {}), target: finding('target', {}) }), { note: /saw no packet of the re-probe leave/ })
  const passed = decideDrop({ ...base, passed: true, source: finding('source', { seen: 1, dropped: 1 }) })
  t.notOk('droppedAt' in passed, 'a re-probe that passed names no place, whatever the trace says')
  t.match(passed, { detail: /reached db1's listener: the flow passed this time/ })
})

t.test('the rule as the report names it', async (t) => {
  t.same(reportedRule({ ...DB1_DROP, handle: undefined as unknown as number, text: 'policy drop' }), { text: 'policy drop', family: 'inet', table: 'filter', chain: 'input' }, 'a chain\'s policy: no handle')
  t.same(reportedRule({ family: 'ip', table: 'filter', chain: 'INPUT', handle: 7, text: 'ip saddr 1.2.3.4 counter packets 0 bytes 0 drop', owner: 'iptables' }), { table: 'filter', chain: 'INPUT', text: 'ip saddr 1.2.3.4 drop' }, 'iptables: where, and the rule without its counters')
  t.same(reportedRule({ family: 'inet', table: 'firewalld', chain: 'filter_INPUT', handle: 146, text: 'reject with icmpx admin-prohibited', owner: 'firewalld', zone: 'internal' }), { zone: 'internal', text: 'reject with icmpx admin-prohibited' })
  t.equal(reportedRule({ family: 'inet', table: 'firewalld', chain: 'filter_INPUT', handle: 146, text: 'reject', owner: 'firewalld' }), null, 'firewalld without a zone: no rule a fix could use')
  t.equal(reportedRule({ ...DB1_DROP, chain: 'input; flush ruleset' }), null, 'a name a script could not hold')
})

t.test('the localization summary, in one line', async (t) => {
  const s = { limit: 64, candidates: 7, traced: 6, localized: 5, overLimit: 0, unavailable: [{ host: 'db1', why: 'not root' }] }
  t.equal(summaryText(s), 'localization: 5 of 7 blocked check(s) localized; unavailable on db1 (not root)')
  t.equal(summaryText({ ...s, limit: 0 }), 'localization: off (--localize 0)')
  t.equal(summaryText({ ...s, candidates: 0 }), 'localization: nothing to localize (no check was dropped, refused or unreachable)')
  t.equal(summaryText({ ...s, limit: 2, overLimit: 5, unavailable: [] }, true), 'localization: 5 of 7 blocked check(s) localized; 5 not tried (--localize 2); stopped before the end')
})

t.test('a drop by a chain\'s policy: the accept goes at the end of that chain', async (t) => {
  const report = await fixtureReport()
  const c = report.checks.find((x) => checkKey(x) === 'app1>db1 tcp/15432 ipv4')
  if (c === undefined) throw new Error('no such check')
  Object.assign(c, { droppedAt: 'target', rule: { text: 'policy drop', family: 'inet', table: 'strict', chain: 'input' } })
  c.remedy = remedy(c)
  t.equal(c.remedy, 'allow tcp 15432 from 198.18.1.12 to 198.18.1.14 inbound on db1, at the end of nftables chain inet strict input, whose policy drops it')
  t.match(formatFix(report, 'nftables', { host: 'db1' }).text, /\nadd rule inet strict input ip saddr 198\.18\.1\.12 tcp dport 15432 accept comment "portcheck DEMO-03 app1->db1 tcp\/15432"\n/)
})
