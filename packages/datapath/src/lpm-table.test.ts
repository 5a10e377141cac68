import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Datapath, loadDatapath, loadDatapathSync } from './index.js';
import { LPM_MISS } from './abi-tables.js';
import { LpmTable, type LpmTableLike } from './lpm-table.js';
import { ReferenceLpmTable } from './reference/lpm.js';
import { DatapathError } from './errors.js';
import { WasmU32Buffer } from './tables-memory.js';

// One instance for the file, as the CNI uses it: many tables and pools in one module (conntrack kept small).
let dp: Datapath;
beforeAll(async () => {
  dp = await loadDatapath({ conntrackMax: 1024 });
});

/** Dotted quad → u32 (the datapath takes integers; @kube-netsim/model's ipv4ToInt does this for real callers). */
function ip(text: string): number {
  return text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

// Owner ids of a small VPC, as the CNI would number them.
const VPC = 1, SUBNET_A = 2, SUBNET_B = 3, ENI_PREFIX = 4, POD = 5, NODE = 6, INTERNET = 0;

function vpcTable(table: LpmTableLike): LpmTableLike {
  table.add(ip('0.0.0.0'), 0, INTERNET);
  table.add(ip('10.0.0.0'), 16, VPC);
  table.add(ip('10.0.32.0'), 19, SUBNET_A);
  table.add(ip('10.0.64.0'), 19, SUBNET_B);
  table.add(ip('10.0.33.16'), 28, ENI_PREFIX);
  table.add(ip('10.0.33.20'), 32, POD);
  table.add(ip('10.0.32.5'), 32, NODE);
  return table;
}

const implementations: [string, () => LpmTableLike][] = [
  ['wasm', () => new LpmTable(dp, { capacity: 0 })],
  ['reference', () => new ReferenceLpmTable()],
];

describe.each(implementations)('LPM table (%s): known vectors', (_name, create) => {
  it('gives the most specific owner of each address', () => {
    const t = vpcTable(create());
    expect(t.lookup(ip('10.0.33.20'))).toBe(POD);
    expect(t.lookup(ip('10.0.33.21'))).toBe(ENI_PREFIX);
    expect(t.lookup(ip('10.0.33.31'))).toBe(ENI_PREFIX);
    expect(t.lookup(ip('10.0.33.32'))).toBe(SUBNET_A);
    expect(t.lookup(ip('10.0.32.5'))).toBe(NODE);
    expect(t.lookup(ip('10.0.63.255'))).toBe(SUBNET_A);
    expect(t.lookup(ip('10.0.64.0'))).toBe(SUBNET_B);
    expect(t.lookup(ip('10.0.0.1'))).toBe(VPC);
    expect(t.lookup(ip('10.1.0.1'))).toBe(INTERNET);
    expect(t.lookup(ip('255.255.255.255'))).toBe(INTERNET);
    expect(t.size).toBe(7);
  });

  it('falls back to the next shorter prefix when a prefix is removed', () => {
    const t = vpcTable(create());
    expect(t.delete(ip('10.0.33.20'), 32)).toBe(true);
    expect(t.lookup(ip('10.0.33.20'))).toBe(ENI_PREFIX);
    expect(t.delete(ip('10.0.33.16'), 28)).toBe(true);
    expect(t.lookup(ip('10.0.33.20'))).toBe(SUBNET_A);
    expect(t.delete(ip('10.0.32.0'), 19)).toBe(true);
    expect(t.lookup(ip('10.0.33.20'))).toBe(VPC);
    expect(t.lookup(ip('10.0.32.5'))).toBe(NODE);
    expect(t.delete(ip('0.0.0.0'), 0)).toBe(true);
    expect(t.lookup(ip('8.8.8.8'))).toBeUndefined();
    expect(t.delete(ip('0.0.0.0'), 0)).toBe(false);
    expect(t.size).toBe(3);
  });

  it('misses without a default route, and a /32 matches only itself', () => {
    const t = create();
    t.add(ip('192.168.1.1'), 32, 7);
    expect(t.lookup(ip('192.168.1.1'))).toBe(7);
    expect(t.lookup(ip('192.168.1.0'))).toBeUndefined();
    expect(t.lookup(ip('192.168.1.2'))).toBeUndefined();
    expect(Array.from(t.lookupMany([ip('192.168.1.1'), ip('192.168.1.2')]))).toEqual([7, LPM_MISS]);
  });

  it('keeps 0 and 0xFFFFFFFE as values and refuses the miss sentinel', () => {
    const t = create();
    t.add(ip('10.0.0.0'), 8, 0);
    t.add(ip('10.0.0.0'), 9, LPM_MISS - 1);
    expect(t.lookup(ip('10.1.0.0'))).toBe(LPM_MISS - 1);
    expect(t.lookup(ip('10.200.0.0'))).toBe(0);
    expect(() => t.add(ip('11.0.0.0'), 8, LPM_MISS)).toThrow(RangeError);
    expect(() => t.add(ip('11.0.0.0'), 8, LPM_MISS)).toThrow(/`value`/);
  });

  it('refuses a duplicate add, and set() replaces explicitly', () => {
    const t = vpcTable(create());
    let error: unknown;
    try { t.add(ip('10.0.32.0'), 19, 99); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DatapathError);
    expect((error as DatapathError).code).toBe('E_LPM_PREFIX_EXISTS');
    expect((error as Error).message).toContain('10.0.32.0/19');
    expect(t.lookup(ip('10.0.40.1'))).toBe(SUBNET_A);
    expect(t.set(ip('10.0.32.0'), 19, 99)).toBe(SUBNET_A);
    expect(t.lookup(ip('10.0.40.1'))).toBe(99);
    expect(t.set(ip('10.9.0.0'), 16, 98)).toBeUndefined();
    expect(t.get(ip('10.9.0.0'), 16)).toBe(98);
    expect(t.get(ip('10.9.0.0'), 17)).toBeUndefined();
  });

  it('names the argument of a bad prefix, length or address', () => {
    const t = create();
    expect(() => t.add(ip('10.0.0.1'), 24, 1)).toThrow(RangeError);
    expect(() => t.add(ip('10.0.0.1'), 24, 1)).toThrow(/`prefix`.*10\.0\.0\.1\/24.*10\.0\.0\.0\/24/);
    expect(() => t.add(0, 33, 1)).toThrow(/`length`/);
    expect(() => t.add(0, -1, 1)).toThrow(RangeError);
    expect(() => t.add(0, 1.5, 1)).toThrow(TypeError);
    expect(() => t.lookup(2 ** 32)).toThrow(/`ip`/);
    expect(() => t.lookup(-1)).toThrow(RangeError);
    expect(() => t.lookup(Number.NaN)).toThrow(TypeError);
    expect(() => t.lookupMany([1, 2, 0.5])).toThrow(/`ips\[2\]`/);
    expect(t.size).toBe(0);
  });

  it('clones into an independent table', () => {
    const t = vpcTable(create());
    const copy = t.clone();
    t.delete(ip('10.0.33.20'), 32);
    copy.add(ip('10.0.99.0'), 24, 42);
    expect(copy.lookup(ip('10.0.33.20'))).toBe(POD);
    expect(t.lookup(ip('10.0.33.20'))).toBe(ENI_PREFIX);
    expect(t.lookup(ip('10.0.99.1'))).toBe(VPC);
    expect(copy.entries()).toHaveLength(8);
  });
});

describe('LPM table (wasm): instance and memory', () => {
  it('keeps many tables apart in one instance', () => {
    const a = new LpmTable(dp);
    const b = LpmTable.create(dp);
    a.add(ip('10.0.0.0'), 8, 1);
    b.add(ip('10.0.0.0'), 8, 2);
    expect(a.lookup(ip('10.1.2.3'))).toBe(1);
    expect(b.lookup(ip('10.1.2.3'))).toBe(2);
    a.free();
    expect(b.lookup(ip('10.1.2.3'))).toBe(2);
    b.free();
  });

  it('throws a TypeError on a freed table, also once its handle index is reused', () => {
    const t = new LpmTable(dp);
    t.add(0, 0, 1);
    t.free();
    t.free();
    expect(() => t.lookup(1)).toThrow(TypeError);
    expect(() => t.lookup(1)).toThrow(/freed/);
    const reuse = new LpmTable(dp);
    expect(() => t.size).toThrow(/freed/);
    reuse.free();
  });

  it('rejects a stale handle at the ABI with BAD_HANDLE rather than reading freed memory', () => {
    const t = new LpmTable(dp);
    const stale = t.handle;
    t.free();
    const next = new LpmTable(dp);
    const exports = dp.exports as unknown as { lpmSize(h: number): number; lpmAdd(h: number, p: number, l: number, v: number): number };
    expect(next.handle).not.toBe(stale);
    expect(exports.lpmSize(stale)).toBe(-1);
    expect(exports.lpmAdd(stale, 0, 0, 1)).toBe(1);
    expect(exports.lpmSize(0)).toBe(-1);
    expect(exports.lpmSize(-5)).toBe(-1);
    next.free();
  });

  it('frees the memory of a table that is dropped without free() once it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const exports = dp.exports as unknown as { lpmSize(h: number): number };
    const handles = ((): number[] => {
      const tables = Array.from({ length: 8 }, () => new LpmTable(dp).clone());
      tables.forEach((t) => t.add(0, 0, 1));
      return tables.map((t) => t.handle);
    })();
    expect(handles.map((h) => exports.lpmSize(h))).toEqual(handles.map(() => 1));
    // Finalizers run as a task after a collection: collect and yield until they have (bounded).
    for (let round = 0; round < 50 && handles.some((h) => exports.lpmSize(h) !== -1); round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(handles.map((h) => exports.lpmSize(h))).toEqual(handles.map(() => -1));
  });

  it('looks up a batch in place in linear memory, surviving memory growth', () => {
    const t = new LpmTable(dp, { capacity: 0 });
    const batch = new WasmU32Buffer(dp, 4);
    batch.array.set([ip('10.0.33.20'), ip('10.0.33.21'), ip('10.1.0.0'), ip('10.0.1.1')]);
    vpcTable(t);
    // Grow the table well past its first allocation so memory.grow detaches earlier views.
    for (let i = 0; i < 20_000; i++) t.add((ip('172.16.0.0') + i) >>> 0, 32, 100 + i);
    t.lookupBatch(batch, batch);
    expect(Array.from(batch.array)).toEqual([POD, ENI_PREFIX, INTERNET, VPC]);
    expect(t.lookup(ip('172.16.78.31'))).toBe(100 + 78 * 256 + 31);
    expect(() => t.lookupBatch(batch, batch, 5)).toThrow(/`count`/);
    const other = loadDatapathSync({ conntrackMax: 1024 });
    const foreign = new WasmU32Buffer(other, 4);
    expect(() => t.lookupBatch(batch, foreign)).toThrow(/`out`.*this table's datapath instance/);
    expect(() => t.lookupBatch(new Uint32Array(4) as unknown as WasmU32Buffer, batch)).toThrow(TypeError);
    batch.free();
    t.free();
  });
});

// Differential: random add/set/delete/get/lookup sequences on both implementations, compared operation by operation.
const BASES = ['0.0.0.0', '10.0.0.0', '10.0.32.0', '10.0.33.16', '192.168.0.0', '255.255.255.0'].map(ip);
const LENGTHS = [0, 1, 8, 15, 16, 17, 19, 24, 27, 28, 29, 31, 32];

const address = fc.tuple(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 0xffff }))
  .map(([base, low]) => (base | low) >>> 0);
const prefix = fc.tuple(address, fc.oneof(fc.constantFrom(...LENGTHS), fc.integer({ min: 0, max: 32 })))
  .map(([a, length]) => ({ prefix: length === 0 ? 0 : (a & (0xffff_ffff << (32 - length))) >>> 0, length }));
const value = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(LPM_MISS - 1));
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), p: prefix, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), p: prefix, value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), p: prefix }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('get' as const), p: prefix }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('lookup' as const), ips: fc.array(address, { minLength: 1, maxLength: 8 }) }) },
  // Invalid input must fail the same way on both (host bits set, lengths and values out of range).
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad' as const), a: address, length: fc.integer({ min: -1, max: 34 }), value: fc.constantFrom(0, LPM_MISS, 1.5) }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function apply(t: LpmTableLike, o: Op): unknown {
  try {
    switch (o.kind) {
      case 'add': return t.add(o.p.prefix, o.p.length, o.value);
      case 'set': return t.set(o.p.prefix, o.p.length, o.value);
      case 'delete': return t.delete(o.p.prefix, o.p.length);
      case 'get': return t.get(o.p.prefix, o.p.length);
      case 'lookup': return [o.ips.map((a) => t.lookup(a)), Array.from(t.lookupMany(o.ips))];
      case 'bad': return t.add(o.a, o.length, o.value);
    }
  } catch (e) {
    return { error: (e as Error).constructor.name, code: (e as { code?: string }).code, message: (e as Error).message };
  }
}

describe('LPM table: WASM agrees with the reference', () => {
  it('operation by operation over random prefix sets', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const wasm = new LpmTable(dp, { capacity: 0 });
        const reference = new ReferenceLpmTable();
        try {
          for (const o of ops) {
            expect(apply(wasm, o)).toEqual(apply(reference, o));
            expect(wasm.size).toBe(reference.size);
          }
          expect(wasm.entries()).toEqual(reference.entries());
        } finally {
          wasm.free();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on thousands of prefixes with interleaved removals (growth and backward-shift deletion)', () => {
    fc.assert(
      fc.property(fc.array(prefix, { minLength: 500, maxLength: 3000 }), fc.array(address, { minLength: 200, maxLength: 200 }), (prefixes, probes) => {
        const wasm = new LpmTable(dp, { capacity: 0 });
        const reference = new ReferenceLpmTable();
        try {
          prefixes.forEach((p, i) => {
            wasm.set(p.prefix, p.length, i);
            reference.set(p.prefix, p.length, i);
            if (i % 3 === 2) {
              const victim = prefixes[(i * 7) % (i + 1)]!;
              expect(wasm.delete(victim.prefix, victim.length)).toBe(reference.delete(victim.prefix, victim.length));
            }
          });
          expect(Array.from(wasm.lookupMany(probes))).toEqual(Array.from(reference.lookupMany(probes)));
          // Every stored prefix must be found again by its own network address after all the shifting.
          for (const e of reference.entries()) expect(wasm.get(e.prefix, e.length)).toBe(e.value);
          expect(wasm.size).toBe(reference.size);
        } finally {
          wasm.free();
        }
      }),
      { numRuns: 40 },
    );
  });
});
