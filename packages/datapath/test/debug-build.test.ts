// Debug and release builds of the core give identical results (the debug build keeps AssemblyScript's assertions).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDatapathSync, type Datapath, type PacketInput } from '../src/index.js';
import { send, wasmModule } from './helpers.js';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
let debugModule: WebAssembly.Module;

beforeAll(() => {
  execFileSync('pnpm', ['run', 'build:wasm:debug'], { cwd: pkgDir, stdio: 'pipe' });
  debugModule = new WebAssembly.Module(readFileSync(new URL('../build/datapath.debug.wasm', import.meta.url)));
}, 120_000);

function scenario(dp: Datapath): PacketInput[][] {
  const modes = [{ mode: 'iptables' }, { mode: 'nftables', serviceCIDR: '10.96.0.0/16' }, { mode: 'ipvs', ipvsScheduler: 'rr' }, { mode: 'ipvs', ipvsScheduler: 'lc' }, { mode: 'ipvs', ipvsScheduler: 'sh' }, { mode: 'ipvs', ipvsScheduler: 'mh' }] as const;
  modes.forEach((config, n) => { dp.addNode({ ...config, localTrafficDetector: '10.0.0.0/16' }); dp.setLocalAddress(n, 0xc0a80001 + n); });
  for (let sp = 0; sp < 40; sp++) {
    dp.setServicePort(sp, { sessionAffinity: sp % 4 === 0 ? 'ClientIP' : 'None', externalTrafficPolicy: sp % 3 === 0 ? 'Local' : 'Cluster' });
    dp.addServiceAddress('TCP', 0x0a600001 + sp, 80, sp);
    dp.setNodePort('TCP', 30000 + sp, sp);
    dp.setEndpoints(sp, Array.from({ length: 1 + (sp % 7) }, (_, j) => ({ ip: 0x0a010000 + sp * 8 + j, port: 8080, node: j % 6, ready: j !== 2, terminating: j === 2, id: sp * 8 + j })));
  }
  return Array.from({ length: 4 }, (_, round) => Array.from({ length: 2000 }, (_, i) => {
    const sp = (i * 7919 + round) % 40;
    const viaNodePort = i % 5 === 0;
    return { node: i % 6, arrival: (['pod', 'host', 'external'] as const)[i % 3]!, protocol: 'TCP', srcIP: 0x0a000100 + (i % 300), srcPort: 1000 + (i % 50), dstIP: viaNodePort ? 0xc0a80001 + (i % 6) : 0x0a600001 + sp, dstPort: viaNodePort ? 30000 + sp : i % 11 === 0 ? 81 : 80 };
  }));
}

describe('debug and release builds', () => {
  it('agree packet by packet', () => {
    const results = [wasmModule, debugModule].map((module) => {
      const dp = loadDatapathSync({ wasm: module, seed: 9, conntrackMax: 3000 });
      return scenario(dp).map((packets, round) => {
        if (round > 0) { dp.advanceTime(60); dp.sweep(); }
        return send(dp, packets);
      });
    });
    expect(results[1]).toEqual(results[0]);
  });
});
