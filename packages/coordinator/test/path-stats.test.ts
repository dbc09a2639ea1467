import t from 'tap'
import { PathStats } from '../src/scheduler/path-stats.js'

const figures = (host: string, attempts: number, failed: number): { host: string, protocol: 'udp', attempts: number, failed: number, rttMs: number } => ({ host, protocol: 'udp', attempts, failed, rttMs: 0.3 })

t.test('a silent check is judged on the lossiest of its path, its source and its target, as last reported', async (t) => {
  const stats = new PathStats()
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'none', sample: { attempts: 0, failed: 0 } }, 'nothing reported: nothing measured')

  stats.update('b', [figures('198.18.0.9', 40, 10)])
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'target', sample: { attempts: 40, failed: 10 } }, 'another source lost a quarter toward the target')

  // The sums are kept between updates (every check is judged): a new report must change them.
  stats.update('c', [figures('198.18.0.9', 60, 30)])
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'target', sample: { attempts: 100, failed: 40 } }, 'a second source\'s report is counted')
  stats.update('b', [figures('198.18.0.9', 40, 0)])
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'target', sample: { attempts: 100, failed: 30 } }, 'a source\'s new report replaces its previous one')

  stats.update('a', [figures('198.18.0.8', 30, 25)])
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'source', sample: { attempts: 30, failed: 25 } }, 'the source\'s own loss toward other targets, once reported, when it is the worst')
  stats.update('a', [figures('198.18.0.9', 200, 0), figures('198.18.0.8', 30, 0)])
  t.match(stats.judge('a', '198.18.0.9', 'tcp'), { scope: 'path', sample: { attempts: 200, failed: 0 } }, 'a path measured enough is judged on its own figures')
})
