import neostandard from 'neostandard'

// Linted once their restructuring lands.
const pendingPackages = ['packages/peer/**', 'packages/bench/**']

export default [
  ...neostandard({
    ts: true,
    ignores: [
      ...pendingPackages,
      // Generated or built.
      'packages/robust/src/wasm/kernels.generated.ts',
      'packages/robust/build/**',
      // AssemblyScript, not TypeScript: its function decorators do not parse; asc checks it.
      'packages/robust/assembly/**',
      // Run outputs.
      'runs/**',
      'bench-results/**',
      'docs/results/**',
      '.tsbuild/**'
    ]
  }),
  {
    rules: {
      '@stylistic/max-len': ['error', {
        code: 160,
        ignoreUrls: true,
        ignoreRegExpLiterals: true
      }],
      // `void promise` marks a promise deliberately left to run on its own.
      'no-void': ['error', { allowAsStatement: true }],
      // Long records and option tables wrap like prose, several fields a line, rather than one field a line.
      '@stylistic/object-property-newline': 'off'
    }
  }
]
