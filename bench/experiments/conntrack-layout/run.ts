/**
 * Runs layout.ts's two conntrack layouts on the same established flows, taking turns, and prints the median packets/s
 * of each: `cd bench && pnpm exec tsx experiments/conntrack-layout/run.ts [--flows N] [--rounds N]`. Builds the wasm
 * first with asc (from packages/datapath). See README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RESULT_WORDS, ResultFlag, loadDatapathSync, resultFlags } from '../../../packages/datapath/src/index.js';
import { CLUSTER_IP, build, records, writeFlow } from '../../lib/datapath-scenario.js';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(mkdtempSync(join(tmpdir(), 'conntrack-layout-')), 'layout.wasm');
execFileSync('pnpm', ['exec', 'asc', join(here, 'layout.ts'), '-O3', '--runtime', 'stub', '--noAssert', '-o', out],
  { cwd: join(here, '../../../packages/datapath'), stdio: 'inherit' });
const { values } = parseArgs({ options: { flows: { type: 'string', default: '65536' }, rounds: { type: 'string', default: '5' } } });
const FLOWS = Number(values.flows);
const ROUNDS = Number(values.rounds);
const BATCH = 65_536;
const SP = 10_000;
const EPS = 10;

interface Exports {
  memory: WebAssembly.Memory;
  initA(slots: number): void; initB(lines: number, translations: number): void;
  insertA(tag: number, src: number, dst: number, ports: number, ip: number, portSp: number, ep: number, expiry: number): void;
  insertB(key21: number, src: number, dst: number, ports: number, xid: number, expiry: number): void;
  setTranslation(id: number, ip: number, portSp: number, ep: number): void;
  processA(inp: number, outp: number, n: number, now: number): number;
  processIn16Out24(inp: number, outp: number, n: number, now: number, nodes: number): number;
  processIn32Out16(inp: number, outp: number, n: number, now: number, nodes: number): number;
  processIn16Out16(inp: number, outp: number, n: number, now: number, nodes: number): number;
  processIn32Out24(inp: number, outp: number, n: number, now: number, nodes: number): number;
  processB(inp: number, outp: number, n: number, now: number, touchNext: number): number;
  alloc(bytes: number): number;
}
const wasm = readFileSync(out);
const inst = (await WebAssembly.instantiate(wasm)).instance.exports as unknown as Exports;

// The flows of the datapath bench (writeFlow's 5-tuples, which the core is fed), plus the endpoint the layouts store.
const flow = (f: number) => {
  const sp = (Math.imul(f, 0x9e3779b1) >>> 0) % SP;
  const j = (Math.imul(f ^ 0x5bd1e995, 0x85ebca77) >>> 0) % EPS;
  return { src: 0x0a000000 + (f >>> 15), dst: CLUSTER_IP(sp), ports: ((1024 + (f & 0x7fff)) << 16) | 80, sp, ep: sp * EPS + j };
};
let aSlots = 64;
while (aSlots < (FLOWS * 4 + 2) / 3) aSlots *= 2;
const bLines = Math.ceil(aSlots / 3); // the same slot count, so the same load factor
inst.initA(aSlots);
inst.initB(bLines, SP * EPS);
for (let e = 0; e < SP * EPS; e++) inst.setTranslation(e, 0x0a010000 + e, 8080 | ((e / EPS) | 0) << 16, e);
const TAG_A = (1 << 8) | 0;
const KEY_B = (1 << 5) | 0;
for (let f = 0; f < FLOWS; f++) {
  const x = flow(f);
  inst.insertA(TAG_A, x.src, x.dst, x.ports, 0x0a010000 + x.ep, 8080 | (x.sp << 16), x.ep, 1000);
  inst.insertB(KEY_B, x.src, x.dst, x.ports, x.ep, 1000);
}
const batches = 4;
const inA = inst.alloc(BATCH * 16 * batches), inB = inst.alloc(BATCH * 16 * batches);
const outA = inst.alloc(BATCH * 16), outB = inst.alloc(BATCH * 16);
{
  const m = new Uint32Array(inst.memory.buffer);
  for (let i = 0; i < BATCH * batches; i++) {
    const x = flow((Math.imul(i, 0x9e3779b1) >>> 0) % FLOWS); // packets at random over the live flows
    m.set([TAG_A, x.src, x.dst, x.ports], (inA >>> 2) + i * 4);
    m.set([KEY_B, x.src, x.dst, x.ports], (inB >>> 2) + i * 4);
  }
}
const in32 = inst.alloc(BATCH * 32 * batches), out32 = inst.alloc(BATCH * 24);
const in16 = inst.alloc(BATCH * 16 * batches), out16 = inst.alloc(BATCH * 16);
{
  const m = new Uint32Array(inst.memory.buffer);
  for (let i = 0; i < BATCH * batches; i++) {
    const x = flow((Math.imul(i, 0x9e3779b1) >>> 0) % FLOWS);
    m.set([0, 0, 6, x.src, x.ports >>> 16, x.dst, 80, 0], (in32 >>> 2) + i * 8);
    m.set([6 << 24, x.src, x.dst, x.ports], (in16 >>> 2) + i * 4);
  }
}
// Both layouts must give the same answers, all hits.
for (let b = 0; b < batches; b++) {
  inst.processA(inA + b * BATCH * 16, outA, BATCH, 1);
  inst.processB(inB + b * BATCH * 16, outB, BATCH, 1, 0);
  const m = new Uint32Array(inst.memory.buffer);
  for (let i = 0; i < BATCH * 4; i++) if (m[(outA >>> 2) + i] !== m[(outB >>> 2) + i]) throw new Error(`answers differ at ${i}`);
  for (let i = 0; i < BATCH; i++) if (m[(outA >>> 2) + i * 4 + 3] !== 1) throw new Error('a packet missed');
  inst.processIn32Out24(in32 + b * BATCH * 32, out32, BATCH, 1, 10);
  const m2 = new Uint32Array(inst.memory.buffer);
  for (let i = 0; i < BATCH; i++) if (m2[(out32 >>> 2) + i * 6 + 2] !== m2[(outA >>> 2) + i * 4]) throw new Error('formats: answers differ');
}
// The core itself on the same flows and packets (its tables from the datapath bench's scenario).
const core = loadDatapathSync({ seed: 1, conntrackMax: FLOWS });
build(core, SP, Array.from({ length: SP }, (_, sp) => records(sp)));
const coreBatches = Array.from({ length: batches }, () => core.createBatch(BATCH));
{
  const warm = core.createBatch(BATCH);
  for (let f0 = 0; f0 < FLOWS; f0 += BATCH) {
    const n = Math.min(BATCH, FLOWS - f0);
    for (let i = 0; i < n; i++) writeFlow(warm.packets, i, f0 + i, SP);
    core.processBatch(warm, n);
  }
  warm.free();
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < BATCH; i++) writeFlow(coreBatches[b]!.packets, i, (Math.imul(b * BATCH + i, 0x9e3779b1) >>> 0) % FLOWS, SP);
    core.processBatch(coreBatches[b]!);
    for (let i = 0; i < BATCH; i++) if ((resultFlags(coreBatches[b]!.results[i * RESULT_WORDS]!) & ResultFlag.CONNTRACK_HIT) === 0) throw new Error('core: a packet missed');
  }
}

const runs: Record<string, () => void> = {
  'the core (datapath.wasm), same flows': () => { for (const x of coreBatches) core.processBatch(x); },
  'A, formats: packets 32 B, results 24 B (as the core before)': () => { for (let b = 0; b < batches; b++) inst.processIn32Out24(in32 + b * BATCH * 32, out32, BATCH, 1, 10); },
  'formats: packets 16 B, results 24 B': () => { for (let b = 0; b < batches; b++) inst.processIn16Out24(in16 + b * BATCH * 16, out32, BATCH, 1, 10); },
  'formats: packets 32 B, results 16 B': () => { for (let b = 0; b < batches; b++) inst.processIn32Out16(in32 + b * BATCH * 32, out16, BATCH, 1, 10); },
  'formats: packets 16 B, results 16 B': () => { for (let b = 0; b < batches; b++) inst.processIn16Out16(in16 + b * BATCH * 16, out16, BATCH, 1, 10); },
  'A: 32-byte slots, translation inline': () => { for (let b = 0; b < batches; b++) inst.processA(inA + b * BATCH * 16, outA, BATCH, 1); },
  'B: 3 a line, interned translation': () => { for (let b = 0; b < batches; b++) inst.processB(inB + b * BATCH * 16, outB, BATCH, 1, 0); },
  'B, next line touched too': () => { for (let b = 0; b < batches; b++) inst.processB(inB + b * BATCH * 16, outB, BATCH, 1, 1); },
};
const rates: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(runs)) {
    for (let w = 0; w < 3; w++) {
      const t = performance.now();
      run();
      (rates[name] ??= []).push((BATCH * batches) / ((performance.now() - t) / 1000));
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(`${FLOWS.toLocaleString('en-US')} live flows; A ${aSlots.toLocaleString('en-US')} slots (${mb(aSlots * 32)} MB), B ${bLines.toLocaleString('en-US')} lines = ${(bLines * 3).toLocaleString('en-US')} slots (${mb(bLines * 64)} MB) + ${mb(SP * EPS * 16)} MB of translations`);
for (const [name, xs] of Object.entries(rates)) console.log(`${name}: ${(median(xs) / 1e6).toFixed(1)} M packets/s`);
