import t from 'tap'
import { labReady } from './guard.js'
import { Lab } from './lab.js'

// Every way a probe can fail on the source, through both probe kinds, from a real namespace:
// routes of each type, an egress rule, no route at all, a name that does not resolve. No packet
// leaves the lab: every target is refused by the source's own stack, or is in 198.18.0.0/15.
t.test('every socket error of a probe maps to an outcome, for TCP and UDP, and none crashes the agent', async (t) => {
  if (!labReady(t)) return
  const lab = await Lab.create(24)
  t.teardown(() => lab.destroy())
  await lab.addHost('src', '198.18.9.1')
  await lab.exec('src', 'ip', ['route', 'add', 'unreachable', '198.18.10.0/24'])
  await lab.exec('src', 'ip', ['route', 'add', 'prohibit', '198.18.11.0/24'])
  await lab.exec('src', 'ip', ['route', 'add', 'blackhole', '198.18.12.0/24'])
  await lab.nft('src', 'table inet pctest {\n  chain output {\n    type filter hook output priority 0; policy accept;\n    ip daddr 198.18.9.77 drop\n  }\n}\n')
  // A DNS server on the lab's own network that never answers: lookups fail after a second.
  await lab.setResolver('src', { nameserver: '198.18.9.53', options: ['timeout:1', 'attempts:1'] })

  const out = await lab.exec('src', process.execPath, ['--import', 'tsx', 'test/lab/probe-errno.ts',
    '198.18.10.1', '198.18.11.1', '198.18.12.1', '198.19.5.1', '2001:2::99', '198.18.9.77', 'nowhere.lab.test'])
  const got: Record<string, string> = {}
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { target: string, protocol: string, outcome: string, error: string | null }
    got[`${r.protocol} ${r.target}`] = `${r.outcome} ${r.error ?? '-'}`
  }
  t.same(got, {
    'tcp 198.18.10.1': 'unreachable EHOSTUNREACH', // route type unreachable
    'udp 198.18.10.1': 'unreachable EHOSTUNREACH',
    'tcp 198.18.11.1': 'egress-denied EACCES', // route type prohibit: the source's own policy
    'udp 198.18.11.1': 'egress-denied EACCES',
    'tcp 198.18.12.1': 'error EINVAL', // blackhole: says nothing about the network (probe-error)
    'udp 198.18.12.1': 'error EINVAL',
    'tcp 198.19.5.1': 'unreachable ENETUNREACH', // no route at all
    'udp 198.19.5.1': 'unreachable ENETUNREACH',
    'tcp 2001:2::99': 'unreachable ENETUNREACH', // no IPv6 route
    'udp 2001:2::99': 'unreachable ENETUNREACH',
    'tcp 198.18.9.77': 'timeout -', // an egress drop: the kernel retries the SYN silently
    'udp 198.18.9.77': 'egress-denied EPERM', // an egress drop: sendmsg fails with EPERM
    'tcp nowhere.lab.test': 'unresolved EAI_AGAIN',
    'udp nowhere.lab.test': 'unresolved EAI_AGAIN'
  }, 'the outcome and error of every probe')
})
