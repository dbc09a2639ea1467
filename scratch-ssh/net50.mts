import { Lab } from '../test/lab/lab.js'
const lab = await Lab.create()
try {
  const n = Number(process.argv[2] ?? 50)
  const names = Array.from({ length: n }, (_, i) => `n${i + 1}`)
  for (const [i, name] of names.entries()) await lab.addHost(name, `198.19.40.${i + 11}`)
  if (process.argv[3] === 'static') {
    const macs = await Promise.all(names.map(async (nm) => (await lab.exec(nm, 'cat', ['/sys/class/net/eth0/address'])).trim()))
    const { spawnSync } = await import('node:child_process')
    for (const [i, nm] of names.entries()) {
      const batch = names.map((_, j) => j === i ? '' : `neigh replace 198.19.40.${j + 11} lladdr ${macs[j]} dev eth0 nud permanent`).filter((l) => l !== '').join('\n') + '\n'
      const r = spawnSync('ip', ['-n', lab.host(nm).ns, '-batch', '-'], { input: batch })
      if (r.status !== 0) throw new Error(String(r.stderr))
    }
    console.log('static neighbours set')
  }
  const servers = names.map((name) => lab.spawn(name, 'node', ['-e', "require('net').createServer((s)=>{s.on('error',()=>{});s.end('ok')}).listen(18080, () => console.log('up'))"]))
  await Promise.all(servers.map((s) => s.waitFor(/up/)))
  const probe = "const net=require('net');const addrs=process.argv.slice(1);let bad=[];let left=addrs.length;for(const a of addrs){const s=net.connect({host:a,port:18080,timeout:1000});s.on('connect',()=>{s.destroy();if(--left===0)console.log('bad',bad.join(' '))});s.on('timeout',()=>{bad.push(a);s.destroy();if(--left===0)console.log('bad',bad.join(' '))});s.on('error',(e)=>{bad.push(a+':'+e.code);if(--left===0)console.log('bad',bad.join(' '))})}"
  const outs = await Promise.all(names.map((src) => lab.exec(src, 'node', ['-e', probe, ...names.map((_, i) => `198.19.40.${i + 11}`)])))
  let bad = 0
  for (const o of outs) bad += o.trim().split(' ').length - 1
  console.log('bad connections', bad, 'of', names.length * names.length)
  console.log(outs.filter((o) => o.trim() !== 'bad').slice(0, 3).join(''))
} finally { await lab.destroy() }
