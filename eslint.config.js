// `npm run lint`: neostandard (the style the code follows: no semicolons, two spaces, single
// quotes) with its TypeScript rules. Zero warnings: CI fails on any finding.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    // Generated output and non-code; everything else we own (packages/*/src, tests, the
    // dashboard, benchmarks, scripts, bin files) is linted.
    ignores: ['**/dist/**', '**/node_modules/**', '**/.tap/**', '**/coverage/**', 'docs/**', 'catalogs/**']
  }),
  {
    rules: {
      // `void p.then(...)` / `() => void f()` marks a fire-and-forget promise on purpose.
      'no-void': 'off',
      // The flagged loops await, and callbacks set their flag meanwhile: the rule cannot see that.
      'no-unmodified-loop-condition': 'off',
      // We match terminal escapes (\x1b) and strip control characters on purpose.
      'no-control-regex': 'off'
    }
  }
]
