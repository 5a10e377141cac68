/**
 * Same-process A/B of two or more datapath builds: each `.wasm` gets its own instance with the same tables, and
 * the instances take turns, a block of batch calls each, so the machine's swings (other tenants, the shared L3)
 * hit every build alike. Prints the median packets/s of each build per scenario. On this shared 2-core VM this is
 * the comparison to trust for a change to the core; `pnpm bench` gives the absolute figures.
 *
 *   cd bench && pnpm exec tsx ab-datapath.ts old.wasm new.wasm [--scenario new|new-30k|est-64k|est-1m] [--rounds N]
 *
 * Build the candidates with `pnpm --filter @kube-netsim/datapath run build:wasm` and copy
 * `packages/datapath/build/datapath.wasm` aside between builds. The scenarios are the datapath suite's: 10,000
 * service-ports × 10 endpoints (30,000 for new-30k), iptables mode, batches of 65,536 packets; new connections keep
 * conntrack between 50 % and 69 % of 1,048,576 slots (each instance has its own), established ones replay 64k or 1M
 * live flows.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDatapathSync, type Datapath, type PacketBatch } from '../packages/datapath/src/index.js';
import { NewConnectionLoad, build, fillNew, records } from './lib/datapath-scenario.js';

const BATCH = 65_536;

/** One build's instance: `step()` runs one batch call and returns its packets per second. */
type Runner = () => number;

function timed(dp: Datapath, batch: PacketBatch): number {
  const t = performance.now();
  dp.processBatch(batch);
  return BATCH / ((performance.now() - t) / 1000);
}

function newConnections(wasm: Uint8Array, spCount: number): Runner {
  const dp = loadDatapathSync({ seed: 1, conntrackMax: BATCH * 12, wasm });
  build(dp, spCount, Array.from({ length: spCount }, (_, sp) => records(sp)));
  const load = new NewConnectionLoad(dp, dp.createBatch(BATCH), spCount, BATCH); // pre-fills half the slots
  return () => {
    load.prepare();
    const t = performance.now();
    load.process();
    return BATCH / ((performance.now() - t) / 1000);
  };
}

function established(wasm: Uint8Array, flows: number): Runner {
  const dp = loadDatapathSync({ seed: 1, conntrackMax: flows, wasm });
  build(dp, 10_000, Array.from({ length: 10_000 }, (_, sp) => records(sp)));
  const batches = Array.from({ length: flows / BATCH }, (_, b) => {
    const x = dp.createBatch(BATCH);
    fillNew(x, b * BATCH, BATCH, 10_000);
    dp.processBatch(x);
    return x;
  });
  let r = 0;
  return () => timed(dp, batches[r++ % batches.length]!);
}

const SCENARIOS: Record<string, { make: (wasm: Uint8Array) => Runner; block: number }> = {
  'new': { make: (w) => newConnections(w, 10_000), block: 10 },
  'new-30k': { make: (w) => newConnections(w, 30_000), block: 10 },
  'est-64k': { make: (w) => established(w, 65_536), block: 20 },
  'est-1m': { make: (w) => established(w, 1 << 20), block: 20 },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { scenario: { type: 'string', multiple: true }, rounds: { type: 'string', default: '6' } },
});
if (positionals.length < 2) {
  console.error('usage: tsx ab-datapath.ts a.wasm b.wasm [more.wasm…] [--scenario new|new-30k|est-64k|est-1m]… [--rounds N]');
  process.exit(2);
}
const names = values.scenario ?? Object.keys(SCENARIOS);
for (const name of names) {
  if (!SCENARIOS[name]) {
    console.error(`unknown scenario "${name}": expected one of ${Object.keys(SCENARIOS).join(', ')}`);
    process.exit(2);
  }
}
const rounds = Number(values.rounds);
const wasms = positionals.map((file) => readFileSync(file));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

for (const name of names) {
  const { make, block } = SCENARIOS[name]!;
  const runners = wasms.map(make);
  const rates: number[][] = runners.map(() => []);
  for (let round = 0; round < rounds; round++) {
    runners.forEach((step, i) => {
      for (let k = 0; k < block; k++) {
        const rate = step();
        if (k >= 2) rates[i]!.push(rate); // the first calls of a turn refill the caches the other build emptied
      }
    });
  }
  const medians = rates.map(median);
  console.log(`${name}: ${positionals.map((f, i) => `${f} ${(medians[i]! / 1e6).toFixed(2)} M/s`).join('  ')}` +
    (medians.length > 1 ? `  (last ÷ first ${(medians[medians.length - 1]! / medians[0]!).toFixed(2)})` : ''));
}
