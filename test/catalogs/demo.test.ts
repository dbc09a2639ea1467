import t from 'tap'
import { loadCatalogFile } from '../../packages/coordinator/src/catalog/load-catalog.js'
import { resolveSettings } from '../../packages/coordinator/src/catalog/settings.js'
import { catalogRows } from '../../packages/coordinator/src/plan/expand.js'
import { both, expected, row } from './expect-flows.js'

// The demo catalog is fictional; this test shows the pattern the product catalogs' tests follow.
t.test('the demo catalog expands to exactly its flows', async (t) => {
  const { catalog } = await loadCatalogFile('examples/demo/catalog.yaml')
  const lines = (metrics: boolean): string[] => {
    const { values } = resolveSettings(catalog, [['metrics', { value: metrics, problem: (message) => ({ file: 't', path: 'metrics', message }) }]])
    return [...new Set(catalogRows(catalog, values).map((r) => `${r.fromRole}>${r.toRole} ${r.protocol}/${r.port} ${r.external ? 'external' : r.optional ? 'optional' : 'required'}`))].sort()
  }
  const common = [
    ...row('users', 'lb', { tcp: [8443] }, 'external'),
    ...row('lb', 'app', { tcp: [18080] }),
    ...row('app', 'db', { tcp: [15432] }),
    ...both('app', 'app', { tcp: [17946], udp: [17946] }),
    ...both('db', 'db', { tcp: [15433], udp: [15405] })
  ]
  t.same(lines(true), expected(common, row('app', 'db', { udp: [18125] }, 'optional')))
  t.same(lines(false), expected(common), 'the metrics flow disappears with its condition')
})
