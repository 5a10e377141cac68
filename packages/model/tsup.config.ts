import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'ip/index': 'src/ip/index.ts',
    'cluster/index': 'src/cluster/index.ts',
    'cni/index': 'src/cni/index.ts',
    'proxy/index': 'src/proxy/index.ts',
    'dns/index': 'src/dns/index.ts',
    'manifests/index': 'src/manifests/index.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  splitting: true,
  target: 'es2022',
  sourcemap: true,
});
