import t from 'tap'
import path from 'node:path'
import pino from 'pino'
import type { AgentMessage } from '@portcheck/protocol'
import { joinDashedCredential } from '../src/cli.js'
import { isStaleTable, ownTableName, setInstanceAlive } from '../src/nft/own-tables.js'
import { ownerFromListing } from '../src/nft/rule-owner.js'
import { dropOf, firewalldZone, parseTraceLine, tallyFindings, type TraceEvent } from '../src/nft/trace-parse.js'
import { tracksConnections } from '../src/nft/counter.js'
import { countRuleset, ingressRuleset, ingressWatch, operatorIngressDevices, traceRuleset } from '../src/nft/watch-rules.js'
import { NftWatch } from '../src/run/nft-watch.js'

// The nft module's pure parts: reading `nft -a monitor` trace lines, telling where a packet was
// dropped and whose rules those are, and writing the agent's own tables. What nft itself does
// with them is the namespace lab's (test/lab/closed-loop.test.ts, test/lab/localize.test.ts).

const TABLE = 'portcheck_trace_4242_inst'

/** A trace as nftables 1.0.6 prints it, for one packet: app1 → db1 tcp/15432, dropped by db1's rule. */
const TARGET_DROP = [
  `trace id 1ce6caac netdev ${TABLE} in0 packet: iif "eth0" ether saddr a2:4e:67:97:10:61 ether daddr e6:66:74:88:a2:fd ip saddr 198.18.1.12 ip daddr 198.18.1.14 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 23037 ip protocol tcp ip length 60 tcp sport 48708 tcp dport 15432 tcp flags == syn tcp window 64240 `,
  `trace id 1ce6caac netdev ${TABLE} in0 rule ip saddr 198.18.1.12 tcp dport 15432 meta nftrace set 1 # handle 2 (verdict continue)`,
  `trace id 1ce6caac netdev ${TABLE} in0 policy accept `,
  `trace id 1ce6caac inet ${TABLE} pre packet: iif "eth0" ip saddr 198.18.1.12 ip daddr 198.18.1.14 ip protocol tcp tcp sport 48708 tcp dport 15432 tcp flags == syn`,
  `trace id 1ce6caac inet ${TABLE} pre rule ip saddr 198.18.1.12 tcp dport 15432 meta nftrace set 1 # handle 5 (verdict continue)`,
  'trace id 1ce6caac inet filter input packet: iif "eth0" ip saddr 198.18.1.12 ip daddr 198.18.1.14 ip protocol tcp tcp sport 48708 tcp dport 15432 tcp flags == syn',
  'trace id 1ce6caac inet filter input rule ip saddr 198.18.1.12 tcp dport 15432 drop # handle 3 (verdict drop)'
]

t.test('trace lines: packets, rules with and without a handle, policies; anything else is not a trace', async (t) => {
  t.same(parseTraceLine(TARGET_DROP[0] as string), { id: '1ce6caac', family: 'netdev', table: TABLE, chain: 'in0', kind: 'packet', packet: { saddr: '198.18.1.12', daddr: '198.18.1.14', protocol: 'tcp', dport: 15432, sport: 48708 } })
  t.same(parseTraceLine(TARGET_DROP[6] as string), { id: '1ce6caac', family: 'inet', table: 'filter', chain: 'input', kind: 'rule', text: 'ip saddr 198.18.1.12 tcp dport 15432 drop', handle: 3, verdict: 'drop' })
  t.same(parseTraceLine('trace id 8e17e1e7 ip filter INPUT rule ip saddr 198.18.9.1 tcp dport 5555 counter packets 0 bytes 0 reject # handle 2 (verdict drop)# Warning: table ip filter is managed by iptables-nft, do not touch!'),
    { id: '8e17e1e7', family: 'ip', table: 'filter', chain: 'INPUT', kind: 'rule', text: 'ip saddr 198.18.9.1 tcp dport 5555 counter packets 0 bytes 0 reject', handle: 2, verdict: 'drop' }, 'a warning nft glued to the line is not part of it')
  t.same(parseTraceLine('trace id 0a inet filter input rule tcp dport 22 jump ssh (verdict jump ssh)'), { id: '0a', family: 'inet', table: 'filter', chain: 'input', kind: 'rule', text: 'tcp dport 22 jump ssh', verdict: 'jump' }, 'without -a: no handle')
  t.same(parseTraceLine('trace id 0b inet strict input policy drop '), { id: '0b', family: 'inet', table: 'strict', chain: 'input', kind: 'policy', verdict: 'drop' })
  t.same(parseTraceLine('trace id 0c inet filter ssh verdict continue'), { id: '0c', family: 'inet', table: 'filter', chain: 'ssh', kind: 'verdict', verdict: 'continue' })
  t.same(parseTraceLine('ip6 saddr 2001:2::12 ip6 daddr 2001:2::14 tcp dport 15432 trace id nonsense'), null)
  t.same(parseTraceLine('add table inet portcheck_trace_1_x # handle 7'), null, 'a ruleset event')
  t.same(parseTraceLine('trace id 0d ip6 filter INPUT packet: iif "eth0" ip6 saddr 2001:2::12 ip6 daddr 2001:2::14 ip6 nexthdr udp udp sport 5 udp dport 15405')?.packet, { saddr: '2001:2::12', daddr: '2001:2::14', protocol: 'udp', dport: 15405, sport: 5 }, 'IPv6')
})

const events = (lines: readonly string[]): TraceEvent[] => lines.map(parseTraceLine).filter((e): e is TraceEvent => e !== null)

t.test('a drop is the last drop verdict of another table than the agent\'s own; firewalld drops name their zone', async (t) => {
  const own = (table: string): boolean => table.startsWith('portcheck_trace_')
  t.same(dropOf(events(TARGET_DROP), own), { family: 'inet', table: 'filter', chain: 'input', handle: 3, text: 'ip saddr 198.18.1.12 tcp dport 15432 drop' })
  t.equal(dropOf(events(TARGET_DROP.slice(0, 6)), own), null, 'no drop verdict')
  t.same(dropOf(events(['trace id 1 inet strict input packet: ip saddr 1.2.3.4', 'trace id 1 inet strict input policy drop']), own), { family: 'inet', table: 'strict', chain: 'input', text: 'policy drop' }, 'a chain\'s policy')
  const firewalld = events([
    'trace id 2 inet firewalld filter_INPUT packet: iif "eth0" ip saddr 198.18.1.12 ip daddr 198.18.1.15 tcp sport 5 tcp dport 15432',
    'trace id 2 inet firewalld filter_INPUT rule jump filter_INPUT_ZONES # handle 141 (verdict jump filter_INPUT_ZONES)',
    'trace id 2 inet firewalld filter_INPUT_ZONES rule iifname "eth0" goto filter_IN_internal # handle 170 (verdict goto filter_IN_internal)',
    'trace id 2 inet firewalld filter_IN_internal rule jump filter_IN_internal_allow # handle 300 (verdict jump filter_IN_internal_allow)',
    'trace id 2 inet firewalld filter_IN_internal_allow verdict continue',
    'trace id 2 inet firewalld filter_INPUT rule reject with icmpx admin-prohibited # handle 146 (verdict drop)'
  ])
  t.match(dropOf(firewalld, own), { table: 'firewalld', chain: 'filter_INPUT', handle: 146, zone: 'internal' }, 'firewalld\'s final reject: the zone the packet went through')
  t.equal(firewalldZone('filter_IN_public_deny'), 'public')
  t.equal(firewalldZone('filter_IN_public'), 'public')
  t.equal(firewalldZone('filter_OUT_dmz_allow'), 'dmz')
  t.equal(firewalldZone('filter_IN_policy_allow-host-ipv6'), null, 'a policy, not a zone')
  t.equal(firewalldZone('filter_INPUT_ZONES'), null)
})

t.test('findings: what each watched check\'s packets did, counted per packet', async (t) => {
  const source = [
    // Two attempts leave the source; the second is dropped by its own output rule.
    `trace id a1 inet ${TABLE} out packet: oif "eth0" ip saddr 198.18.1.11 ip daddr 198.18.1.12 ip protocol tcp tcp sport 40000 tcp dport 18080`,
    'trace id a1 inet filter output packet: oif "eth0" ip saddr 198.18.1.11 ip daddr 198.18.1.12 ip protocol tcp tcp sport 40000 tcp dport 18080',
    'trace id a1 inet filter output rule ip daddr 198.18.1.12 tcp dport 18080 drop # handle 3 (verdict drop)',
    `trace id a2 inet ${TABLE} out packet: oif "eth0" ip saddr 198.18.1.11 ip daddr 198.18.1.12 ip protocol tcp tcp sport 40001 tcp dport 18080`,
    'trace id a2 inet filter output rule ip daddr 198.18.1.12 tcp dport 18080 drop # handle 3 (verdict drop)',
    // Another check's packet gets past every filter, with a NAT'd address.
    `trace id b1 inet ${TABLE} out packet: oif "eth0" ip saddr 198.18.1.11 ip daddr 198.18.1.13 ip protocol udp udp sport 40002 udp dport 17946`,
    `trace id b1 inet ${TABLE} post packet: oif "eth0" ip saddr 198.18.9.9 ip daddr 198.18.1.13 ip protocol udp udp sport 40002 udp dport 17946`,
    `trace id b1 inet ${TABLE} post policy accept `,
    // A packet of nothing watched: ignored.
    `trace id c1 inet ${TABLE} out packet: oif "eth0" ip saddr 198.18.1.11 ip daddr 198.18.1.99 ip protocol tcp tcp sport 40003 tcp dport 18080`
  ]
  const found = tallyFindings(events([...source, ...TARGET_DROP]), TABLE,
    [{ id: 1, protocol: 'tcp', port: 18080, address: '198.18.1.12' }, { id: 2, protocol: 'udp', port: 17946, address: '198.18.1.13' }],
    [{ id: 3, protocol: 'tcp', port: 15432, from: ['198.18.1.12'] }, { id: 4, protocol: 'tcp', port: 15432, from: ['198.18.1.13'] }])
  t.same(found.map((f) => f.finding), [
    { id: 1, role: 'source', seen: 2, passed: 0, dropped: 2 },
    { id: 2, role: 'source', seen: 1, passed: 1, dropped: 0, via: ['198.18.9.9'] },
    { id: 3, role: 'target', seen: 1, passed: 0, dropped: 1 },
    { id: 4, role: 'target', seen: 0, passed: 0, dropped: 0 }
  ])
  t.same(found.map((f) => f.drop?.handle ?? null), [3, null, 3, null], 'the rule that dropped them')
})

t.test('whose rules a table holds', async (t) => {
  t.equal(ownerFromListing('inet', 'firewalld', null), 'firewalld')
  t.equal(ownerFromListing('ip', 'filter', 'table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n# Warning: table ip filter is managed by iptables-nft, do not touch!\n'), 'iptables', 'iptables-nft says so')
  t.equal(ownerFromListing('ip', 'filter', 'table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n\tchain ufw-user-input {\n\t}\n}\n'), 'iptables', 'an older nft: its tables and base chains tell')
  t.equal(ownerFromListing('ip', 'filter', 'table ip filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n'), 'nftables', 'a native table of the same name')
  t.equal(ownerFromListing('inet', 'filter', null), 'nftables')
})

t.test('the agent\'s own tables: written from checked values only', async (t) => {
  const trace = traceRuleset(TABLE, [{ id: 1, protocol: 'tcp', port: 18080, address: '198.18.1.12' }], [{ id: 2, protocol: 'udp', port: 15405, from: ['198.18.1.14', '2001:2::14'] }])
  t.match(trace, /add chain inet portcheck_trace_4242_inst out \{ type filter hook output priority -500; policy accept; \}/)
  t.match(trace, /add rule inet portcheck_trace_4242_inst post ip daddr 198\.18\.1\.12 tcp dport 18080 meta nftrace set 1\n/)
  t.match(trace, /pre ip saddr 198\.18\.1\.14 udp dport 15405 meta nftrace set 1\n.*pre ip6 saddr 2001:2::14 udp dport 15405 meta nftrace set 1\n/s)
  t.throws(() => traceRuleset(TABLE, [{ id: 1, protocol: 'tcp', port: 18080, address: 'db1; flush ruleset' }], []), /not IP addresses/)
  t.throws(() => traceRuleset(TABLE, [{ id: 1, protocol: 'tcp', port: 0, address: '198.18.1.12' }], []), /not a port/)
  t.throws(() => ingressRuleset(TABLE, ['eth0"; flush ruleset'], []), /not an interface name/)
  const udp = [{ id: 7, port: 15405, from: ['198.18.1.15'], nonce: 'AbCdEfGhIjKlMnOpQrSt' }]
  // "PCHK1 " and the nonce, in 128-bit pieces: 26 bytes.
  const nonceMatch = '@th,64,128 0x5043484b31204162436445664768496a @th,192,80 0x4b6c4d6e4f7051725374'
  const count = countRuleset('portcheck_count_4242_inst', udp)
  t.equal(count.split('\n').filter((l) => l.startsWith('add rule')).join('\n'), `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 udp dport 15405 ${nonceMatch} counter comment "pc7"`, 'a host that tracks no connection: one rule, in input, by the datagram\'s own port')
  t.throws(() => countRuleset('portcheck_count_4242_inst', [{ id: 7, port: 15405, from: ['198.18.1.15'], nonce: 'short' }]), /not a nonce/)
  t.same(countRuleset('portcheck_count_4242_inst', udp, true).split('\n').filter((l) => l.startsWith('add rule')), [
    `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 meta l4proto udp ct original proto-dst 15405 ${nonceMatch} counter comment "pc7"`,
    `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 ct state untracked udp dport 15405 ${nonceMatch} counter comment "pc7"`,
    `add rule inet portcheck_count_4242_inst forward ip saddr 198.18.1.15 meta l4proto udp ct original proto-dst 15405 ${nonceMatch} ct status dnat counter comment "pc7"`
  ], 'one that does: by the port it was sent to, in input and, for what it DNATed, in forward; by its own port what it does not track; all under one comment')
  const tcpWatches = [{ id: 8, protocol: 'tcp', port: 15433, from: ['198.18.1.15', '2001:2::15'] }, { id: 9, protocol: 'tcp', port: 15433, from: ['198.18.1.15'] }] as const
  const syn = 'tcp flags & (syn | ack) == syn'
  const plain = countRuleset('portcheck_count_4242_inst', tcpWatches)
  t.same(plain.split('\n').filter((l) => l.startsWith('add rule')), [
    `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 tcp dport 15433 ${syn} add @syn4 { ip saddr . tcp dport . tcp sport }`,
    `add rule inet portcheck_count_4242_inst input ip6 saddr 2001:2::15 tcp dport 15433 ${syn} add @syn6 { ip6 saddr . tcp dport . tcp sport }`
  ], 'a host that tracks no connection: the SYN\'s own port, one rule per source address and port')
  t.notMatch(plain, /\bct |forward/, 'and no ct expression, which would start tracking every connection of the host')
  const syns = countRuleset('portcheck_count_4242_inst', tcpWatches, true)
  t.match(syns, /add set inet portcheck_count_4242_inst syn4 \{ type ipv4_addr \. inet_service \. inet_service; flags dynamic; size 65535; \}\n/)
  t.match(syns, /add set inet portcheck_count_4242_inst syn6 \{ type ipv6_addr \. inet_service \. inet_service; flags dynamic; size 65535; \}\n/)
  t.match(syns, /add chain inet portcheck_count_4242_inst forward \{ type filter hook forward priority \d+; policy accept; \}\n/)
  t.same(syns.split('\n').filter((l) => l.includes('ip saddr')), [
    `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 meta l4proto tcp ct original proto-dst 15433 ${syn} add @syn4 { ip saddr . ct original proto-dst . tcp sport }`,
    `add rule inet portcheck_count_4242_inst input ip saddr 198.18.1.15 ct state untracked tcp dport 15433 ${syn} add @syn4 { ip saddr . tcp dport . tcp sport }`,
    `add rule inet portcheck_count_4242_inst forward ip saddr 198.18.1.15 meta l4proto tcp ct original proto-dst 15433 ${syn} ct status dnat add @syn4 { ip saddr . ct original proto-dst . tcp sport }`
  ], 'one that tracks connections: the original port in input and forward (what it DNATed), the own port of what it does not track; the same source and port once')
  t.match(syns, /input ip6 saddr 2001:2::15 meta l4proto tcp ct original proto-dst 15433 tcp flags & \(syn \| ack\) == syn add @syn6 \{ ip6 saddr \. ct original proto-dst \. tcp sport \}\n/)
  t.notMatch(countRuleset('portcheck_count_4242_inst', udp), /syn4/, 'no sets without a TCP check')
  t.throws(() => countRuleset('portcheck_count_4242_inst', [{ id: 8, protocol: 'tcp', port: 15433, from: ['198.18.1.15; flush ruleset'] }]), /not IP addresses/)
})

t.test('whether the host tracks connections: conntrack holds entries', async (t) => {
  const dir = t.testdir({ some: '12\n', none: '0\n', junk: 'x\n' })
  t.equal(await tracksConnections(path.join(dir, 'some')), true)
  t.equal(await tracksConnections(path.join(dir, 'none')), false, 'loaded and idle: counting by the SYN\'s own port is exact')
  t.equal(await tracksConnections(path.join(dir, 'junk')), false)
  t.equal(await tracksConnections(path.join(dir, 'missing')), false, 'no conntrack at all: no NAT either')
})

t.test('the interfaces to watch at ingress: those the operator\'s netdev chains filter', async (t) => {
  const listing = [
    'table netdev filter {',
    '\tchain in1 {',
    '\t\ttype filter hook ingress device "eth0" priority filter; policy accept;',
    '\t}',
    '\tchain in2 {',
    '\t\ttype filter hook ingress devices = { eth1, "bond0" } priority -10; policy drop;',
    '\t}',
    '\tchain plain {',
    '\t}',
    '}',
    'table netdev portcheck_trace_4242_inst {',
    '\tchain in0 {',
    '\t\ttype filter hook ingress device "eth7" priority -500; policy accept;',
    '\t}',
    '}',
    'table netdev other {',
    '\tchain again {',
    '\t\ttype filter hook ingress device eth0 priority 0; policy accept;',
    '\t}',
    '}',
    ''
  ].join('\n')
  t.same(operatorIngressDevices(listing), ['eth0', 'eth1', 'bond0'], 'each once, in order; the agent\'s own tables are not the operator\'s')
  t.same(operatorIngressDevices(''), [], 'no netdev chain: no interface to watch (the prerouting mark sees all)')
  const many = Array.from({ length: 10 }, (_, i) => `veth${i}`)
  t.same(ingressWatch(many), { watched: many.slice(0, 8), unwatched: ['veth8', 'veth9'] }, 'at most 8 watched; the others said')
  t.same(ingressWatch(['eth0', 'we"ird']), { watched: ['eth0'], unwatched: ['we"ird'] }, 'a name the ruleset could not carry is not watched, and said')
})

t.test('stale tables: a gone agent\'s, never a live one\'s, never another\'s', async (t) => {
  t.equal(isStaleTable('portcheck_trace_999999999_x'), true, 'its process is gone')
  t.equal(isStaleTable(`portcheck_count_${process.pid}_gone`), true, 'this process, an agent that stopped')
  setInstanceAlive('alive', true)
  t.equal(isStaleTable(ownTableName('trace', 'alive')), false, 'an agent of this process that runs')
  setInstanceAlive('alive', false)
  t.equal(isStaleTable('filter'), false)
  t.equal(isStaleTable('portcheck_fix'), false, 'not a table an agent makes')
  t.equal(isStaleTable('portcheck_trace_1_x'), false, 'pid 1 runs')
})

t.test('a trace or a count only ever concerns this run: other orders are refused before nftables is touched', async (t) => {
  const sent: AgentMessage[] = []
  const watch = (usable: boolean): NftWatch => new NftWatch({
    runId: 'r1',
    nft: usable ? { usable: true } : { usable: false, why: 'not root' },
    instance: 'unit',
    send: (m) => sent.push(m),
    logger: pino({ level: 'silent' }),
    listens: (protocol, port) => protocol === 'tcp' && port === 15432,
    inUse: () => false,
    probed: (protocol, host, port) => protocol === 'tcp' && host === '198.18.1.14' && port === 15432,
    addressOf: async (host) => host === '198.18.1.14' ? host : null
  })
  const last = async (w: NftWatch, f: () => Promise<void> | void): Promise<AgentMessage | undefined> => { await f(); await w.traceStop(); return sent.at(-1) }
  let w = watch(false)
  t.same(await last(w, () => w.trace({ type: 'trace-start', runId: 'r1', items: [{ id: 0, role: 'source', protocol: 'tcp', host: '198.18.1.14', port: 15432 }] })), { type: 'trace-ready', runId: 'r1', error: 'not root' }, 'without nftables, says why')
  w = watch(true)
  t.same(await last(w, () => w.trace({ type: 'trace-start', runId: 'r1', items: [{ id: 0, role: 'source', protocol: 'tcp', host: '198.18.1.99', port: 15432 }] })), { type: 'trace-ready', runId: 'r1', error: 'items[0]: this run sent no tcp/15432 probe to 198.18.1.99' }, 'a host this run never probed')
  w = watch(true)
  t.same(await last(w, () => w.trace({ type: 'trace-start', runId: 'r1', items: [{ id: 0, role: 'source', protocol: 'tcp', host: '198.18.1.14', port: 22 }] })), { type: 'trace-ready', runId: 'r1', error: 'items[0]: this run sent no tcp/22 probe to 198.18.1.14' }, 'a port this run never probed')
  w = watch(true)
  t.same(await last(w, () => w.trace({ type: 'trace-start', runId: 'r1', items: [{ id: 0, role: 'target', protocol: 'udp', port: 15432, from: ['198.18.1.12'] }] })), { type: 'trace-ready', runId: 'r1', error: 'items[0]: this run does not listen on udp/15432' }, 'a port this run does not listen on')
  w = watch(true)
  t.same(await last(w, () => w.count({ type: 'count-start', runId: 'r1', items: [{ id: 0, port: 15432, from: ['198.18.1.12'], nonce: 'AbCdEfGhIjKlMnOp' }] })), { type: 'count-ready', runId: 'r1', error: 'items[0]: udp/15432 is not a port of this run that another process holds' }, 'counting only where another process holds a UDP port of the run')
  w = watch(true)
  t.same(await last(w, () => w.count({ type: 'count-start', runId: 'r1', items: [{ id: 0, protocol: 'tcp', port: 15432, from: ['198.18.1.12'] }] })), { type: 'count-ready', runId: 'r1', error: 'items[0]: tcp/15432 is not a port of this run that another process holds' }, 'a TCP port of the run our own listener holds: nothing to count')
  t.same(await w.arrived(), [], 'nothing counted, nothing arrived')
  const n = sent.length
  await w.end()
  t.equal(sent.length, n, 'ending sends nothing more')
})

t.test('a join command\'s credential may start with a dash', async (t) => {
  const dashed = '-' + 'a'.repeat(42)
  t.same(joinDashedCredential(['--coordinator', 'wss://h:7070', '--token', dashed, '--name', 'db1']), ['--coordinator', 'wss://h:7070', `--token=${dashed}`, '--name', 'db1'])
  t.same(joinDashedCredential(['--token', '--name', 'db1']), ['--token', '--name', 'db1'], 'an option after --token is not a credential')
})
