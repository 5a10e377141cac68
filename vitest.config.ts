import { defineConfig } from 'vitest/config';

// One run over every workspace; sources are resolved through the `kube-netsim-source` export condition,
// so tests never need a package's dist (the datapath's .wasm still comes from its build).
export default defineConfig({
  resolve: { conditions: ['kube-netsim-source'] },
  ssr: { resolve: { conditions: ['kube-netsim-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
