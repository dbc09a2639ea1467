import { sshLaunchRun } from '../benchmarks/ssh-launch.js'
const f = await sshLaunchRun(Number(process.argv[2] ?? 50), Number(process.argv[3] ?? 10), (s) => console.error(s), (r) => {
  const bySrc: Record<string, number> = {}; const byDst: Record<string, number> = {}
  for (const c of r.checks) if (c.status !== 'pass') { bySrc[c.from!] = (bySrc[c.from!] ?? 0) + 1; byDst[c.to!] = (byDst[c.to!] ?? 0) + 1 }
  console.log('src', JSON.stringify(bySrc)); console.log('dst', JSON.stringify(byDst))
  console.log(JSON.stringify(r.checks.filter((c) => c.status !== 'pass').slice(0, 3), null, 1))
})
console.log(JSON.stringify(f))
