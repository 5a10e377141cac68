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

const EPS = 10;
const NODES = 10;
const BATCH = 65_536;
const CLUSTER_IP = (sp: number) => 0x0a600001 + sp;

function build(dp: Datapath, spCount: number): void {
  for (let n = 0; n < NODES; n++) {
    dp.addNode({ mode: 'iptables', localTrafficDetector: '10.0.0.0/8' });
    dp.setLocalAddress(n, 0xc0a80001 + n);
  }
  const records = new Uint32Array(EPS * 4);
  for (let sp = 0; sp < spCount; sp++) {
    for (let j = 0; j < EPS; j++) records.set([0x0a010000 + sp * 16 + j, 8080 | 0x30000 /* ready, serving */, j % NODES, sp * EPS + j], j * 4);
    dp.setServicePort(sp, {});
    dp.addServiceAddress('TCP', CLUSTER_IP(sp), 80, sp);
    dp.setEndpointRecords(sp, records);
  }
}

/** New 5-tuples, flow numbers from `first`, to random service-ports (the datapath suite's generator). */
function fillNew(batch: PacketBatch, first: number, spCount: number): void {
  const w = batch.packets;
  for (let i = 0; i < BATCH; i++) {
    const f = first + i;
    w.set([0, 0, 6, 0x0a000000 + (f >>> 15), 1024 + (f & 0x7fff), CLUSTER_IP((Math.imul(f, 0x9e3779b1) >>> 0) % spCount), 80, 0], i * 8);
  }
}

/** One build's instance: `step()` runs one batch call and returns its packets per second. */
type Runner = () => number;

function timed(dp: Datapath, batch: PacketBatch): number {
  const t = performance.now();
  dp.processBatch(batch);
  return BATCH / ((performance.now() - t) / 1000);
}

function newConnections(wasm: Uint8Array, spCount: number): Runner {
  const dp = loadDatapathSync({ seed: 1, conntrackMax: BATCH * 12, wasm });
  build(dp, spCount);
  dp.setConntrackTimeouts('TCP', 8, 432000);
  const batch = dp.createBatch(BATCH);
  let flow = 0;
  const step = () => {
    dp.advanceTime(1);
    if (dp.conntrackStats().entries + BATCH > 11 * BATCH) dp.sweep();
    fillNew(batch, flow, spCount);
    flow += BATCH;
    return timed(dp, batch);
  };
  for (let i = 0; i < 8; i++) step(); // half the slots live before timing
  return step;
}

function established(wasm: Uint8Array, flows: number): Runner {
  const dp = loadDatapathSync({ seed: 1, conntrackMax: flows, wasm });
  build(dp, 10_000);
  const batches = Array.from({ length: flows / BATCH }, (_, b) => {
    const x = dp.createBatch(BATCH);
    fillNew(x, b * BATCH, 10_000);
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
