/**
 * Benchmarks of the datapath's LPM tables and IP slot pools: WebAssembly vs the readable TypeScript reference vs a
 * TypeScript kernel over the same typed-array layout, measured in the same run. Each contender's answer is checked
 * against the reference once before it is timed. Run: `pnpm bench tables` (`--quick` for a smoke pass).
 */
import { Bench } from 'tinybench';
import {
  IpSlotPool, IpSlotPoolBatch, LPM_MISS, LpmTable, WasmU32Buffer, loadDatapath, type DatapathTablesHost, type IpSlotPoolBatchLike,
} from '../../packages/datapath/src/index.js';
import { ReferenceIpSlotPool, ReferenceIpSlotPoolBatch, ReferenceLpmTable } from '../../packages/datapath/src/reference/index.js';
import type { SuiteContext, SuiteResult } from '../suite.js';

/** One row of results/tables.json (a type alias, so it is a `BenchRow`). */
export type TablesBenchRow = {
  benchmark: string;
  contender: 'wasm' | 'wasm-abi' | 'reference' | 'ts-kernel';
  how: string;
  /** Lookups or pool operations per second. */
  opsPerSecond: number;
  /** This row's speed over the reference's in the same benchmark. */
  vsReference: number;
  /** Relative margin of error of the per-call time, in percent. */
  rmePercent: number;
  /** Operations per timed call. */
  batch: number;
};

type RowMeta = Pick<TablesBenchRow, 'benchmark' | 'contender' | 'how' | 'batch'>;

/** Deterministic PRNG (mulberry32): the same tables and probes every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Prefix { prefix: number; length: number; value: number }

function mask(length: number): number {
  return length === 0 ? 0 : (0xffff_ffff << (32 - length)) >>> 0;
}

/**
 * An ownership table as the CNI builds it: VPC CIDRs (/16), subnets (/19), ENI /28 prefixes, and the rest pod and
 * ENI /32s, plus a /0 "outside the VPC" entry; and probes: ⅘ pod addresses, the rest other VPC addresses or outside.
 */
function ownershipScenario(prefixes: number, probes: number, seed: number): { entries: Prefix[]; ips: Uint32Array } {
  const random = rng(seed);
  const entries: Prefix[] = [{ prefix: 0, length: 0, value: 0 }];
  const vpcs = Math.max(1, Math.ceil(prefixes / 30_000));
  for (let v = 0; v < vpcs; v++) {
    const vpc = ((10 << 24) | (v << 16)) >>> 0;
    entries.push({ prefix: vpc, length: 16, value: entries.length });
    for (let s = 0; s < 8; s++) entries.push({ prefix: (vpc | (s << 13)) >>> 0, length: 19, value: entries.length });
  }
  const seen = new Set<string>(entries.map((e) => `${e.prefix}/${e.length}`));
  const pods: number[] = [];
  while (entries.length < prefixes) {
    const vpc = ((10 << 24) | (Math.floor(random() * vpcs) << 16)) >>> 0;
    const address = (vpc | Math.floor(random() * 0x10000)) >>> 0;
    const length = random() < 0.05 ? 28 : 32;
    const prefix = (address & mask(length)) >>> 0;
    const key = `${prefix}/${length}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ prefix, length, value: entries.length });
    if (length === 32) pods.push(prefix);
  }
  const ips = new Uint32Array(probes);
  for (let i = 0; i < probes; i++) {
    const r = random();
    if (r < 0.8) ips[i] = pods[Math.floor(random() * pods.length)]!;
    else if (r < 0.95) ips[i] = ((10 << 24) | (Math.floor(random() * vpcs) << 16) | Math.floor(random() * 0x10000)) >>> 0;
    else ips[i] = Math.floor(random() * 2 ** 32) >>> 0;
  }
  return { entries, ips };
}

/** A route table with every length from /8 to /32 present: the worst case for a longest-first probe. */
function routeScenario(prefixes: number, probes: number, seed: number): { entries: Prefix[]; ips: Uint32Array } {
  const random = rng(seed);
  const entries: Prefix[] = [{ prefix: 0, length: 0, value: 0 }];
  const seen = new Set<string>(['0/0']);
  const routed: number[] = [];
  while (entries.length < prefixes) {
    const length = 8 + Math.floor(random() * 25);
    const address = Math.floor(random() * 2 ** 32) >>> 0;
    const prefix = (address & mask(length)) >>> 0;
    const key = `${prefix}/${length}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ prefix, length, value: entries.length });
    routed.push(address);
  }
  const ips = new Uint32Array(probes);
  for (let i = 0; i < probes; i++) {
    ips[i] = random() < 0.5 ? routed[Math.floor(random() * routed.length)]! : Math.floor(random() * 2 ** 32) >>> 0;
  }
  return { entries, ips };
}

/**
 * The baseline the WASM kernel must beat: the same algorithm and slot layout (16-byte slots, linear probing,
 * longest-first over the present lengths) in TypeScript over a Uint32Array. Insert-only: enough to time lookups.
 */
class TypedArrayLpmKernel {
  #slots: Uint32Array;
  #mask: number;
  #lengths: number[] = [];

  constructor(entries: readonly Prefix[]) {
    let capacity = 16;
    while (capacity / 2 < entries.length) capacity *= 2;
    this.#slots = new Uint32Array(capacity * 4);
    this.#mask = capacity - 1;
    const present = new Set<number>();
    for (const e of entries) {
      let i = TypedArrayLpmKernel.hash(e.prefix, e.length) & this.#mask;
      while (this.#slots[i * 4 + 1] !== 0) i = (i + 1) & this.#mask;
      this.#slots[i * 4] = e.prefix;
      this.#slots[i * 4 + 1] = e.length + 1;
      this.#slots[i * 4 + 2] = e.value;
      present.add(e.length);
    }
    this.#lengths = [...present].sort((a, b) => b - a);
  }

  static hash(prefix: number, length: number): number {
    let h = Math.imul(prefix ^ Math.imul(length, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  lookupBatch(ips: Uint32Array, out: Uint32Array): void {
    const slots = this.#slots;
    const m = this.#mask;
    const lengths = this.#lengths;
    for (let k = 0; k < ips.length; k++) {
      const ip = ips[k]!;
      let value = LPM_MISS;
      search: for (let l = 0; l < lengths.length; l++) {
        const length = lengths[l]!;
        const prefix = length === 0 ? 0 : (ip & (0xffff_ffff << (32 - length))) >>> 0;
        const tag = length + 1;
        for (let i = TypedArrayLpmKernel.hash(prefix, length) & m; ; i = (i + 1) & m) {
          const st = slots[i * 4 + 1]!;
          if (st === 0) break;
          if (st === tag && slots[i * 4] === prefix) {
            value = slots[i * 4 + 2]!;
            break search;
          }
        }
      }
      out[k] = value;
    }
  }
}

function sameAnswer(name: string, got: Uint32Array, expected: Uint32Array): void {
  for (let i = 0; i < expected.length; i++) {
    if (got[i] !== expected[i]) throw new Error(`${name}: lookup ${i} gave ${got[i]}, the reference ${expected[i]}`);
  }
}

function rowsOf(bench: Bench, meta: Map<string, RowMeta>): TablesBenchRow[] {
  const rows = bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    const m = meta.get(task.name)!;
    return { ...m, opsPerSecond: Math.round((m.batch * 1000) / result.period), vsReference: 0, rmePercent: Number(result.latency.rme.toFixed(1)) };
  });
  // The fastest reference form in the benchmark is the baseline (the batched pools time two).
  const reference = Math.max(...rows.filter((r) => r.contender === 'reference').map((r) => r.opsPerSecond));
  return rows.map((r) => ({ ...r, vsReference: Number((r.opsPerSecond / reference).toFixed(2)) }));
}

export default async function tablesBench({ quick, log }: SuiteContext): Promise<SuiteResult> {
  const dp = await loadDatapath({ conntrackMax: 1024 });
  const time = quick ? 100 : 1500;
  const probes = quick ? 4096 : 65_536;
  const rows: TablesBenchRow[] = [];

  const scenarios = quick
    ? [['ownership', 10_000]] as const
    : ([['ownership', 10_000], ['ownership', 100_000], ['routes /8–/32', 10_000], ['routes /8–/32', 100_000]] as const);
  for (const [kind, size] of scenarios) {
    const { entries, ips } = kind === 'ownership' ? ownershipScenario(size, probes, size) : routeScenario(size, probes, size);
    const reference = new ReferenceLpmTable();
    const wasm = new LpmTable(dp, { capacity: entries.length });
    for (const e of entries) {
      reference.add(e.prefix, e.length, e.value);
      wasm.add(e.prefix, e.length, e.value);
    }
    const kernel = new TypedArrayLpmKernel(entries);
    const input = new WasmU32Buffer(dp, probes);
    const output = new WasmU32Buffer(dp, probes);
    input.array.set(ips);
    const expected = reference.lookupMany(ips);
    wasm.lookupBatch(input, output);
    sameAnswer('wasm', output.array, expected);
    const kernelOut = new Uint32Array(probes);
    kernel.lookupBatch(ips, kernelOut);
    sameAnswer('ts-kernel', kernelOut, expected);
    const copyOut = new Uint32Array(probes);
    sameAnswer('wasm lookupMany', wasm.lookupMany(ips, copyOut), expected);

    const label = `LPM ${kind}, ${size.toLocaleString('en-US')} prefixes`;
    log(label);
    const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
    const meta = new Map<string, RowMeta>();
    const add = (contender: TablesBenchRow['contender'], how: string, fn: () => void) => {
      meta.set(`${label}: ${how}`, { benchmark: label, contender, how, batch: probes });
      bench.add(`${label}: ${how}`, fn);
    };
    add('wasm', 'wasm lookupBatch (views over linear memory)', () => wasm.lookupBatch(input, output));
    add('wasm', 'wasm lookupMany (copies in and out)', () => wasm.lookupMany(ips, copyOut));
    add('ts-kernel', 'TS typed-array kernel', () => kernel.lookupBatch(ips, kernelOut));
    add('reference', 'reference (Map per length)', () => reference.lookupMany(ips, copyOut));
    await bench.run();
    rows.push(...rowsOf(bench, meta));
    if (kind === 'ownership') rows.push(...(await churnBench(wasm, reference, entries, size, time, quick)));
    input.free();
    output.free();
    wasm.free();
  }

  log('IP pools');
  rows.push(...(await poolBench(dp, quick, time)));
  return {
    title: 'Datapath tables: LPM lookups and IP slot pools',
    rows,
    notes: [
      `LPM: batches of ${probes.toLocaleString('en-US')} lookups in one call. "ownership": a /0, VPC /16s, subnet /19s, ENI /28 prefixes (5 %) and pod /32s; ⅘ of the lookups are pod addresses, the rest other VPC addresses or outside. "routes": every length /8–/32, half the lookups routed addresses: the worst case for a longest-first probe.`,
      'ts-kernel: the same algorithm and 16-byte slot layout in TypeScript over a Uint32Array; reference: one Map per prefix length.',
      'Churn: 1,024 pod /32s each deleted and added back; one op = one delete or one add (incremental, no rebuild).',
      'Pools: one round allocates every slot of every pool and releases them all; wasm-abi calls the raw exports (no argument checks).',
      'Pools, batched: the same rounds through IpSlotPoolBatch (one allocate and one release call for all pools, views over linear memory) or allocateMany + releaseMany (two calls per pool); the reference does the same through its own batch (a loop over pools) and per pool. Their vsReference is against the fastest reference form in the benchmark (its per-op loop), measured after every per-op row.',
      'vsReference: speed over the reference in the same benchmark, same run.',
    ],
  };
}

/**
 * Prefix churn, as pods come and go: each op deletes one pod /32 and adds it back (two incremental updates, no
 * rebuild), over the whole table in turn. The tables end as they started, so every timed round sees the same state.
 */
async function churnBench(
  wasm: LpmTable,
  reference: ReferenceLpmTable,
  entries: readonly Prefix[],
  size: number,
  time: number,
  quick: boolean,
): Promise<TablesBenchRow[]> {
  const pods = entries.filter((e) => e.length === 32).slice(0, 1024);
  const label = `LPM ownership, ${size.toLocaleString('en-US')} prefixes: delete + add a pod /32`;
  const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
  const meta = new Map<string, RowMeta>();
  const churn = (t: LpmTable | ReferenceLpmTable) => {
    for (const p of pods) {
      t.delete(p.prefix, 32);
      t.add(p.prefix, 32, p.value);
    }
  };
  churn(wasm);
  churn(reference);
  if (wasm.size !== reference.size || wasm.get(pods[0]!.prefix, 32) !== reference.get(pods[0]!.prefix, 32)) {
    throw new Error('churn: wasm and reference tables differ');
  }
  for (const [contender, how, t] of [['wasm', 'wasm LpmTable', wasm], ['reference', 'reference (Map per length)', reference]] as const) {
    meta.set(`${label}: ${how}`, { benchmark: label, contender, how, batch: pods.length * 2 });
    bench.add(`${label}: ${how}`, () => churn(t));
  }
  await bench.run();
  return rowsOf(bench, meta);
}

/**
 * Pool churn as ipamd sees it: /28-prefix pools (16 slots) and full-size ENIs (50 secondary IPs, the largest
 * IPv4-per-ENI limit); one round allocates every slot of every pool and releases them all, one simulated second
 * later each round (0 s cooldown, so every round starts from an empty pool).
 */
async function poolBench(dp: DatapathTablesHost, quick: boolean, time: number): Promise<TablesBenchRow[]> {
  const rows: TablesBenchRow[] = [];
  const shapes = quick ? [[100, 16]] as const : ([[1000, 16], [320, 50]] as const);
  for (const [pools, slots] of shapes) rows.push(...(await poolShapeBench(dp, quick, time, pools, slots)));
  // The batched runs after every per-op run, so the per-op rows are measured as they were before batches existed.
  for (const [pools, slots] of shapes) rows.push(...(await poolBatchBench(dp, quick, time, pools, slots)));
  return rows;
}

async function poolShapeBench(dp: DatapathTablesHost, quick: boolean, time: number, pools: number, slots: number): Promise<TablesBenchRow[]> {
  const opsPerRound = pools * slots * 2;
  const wasm = Array.from({ length: pools }, () => new IpSlotPool(dp, { slots, cooldownSeconds: 0 }));
  const reference = Array.from({ length: pools }, () => new ReferenceIpSlotPool({ slots, cooldownSeconds: 0 }));
  const abi = dp.exports as unknown as {
    ipPoolAllocate(h: number, now: number): number;
    ipPoolRelease(h: number, slot: number, now: number): number;
  };
  const handles = wasm.map((p) => p.handle);
  let now = 0;

  const round = (pool: { allocate(now: number): number | undefined; release(slot: number, now: number): void }) => {
    for (let s = 0; s < slots; s++) pool.allocate(now);
    for (let s = 0; s < slots; s++) pool.release(s, now);
  };
  // Check once: the two implementations hand out the same slots.
  for (let i = 0; i < pools; i++) {
    const a = wasm[i]!.allocateMany(slots, 0);
    const b = reference[i]!.allocateMany(slots, 0);
    if (a.join() !== b.join()) throw new Error(`pool ${i}: wasm ${a} vs reference ${b}`);
    a.forEach((s) => wasm[i]!.release(s, 0));
    b.forEach((s) => reference[i]!.release(s, 0));
  }

  const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
  const meta = new Map<string, RowMeta>();
  const label = `IP pools, ${pools.toLocaleString('en-US')} × ${slots} slots, allocate + release`;
  const add = (contender: TablesBenchRow['contender'], how: string, fn: () => void) => {
    meta.set(`${label}: ${how}`, { benchmark: label, contender, how, batch: opsPerRound });
    bench.add(`${label}: ${how}`, fn);
  };
  add('wasm', 'wasm IpSlotPool (validated wrapper)', () => { now++; wasm.forEach(round); });
  add('wasm-abi', 'wasm raw exports (one call per op)', () => {
    now++;
    for (const h of handles) {
      for (let s = 0; s < slots; s++) abi.ipPoolAllocate(h, now);
      for (let s = 0; s < slots; s++) abi.ipPoolRelease(h, s, now);
    }
  });
  add('wasm', 'wasm allocateMany (one call per pool) + release', () => {
    now++;
    for (const p of wasm) {
      p.allocateMany(slots, now);
      for (let s = 0; s < slots; s++) p.release(s, now);
    }
  });
  add('reference', 'reference (slot records)', () => { now++; reference.forEach(round); });
  await bench.run();
  wasm.forEach((p) => p.free());
  return rowsOf(bench, meta);
}

/**
 * The same work in batches: every slot of every pool allocated, then released, as one `IpSlotPoolBatch` call each
 * (one call across the boundary for all pools), or as `allocateMany` + `releaseMany` (two calls per pool); the
 * reference does the same through its own batch (a loop over pools) and per pool. The baseline is the fastest
 * reference form (per op, per pool or batch), so a batch's speed-up is against the reference at its best.
 */
async function poolBatchBench(dp: DatapathTablesHost, quick: boolean, time: number, pools: number, slots: number): Promise<TablesBenchRow[]> {
  const opsPerRound = pools * slots * 2;
  const wasm = Array.from({ length: pools }, () => new IpSlotPool(dp, { slots, cooldownSeconds: 0 }));
  const reference = Array.from({ length: pools }, () => new ReferenceIpSlotPool({ slots, cooldownSeconds: 0 }));
  const wasmBatch = new IpSlotPoolBatch(dp, wasm, pools * slots);
  const referenceBatch = new ReferenceIpSlotPoolBatch(reference, pools * slots);
  wasmBatch.counts.fill(slots);
  referenceBatch.counts.fill(slots);
  let now = 1_000_000;
  const batchRound = (batch: IpSlotPoolBatchLike) => {
    now++;
    batch.allocate(now);
    batch.release(now);
  };
  const perPoolRound = (list: readonly (IpSlotPool | ReferenceIpSlotPool)[]) => {
    now++;
    for (const p of list) p.releaseMany(p.allocateMany(slots, now), now);
  };
  // Check once: both batches hand out every slot, the same ones, and give them all back.
  for (const batch of [wasmBatch, referenceBatch]) {
    if (batch.allocate(now) !== pools * slots) throw new Error('batch: not every slot was allocated');
  }
  if (wasmBatch.slots.join() !== referenceBatch.slots.join() || wasmBatch.taken.join() !== referenceBatch.taken.join()) {
    throw new Error('batch: wasm and reference slots differ');
  }
  wasmBatch.release(now);
  referenceBatch.release(now);
  if (wasm.some((p) => p.counts(now).assigned !== 0) || reference.some((p) => p.counts(now).assigned !== 0)) {
    throw new Error('batch: a slot stayed assigned');
  }

  const bench = new Bench({ time, warmupTime: quick ? 20 : 200 } as ConstructorParameters<typeof Bench>[0]);
  const meta = new Map<string, RowMeta>();
  const label = `IP pools, ${pools.toLocaleString('en-US')} × ${slots} slots, allocate + release, batched`;
  const add = (contender: TablesBenchRow['contender'], how: string, fn: () => void) => {
    meta.set(`${label}: ${how}`, { benchmark: label, contender, how, batch: opsPerRound });
    bench.add(`${label}: ${how}`, fn);
  };
  add('wasm', 'wasm IpSlotPoolBatch (one call per batch)', () => batchRound(wasmBatch));
  add('wasm', 'wasm allocateMany + releaseMany (two calls per pool)', () => perPoolRound(wasm));
  add('reference', 'reference batch (a loop over pools)', () => batchRound(referenceBatch));
  add('reference', 'reference allocateMany + releaseMany', () => perPoolRound(reference));
  add('reference', 'reference per op (slot records)', () => {
    now++;
    for (const p of reference) {
      for (let s = 0; s < slots; s++) p.allocate(now);
      for (let s = 0; s < slots; s++) p.release(s, now);
    }
  });
  await bench.run();
  wasmBatch.free();
  wasm.forEach((p) => p.free());
  return rowsOf(bench, meta);
}
