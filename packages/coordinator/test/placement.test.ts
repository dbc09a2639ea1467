import t from 'tap'
import type { InventoryHost } from '@portcheck/protocol'
import { AcceptedIndex } from '../src/scheduler/accepted-index.js'
import { canonicalAddress } from '../src/inventory/host-addresses.js'
import { placementOf, type AgentWhereabouts } from '../src/scheduler/placement.js'

const dual: InventoryHost = { name: 'db1', address: '198.18.1.14', addresses: ['198.18.1.14', '2001:2::14'], roles: ['db'] }
const named: InventoryHost = { name: 'db3', address: 'db3.example', roles: ['db'] }
const owners: Record<string, string> = { '198.18.1.14': 'db1', '2001:2::14': 'db1', '198.18.1.15': 'db2' }
const ownerOf = (a: string): string | undefined => owners[a]
const at = (addresses: string[], bind: string[] = []): AgentWhereabouts => ({ bind, addresses })

t.test('canonical forms: compressed IPv6, no zone, no v4-mapped prefix', async (t) => {
  t.equal(canonicalAddress('2001:0002:0000:0000:0000:0000:0000:0014'), '2001:2::14')
  t.equal(canonicalAddress('FE80::1%eth0'), 'fe80::1')
  t.equal(canonicalAddress('::ffff:198.18.1.14'), '198.18.1.14', 'what a dual-stack socket reports for an IPv4 peer')
  t.equal(canonicalAddress('db3.Example'), 'db3.example')
})

t.test('a dual-stack host: placed with both, a gap in the family it lacks, misplaced with neither', async (t) => {
  t.same(placementOf(dual, dual.addresses ?? [], at(['198.18.1.14/24', '2001:2:0::14/64', 'fe80::1/64']), ownerOf), { placed: true, gaps: {} }, 'both addresses on its interfaces')
  const v4only = placementOf(dual, dual.addresses ?? [], at(['198.18.1.14/24', '127.0.0.1/8']), ownerOf)
  t.match(v4only, { placed: true, gaps: { ipv6: { reason: 'agent-misplaced', detail: /db1's agent does not have db1's inventory IPv6 address 2001:2::14 \(its host's addresses are 198\.18\.1\.14\)/ } } })
  t.notOk('ipv4' in (v4only as { gaps: object }).gaps, 'its IPv4 checks go ahead')
  t.match(placementOf(dual, dual.addresses ?? [], at([], ['198.18.1.14']), ownerOf), { placed: true, gaps: { ipv6: { detail: /it listens and probes on 198\.18\.1\.14 only \(--bind\)/ } } }, '--bind of one family: the other is a gap')
  t.same(placementOf(dual, dual.addresses ?? [], at([], ['198.18.1.14', '2001:2::14']), ownerOf), { placed: true, gaps: {} }, '--bind of both families')
  t.match(placementOf(dual, dual.addresses ?? [], at(['198.18.1.15/24']), ownerOf), { placed: false, detail: /addresses are 198\.18\.1\.15 \(db2's address in the inventory\), not on db1's inventory addresses 198\.18\.1\.14, 2001:2::14/ })
  t.match(placementOf(dual, dual.addresses ?? [], at([], ['198.18.1.15']), ownerOf), { placed: false, detail: /listens and probes on 198\.18\.1\.15 \(db2's address in the inventory\) \(--bind\)/ })
  t.same(placementOf({ ...dual, nat: true }, dual.addresses ?? [], at(['10.0.0.1/8']), ownerOf), { placed: true, gaps: {} }, 'nat: never checked')
})

t.test('a host given by name: placed where its name resolves; a family its agent has no address of is a gap', async (t) => {
  t.match(placementOf(named, ['198.18.1.16'], at(['198.18.1.16/24', '127.0.0.1/8', 'fe80::5/64']), ownerOf), { placed: true, gaps: { ipv6: { reason: 'no-common-family', detail: /db3's agent runs on a host with no IPv6 address/ } } })
  t.same(placementOf(named, ['198.18.1.16'], at(['198.18.1.16/24', '2001:2::16/64']), ownerOf), { placed: true, gaps: {} })
  t.same(placementOf(named, [], at(['127.0.0.1/8', '::1/128']), ownerOf), { placed: true, gaps: {} }, 'loopback only (a demo): no gap')
})

t.test('connections a listener accepted count for the check of their own family only', async (t) => {
  const index = new AcceptedIndex()
  // app1's IPv4 connection from local port 40001 reached db1; its IPv6 one, from port 40001 too, did not.
  index.add('db1', { port: 15432, address: '198.18.1.12', remotePort: 40001 })
  const app1 = new Set(['198.18.1.12', '2001:2::12'])
  const isInventory = (a: string): boolean => app1.has(a)
  t.equal(index.reached('db1', 15432, app1, [40001], isInventory, 'ipv4'), 1, 'the IPv4 check: its connection reached the listener')
  t.equal(index.reached('db1', 15432, app1, [40001], isInventory, 'ipv6'), 0, 'the IPv6 check: the IPv4 connection with the same port number is not its own')
  t.equal(index.reached('db1', 15432, app1, [40001], isInventory), 1, 'without a family (a name not resolved yet): any')
  index.add('db1', { port: 15432, address: '203.0.113.9', remotePort: 40003 })
  t.equal(index.reached('db1', 15432, app1, [40003], isInventory, 'ipv4'), 1, 'a NAT address of the family counts')
  t.equal(index.reached('db1', 15432, app1, [40003], isInventory, 'ipv6'), 0, 'of the other family, not')
})
