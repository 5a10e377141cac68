import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Datapath, loadDatapath } from './index.js';
import {
  DEFAULT_IP_COOLDOWN_SECONDS, IpSlotPool, IpSlotPoolBatch, type IpSlotPoolBatchLike, type IpSlotPoolLike, type IpSlotPoolOptions,
} from './ip-pool.js';
import { ReferenceIpSlotPool, ReferenceIpSlotPoolBatch } from './reference/ip-pool.js';
import { DatapathError } from './errors.js';

// One instance for the file, as the CNI uses it: many tables and pools in one module (conntrack kept small).
let dp: Datapath;
beforeAll(async () => {
  dp = await loadDatapath({ conntrackMax: 1024 });
});

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof DatapathError ? e.code : (e as Error).constructor.name;
  }
  return undefined;
}

const implementations: [string, (o: IpSlotPoolOptions) => IpSlotPoolLike][] = [
  ['wasm', (o) => new IpSlotPool(dp, o)],
  ['reference', (o) => new ReferenceIpSlotPool(o)],
];

describe.each(implementations)('IP slot pool (%s): known vectors', (_name, create) => {
  it('hands out the lowest free slot and skips a released one for the 30 s cooldown', () => {
    // A /28 prefix: 16 addresses.
    const pool = create({ slots: 16 });
    expect(pool.cooldownSeconds).toBe(DEFAULT_IP_COOLDOWN_SECONDS);
    expect([pool.allocate(0), pool.allocate(0), pool.allocate(0)]).toEqual([0, 1, 2]);
    pool.release(1, 100);
    expect(pool.state(1, 100)).toBe('cooling');
    expect(pool.isCooling(1, 129)).toBe(true);
    expect(pool.freeableAt(1)).toBe(130);
    expect(pool.counts(100)).toEqual({ total: 16, assigned: 2, cooling: 1, free: 13 });
    expect(pool.allocate(129)).toBe(3);
    // From release + cooldown on, the slot is free again (ipamd: time.Since(UnassignedTime) <= period on a
    // continuous clock; in whole simulated seconds the boundary second is already past it).
    expect(pool.state(1, 130)).toBe('free');
    expect(pool.counts(130)).toEqual({ total: 16, assigned: 3, cooling: 0, free: 13 });
    expect(pool.allocate(130)).toBe(1);
    expect(pool.freeableAt(1)).toBeUndefined();
  });

  it('runs dry like a t3.small ENI (3 secondary IPs) and recovers after the cooldown', () => {
    const pool = create({ slots: 3 });
    expect(pool.allocateMany(5, 0)).toEqual([0, 1, 2]);
    expect(pool.allocate(0)).toBeUndefined();
    pool.release(2, 10);
    expect(pool.allocate(39)).toBeUndefined();
    expect(pool.counts(39)).toEqual({ total: 3, assigned: 2, cooling: 1, free: 0 });
    expect(pool.allocate(40)).toBe(2);
  });

  it('grows and shrinks with the ENI: new slots fill the lowest hole; unassigned slots, cooling or not, are removed', () => {
    const pool = create({ slots: 4, cooldownSeconds: 30 });
    pool.allocateMany(2, 0);
    expect(pool.addSlot()).toBe(4);
    expect(pool.extent).toBe(5);
    expect(codeOf(() => pool.removeSlot(0))).toBe('E_IP_POOL_SLOT_ASSIGNED');
    pool.release(1, 5);
    expect(pool.isCooling(1, 34)).toBe(true);
    pool.removeSlot(1);
    pool.removeSlot(2);
    expect(pool.state(1, 35)).toBe('absent');
    expect(pool.counts(35)).toEqual({ total: 3, assigned: 1, cooling: 0, free: 2 });
    expect(codeOf(() => pool.release(1, 40))).toBe('E_IP_POOL_SLOT_ABSENT');
    expect(pool.allocate(40)).toBe(3);
    expect(pool.addSlot()).toBe(1);
    expect(pool.freeableAt(1)).toBe(0);
    expect(pool.allocate(40)).toBe(1);
    pool.removeSlot(4);
    expect(pool.extent).toBe(4);
  });

  it('claims a given slot, cooling or not, and refuses a double claim or a double release', () => {
    const pool = create({ slots: 16, cooldownSeconds: 30 });
    pool.claim(7);
    expect(pool.allocate(0)).toBe(0);
    pool.release(7, 0);
    pool.claim(7);
    expect(pool.state(7, 1)).toBe('assigned');
    expect(codeOf(() => pool.claim(7))).toBe('E_IP_POOL_SLOT_ASSIGNED');
    pool.release(7, 1);
    expect(codeOf(() => pool.release(7, 2))).toBe('E_IP_POOL_SLOT_NOT_ASSIGNED');
    expect(pool.freeableAt(7)).toBe(31);
  });

  it('takes aligned /28 blocks from a subnet, and a fragmented subnet refuses one while it has free addresses', () => {
    // A /26 subnet's 64 addresses as slots; AWS reserves the first four and the last one.
    const subnet = create({ slots: 64, cooldownSeconds: 0 });
    for (const reserved of [0, 1, 2, 3, 63]) subnet.claim(reserved);
    expect(subnet.countAligned(16, 0)).toBe(2);
    expect(subnet.allocateAligned(16, 0)).toBe(16);
    expect(subnet.allocateAligned(16, 0)).toBe(32);
    // Secondary IPs scattered over the rest leave free addresses but no free aligned block.
    expect(subnet.allocate(0)).toBe(4);
    expect(subnet.counts(0).free).toBe(26);
    expect(subnet.allocateAligned(16, 0)).toBeUndefined();
    expect(subnet.countAligned(16, 0)).toBe(0);
    expect(subnet.countAligned(8, 0)).toBe(2);
    expect(subnet.countAligned(32, 0)).toBe(0);
    expect(() => subnet.allocateAligned(12, 0)).toThrow(/`blockSize`/);
    expect(() => subnet.countAligned(64, 0)).toThrow(RangeError);
  });

  it('gives a /28 block back to the subnet in one release, all or none', () => {
    const subnet = create({ slots: 64, cooldownSeconds: 0 });
    expect(subnet.allocateAligned(16, 0)).toBe(0);
    expect(subnet.allocateAligned(16, 0)).toBe(16);
    subnet.release(20, 0);
    expect(codeOf(() => subnet.releaseRange(16, 16, 1))).toBe('E_IP_POOL_SLOT_NOT_ASSIGNED');
    expect(() => subnet.releaseRange(16, 16, 1)).toThrow(/slot 20/);
    expect(subnet.counts(1).assigned).toBe(31);
    subnet.releaseRange(0, 16, 1);
    expect(subnet.counts(1)).toEqual({ total: 64, assigned: 15, cooling: 0, free: 49 });
    expect(subnet.allocateAligned(16, 1)).toBe(0);
    subnet.claim(62);
    subnet.claim(63);
    expect(codeOf(() => subnet.releaseRange(62, 4, 1))).toBe('E_IP_POOL_SLOT_ABSENT');
    expect(() => subnet.releaseRange(62, 4, 1)).toThrow(/Slot 64 /);
    expect(subnet.state(62, 1)).toBe('assigned');
    expect(() => subnet.releaseRange(65_535, 2, 1)).toThrow(/`count`/);
  });

  it('does not hand out an aligned block holding a cooling slot', () => {
    const pool = create({ slots: 32, cooldownSeconds: 30 });
    expect(pool.allocateAligned(32, 0)).toBe(0);
    pool.release(5, 10);
    for (let s = 0; s < 32; s++) if (s !== 5) pool.release(s, 0);
    expect(pool.countAligned(16, 39)).toBe(1);
    expect(pool.allocateAligned(16, 39)).toBe(16);
    expect(pool.allocateAligned(16, 39)).toBeUndefined();
    expect(pool.allocateAligned(16, 40)).toBe(0);
  });

  it('with a zero cooldown, a released slot is free at once', () => {
    const pool = create({ slots: 2, cooldownSeconds: 0 });
    expect(pool.allocate(5)).toBe(0);
    pool.release(0, 5);
    expect(pool.state(0, 5)).toBe('free');
    expect(pool.allocate(5)).toBe(0);
  });

  it('names the bad argument and changes nothing', () => {
    const pool = create({ slots: 2 });
    expect(() => pool.allocate(-1)).toThrow(RangeError);
    expect(() => pool.allocate(-1)).toThrow(/`now`/);
    expect(() => pool.allocate(1.5)).toThrow(TypeError);
    expect(() => pool.claim(65_536)).toThrow(/`slot`/);
    expect(() => pool.state(-1, 0)).toThrow(RangeError);
    expect(() => pool.allocateMany(-1, 0)).toThrow(/`count`/);
    expect(() => create({ slots: 65_537 })).toThrow(/`slots`/);
    expect(() => create({ slots: 1, cooldownSeconds: -30 })).toThrow(/`cooldownSeconds`/);
    expect(pool.allocate(0xffff_ffff)).toBe(0);
    expect(() => pool.release(0, 0xffff_ffff)).toThrow(RangeError);
    expect(pool.state(0, 0)).toBe('assigned');
    expect(pool.counts(0)).toEqual({ total: 2, assigned: 1, cooling: 0, free: 1 });
  });

  it('releases a list of slots in one call, all or none, naming the first refused slot', () => {
    const pool = create({ slots: 16, cooldownSeconds: 30 });
    expect(pool.allocateMany(6, 0)).toEqual([0, 1, 2, 3, 4, 5]);
    pool.releaseMany([4, 1], 10);
    expect([pool.state(1, 10), pool.state(4, 10), pool.freeableAt(4)]).toEqual(['cooling', 'cooling', 40]);
    // Slot 1 is already free, and slot 2 listed twice is released by its first entry only: both refuse the batch.
    expect(() => pool.releaseMany([0, 1], 10)).toThrow('Cannot release slot 1: it is not assigned');
    expect(() => pool.releaseMany([2, 3, 2], 10)).toThrow('Cannot release slot 2: it is not assigned');
    expect(codeOf(() => pool.releaseMany([0, 20], 10))).toBe('E_IP_POOL_SLOT_ABSENT');
    expect(pool.counts(10)).toEqual({ total: 16, assigned: 4, cooling: 2, free: 10 });
    expect([0, 2, 3, 5].map((s) => pool.state(s, 10))).toEqual(['assigned', 'assigned', 'assigned', 'assigned']);
    pool.releaseMany(new Uint32Array([5, 0]), 11);
    pool.releaseMany([], 11);
    expect(pool.allocateMany(3, 40)).toEqual([1, 4, 6]);
  });

  it('checks every slot of a releaseMany before releasing any', () => {
    const pool = create({ slots: 4 });
    pool.allocateMany(4, 0);
    expect(() => pool.releaseMany([0, 1.5], 0)).toThrow(TypeError);
    expect(() => pool.releaseMany([0, 65_536], 0)).toThrow(/`slots\[1\]`/);
    expect(() => pool.releaseMany([0, -1], 0)).toThrow(RangeError);
    expect(() => pool.releaseMany(7 as unknown as number[], 0)).toThrow(/`slots`/);
    expect(() => pool.releaseMany([0], -1)).toThrow(/`now`/);
    expect(() => pool.releaseMany(new Array<number>(65_537).fill(0), 0)).toThrow(/`slots.length`/);
    // The overflow is reported where release would report it: after the first slot's own checks.
    expect(codeOf(() => pool.releaseMany([3, 9], 0xffff_fff0))).toBe('RangeError');
    expect(() => pool.releaseMany([3, 9], 0xffff_fff0)).toThrow(/`now` \+ cooldown/);
    expect(pool.counts(0).assigned).toBe(4);
  });

  it('clones into an independent pool', () => {
    const pool = create({ slots: 4 });
    pool.allocateMany(2, 0);
    const copy = pool.clone();
    pool.release(0, 0);
    expect(copy.state(0, 0)).toBe('assigned');
    expect(copy.allocate(0)).toBe(2);
    expect(pool.allocate(0)).toBe(2);
    expect(pool.allocate(0)).toBe(3);
    expect(copy.counts(0)).toEqual({ total: 4, assigned: 3, cooling: 0, free: 1 });
  });
});

// A batch over pools made by one implementation: [pools, batch].
type BatchMaker = (options: IpSlotPoolOptions[], capacity: number, order?: number[]) => [IpSlotPoolLike[], IpSlotPoolBatchLike];
const batchImplementations: [string, BatchMaker][] = [
  ['wasm', (options, capacity, order) => {
    const pools = options.map((o) => new IpSlotPool(dp, o));
    return [pools, new IpSlotPoolBatch(dp, (order ?? pools.map((_, i) => i)).map((i) => pools[i]!), capacity)];
  }],
  ['reference', (options, capacity, order) => {
    const pools = options.map((o) => new ReferenceIpSlotPool(o));
    return [pools, new ReferenceIpSlotPoolBatch((order ?? pools.map((_, i) => i)).map((i) => pools[i]!), capacity)];
  }],
];

describe.each(batchImplementations)('IP slot pool batch (%s): known vectors', (_name, makeBatch) => {
  it('allocates across /28 prefixes into fixed regions; a pool that runs dry gives fewer', () => {
    // Three /28 prefixes of a node, the middle one half used, the last with a cooling slot.
    const [pools, batch] = makeBatch([{ slots: 16 }, { slots: 16 }, { slots: 16, cooldownSeconds: 30 }], 64);
    pools[1]!.allocateMany(12, 0);
    pools[2]!.allocate(0);
    pools[2]!.release(0, 100);
    batch.counts.set([2, 6, 3]);
    expect(batch.allocate(110)).toBe(9);
    expect([...batch.taken]).toEqual([2, 4, 3]);
    // Regions: pool 0 at 0..1, pool 1 at 2..7 (two left unwritten), pool 2 at 8..10 (slot 0 still cooling).
    expect([...batch.slots.subarray(0, 11)]).toEqual([0, 1, 12, 13, 14, 15, 0, 0, 1, 2, 3]);
    expect(pools.map((p) => p.counts(110).assigned)).toEqual([2, 16, 3]);
    batch.counts.set([0, 0, 1]);
    expect(batch.allocate(130)).toBe(1);
    expect(batch.slots[0]).toBe(0);
  });

  it('releases across pools in one call, all or none, naming the pool and slot that refused', () => {
    const [pools, batch] = makeBatch([{ slots: 16 }, { slots: 4, cooldownSeconds: 0 }], 32);
    batch.counts.set([3, 2]);
    batch.allocate(0);
    batch.slots.set([2, 0, 1, 1, 0]);
    batch.release(5);
    expect(pools[0]!.counts(5)).toEqual({ total: 16, assigned: 0, cooling: 3, free: 13 });
    expect(pools[1]!.counts(5)).toEqual({ total: 4, assigned: 0, cooling: 0, free: 4 });
    expect(pools[0]!.freeableAt(2)).toBe(35);

    batch.allocate(40);
    batch.slots.set([0, 1, 2, 1, 9]);
    expect(codeOf(() => batch.release(41))).toBe('E_IP_POOL_SLOT_ABSENT');
    expect(() => batch.release(41)).toThrow('pools[1]: Slot 9 is not in the pool; addSlot() adds one');
    batch.slots.set([0, 1, 1], 0);
    expect(() => batch.release(41)).toThrow('pools[0]: Cannot release slot 1: it is not assigned');
    batch.slots.set([0, 1, 2, 1, 65_536]);
    expect(() => batch.release(41)).toThrow(/`slots\[4\]`/);
    batch.counts.set([16, 17]);
    expect(() => batch.release(41)).toThrow(/`counts`.*capacity of 32/);
    expect(() => batch.allocate(41)).toThrow(RangeError);
    expect(() => batch.release(-1)).toThrow(/`now`/);
    // Nothing was released by the refused calls (pool 0's batch part included), nor allocated.
    expect(pools.map((p) => p.counts(41))).toEqual([
      { total: 16, assigned: 3, cooling: 0, free: 13 },
      { total: 4, assigned: 2, cooling: 0, free: 2 },
    ]);
  });

  it('serves a pool listed twice entry by entry', () => {
    const [pools, batch] = makeBatch([{ slots: 8, cooldownSeconds: 0 }], 8, [0, 0]);
    batch.counts.set([3, 2]);
    expect(batch.allocate(0)).toBe(5);
    expect([...batch.slots.subarray(0, 5)]).toEqual([0, 1, 2, 3, 4]);
    // The second entry lists slot 2 again: refused, and the first entry's release is undone.
    batch.slots.set([0, 1, 2, 2, 4]);
    expect(() => batch.release(0)).toThrow('pools[1]: Cannot release slot 2: it is not assigned');
    expect(pools[0]!.counts(0).assigned).toBe(5);
    batch.slots.set([0, 1, 2, 3, 4]);
    batch.release(0);
    expect(pools[0]!.counts(0).assigned).toBe(0);
  });

  it('refuses a release whose cooldown would end past 2^32 − 1 seconds, naming the pool', () => {
    const [pools, batch] = makeBatch([{ slots: 2, cooldownSeconds: 0 }, { slots: 2, cooldownSeconds: 30 }], 4);
    batch.counts.set([1, 1]);
    batch.allocate(0);
    expect(() => batch.release(0xffff_fff0)).toThrow(RangeError);
    expect(() => batch.release(0xffff_fff0)).toThrow(/^pools\[1\]: Expected `now` \+ cooldown \(4294967280 \+ 30 s\)/);
    expect(pools.map((p) => p.state(0, 0))).toEqual(['assigned', 'assigned']);
    batch.release(0xffff_ffe1);
    expect(pools[1]!.freeableAt(0)).toBe(0xffff_ffff);
  });

  it('refuses a batch without pools or room', () => {
    expect(() => makeBatch([], 4)).toThrow(/`pools`/);
    expect(() => makeBatch([{ slots: 1 }], 0)).toThrow(/`capacity`/);
  });
});

describe('IP slot pool batch (wasm): the docs/tables.md example', () => {
  it('takes from a node\'s three /28 prefixes in one call and gives back in one', () => {
    const prefixes = [0, 1, 2].map(() => new IpSlotPool(dp, { slots: 16 }));
    const batch = new IpSlotPoolBatch(dp, prefixes, 48);
    batch.counts.set([4, 0, 2]);
    expect(batch.allocate(0)).toBe(6);
    expect([...batch.slots.subarray(0, 6)]).toEqual([0, 1, 2, 3, 0, 1]);
    expect([...batch.taken]).toEqual([4, 0, 2]);
    batch.release(100);
    expect(prefixes.map((p) => p.counts(100))).toEqual([
      { total: 16, assigned: 0, cooling: 4, free: 12 },
      { total: 16, assigned: 0, cooling: 0, free: 16 },
      { total: 16, assigned: 0, cooling: 2, free: 14 },
    ]);
    batch.free();
    prefixes.forEach((p) => p.free());
  });
});

describe('IP slot pool batch (wasm): instances', () => {
  it('refuses a freed pool without touching the others, and pools of another instance', async () => {
    const pools = [new IpSlotPool(dp, { slots: 16 }), new IpSlotPool(dp, { slots: 16 })];
    const batch = new IpSlotPoolBatch(dp, pools, 32);
    batch.counts.set([4, 4]);
    pools[1]!.free();
    expect(() => batch.allocate(0)).toThrow(TypeError);
    expect(() => batch.allocate(0)).toThrow(/^pools\[1\]: This IpSlotPool was freed/);
    expect(pools[0]!.counts(0).assigned).toBe(0);
    expect(() => new IpSlotPoolBatch(dp, pools, 32)).toThrow(/pools\[1\]: This IpSlotPool was freed/);
    const other = await loadDatapath({ conntrackMax: 1024 });
    expect(() => new IpSlotPoolBatch(other, [pools[0]!], 4)).toThrow(/`pools\[0\]`.*this datapath instance/);
    batch.free();
    expect(() => batch.allocate(0)).toThrow('This IpSlotPoolBatch was freed');
    expect(() => batch.counts).toThrow(TypeError);
    pools[0]!.free();
  });

  it('keeps its views right when the memory grows', () => {
    const pool = new IpSlotPool(dp, { slots: 16, cooldownSeconds: 0 });
    const batch = new IpSlotPoolBatch(dp, [pool], 16);
    const stale = batch.counts;
    stale[0] = 16;
    // Big pools until the memory grows, which detaches every view over the old buffer.
    const big: IpSlotPool[] = [];
    while (stale.length !== 0 && big.length < 256) big.push(new IpSlotPool(dp, { slots: 65_536 }));
    expect(stale.length).toBe(0);
    expect(batch.allocate(0)).toBe(16);
    expect([batch.counts[0], batch.taken[0], batch.slots[15]]).toEqual([16, 16, 15]);
    [...big, pool].forEach((p) => p.free());
  });
});

describe('IP slot pool (wasm): instances', () => {
  it('keeps many pools apart and throws a TypeError on a freed one', () => {
    const pools = Array.from({ length: 100 }, () => IpSlotPool.create(dp, { slots: 16 }));
    pools.forEach((p, i) => p.allocateMany(i % 17, 0));
    pools.forEach((p, i) => expect(p.counts(0).assigned).toBe(Math.min(i % 17, 16)));
    const [first] = pools;
    first!.free();
    expect(() => first!.allocate(0)).toThrow(TypeError);
    expect(() => first!.allocate(0)).toThrow(/freed/);
    expect(pools[1]!.allocate(0)).toBe(1);
    pools.forEach((p) => p.free());
  });

  it('holds 65,536 slots, allocates them all in one call, and refuses one more', () => {
    const pool = new IpSlotPool(dp, { slots: 65_535 });
    expect(pool.addSlot()).toBe(65_535);
    expect(codeOf(() => pool.addSlot())).toBe('E_IP_POOL_FULL');
    const slots = pool.allocateMany(65_536, 0);
    expect(slots).toHaveLength(65_536);
    expect(slots[65_535]).toBe(65_535);
    expect(pool.allocate(0)).toBeUndefined();
    pool.free();
  });
});

// Differential: random allocate / release / claim / add / remove / advance-time sequences, compared op by op.
const slot = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 65_536, 0.5) });
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('allocate' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('allocateMany' as const), count: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('releaseRange' as const), slot, count: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('releaseMany' as const), slots: fc.array(slot, { maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('claim' as const), slot }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('aligned' as const), blockSize: fc.constantFrom(1, 2, 4, 8, 16, 32, 3, 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('addSlot' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('removeSlot' as const), slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inspect' as const), slot }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 40 }) }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).constructor.name, code: (e as { code?: string }).code, message: (e as Error).message };
  }
}

function apply(pool: IpSlotPoolLike, o: Op, now: number): unknown {
  switch (o.kind) {
    case 'allocate': return outcome(() => pool.allocate(now));
    case 'allocateMany': return outcome(() => pool.allocateMany(o.count, now));
    case 'release': return outcome(() => pool.release(o.slot, now));
    case 'releaseRange': return outcome(() => pool.releaseRange(o.slot, o.count, now));
    case 'releaseMany': return outcome(() => pool.releaseMany(o.slots, now));
    case 'claim': return outcome(() => pool.claim(o.slot));
    case 'aligned': return [outcome(() => pool.countAligned(o.blockSize, now)), outcome(() => pool.allocateAligned(o.blockSize, now))];
    case 'addSlot': return outcome(() => pool.addSlot());
    case 'removeSlot': return outcome(() => pool.removeSlot(o.slot));
    case 'inspect': return [outcome(() => pool.state(o.slot, now)), outcome(() => pool.freeableAt(o.slot)), pool.counts(now), pool.extent];
    case 'advance': return undefined;
  }
}

describe('IP slot pool: WASM agrees with the reference', () => {
  it('operation by operation over random allocate/release/advance-time sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.constantFrom(0, 1, 30, 60),
        fc.array(op, { maxLength: 300 }),
        (slots, cooldownSeconds, ops) => {
          const wasm = new IpSlotPool(dp, { slots, cooldownSeconds });
          const reference = new ReferenceIpSlotPool({ slots, cooldownSeconds });
          let now = 0;
          try {
            for (const o of ops) {
              if (o.kind === 'advance') now += o.seconds;
              expect(apply(wasm, o, now)).toEqual(apply(reference, o, now));
            }
            expect(wasm.counts(now)).toEqual(reference.counts(now));
            for (let s = 0; s < Math.max(wasm.extent, reference.extent) + 2; s++) {
              expect(wasm.state(s, now)).toBe(reference.state(s, now));
            }
          } finally {
            wasm.free();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// Differential, across pools: random batch allocations and releases (regions holding assigned, cooling, absent,
// duplicate and out-of-range slots; counts past the capacity), interleaved with per-pool calls and time steps.
const batchOp = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('batchAllocate' as const), counts: fc.array(fc.nat(20), { minLength: 1, maxLength: 6 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('batchRelease' as const),
      // Release what the last allocation gave (taken[i] of each region), then disturb a few slots.
      keep: fc.array(fc.nat(20), { minLength: 1, maxLength: 6 }),
      edits: fc.array(fc.tuple(fc.nat(63), fc.oneof({ weight: 6, arbitrary: fc.nat(40) }, { weight: 1, arbitrary: fc.constant(65_536) })), { maxLength: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('allocate' as const), pool: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('releaseMany' as const), pool: fc.nat(5), slots: fc.array(fc.nat(40), { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeSlot' as const), pool: fc.nat(5), slot: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 40 }) }) },
);

function applyBatch(pools: IpSlotPoolLike[], batch: IpSlotPoolBatchLike, o: typeof batchOp extends fc.Arbitrary<infer T> ? T : never, now: number): unknown {
  const pool = pools[('pool' in o ? o.pool : 0) % pools.length]!;
  switch (o.kind) {
    case 'batchAllocate': {
      batch.counts.set(o.counts.slice(0, batch.length).concat(new Array<number>(Math.max(0, batch.length - o.counts.length)).fill(0)));
      const result = outcome(() => batch.allocate(now));
      return [result, [...batch.taken], [...batch.slots]];
    }
    case 'batchRelease': {
      // Keep the counts, trimmed to what each pool gave (so most regions hold assigned slots), then edit.
      for (let i = 0; i < batch.length; i++) batch.counts[i] = Math.min(batch.counts[i]!, batch.taken[i]!, o.keep[i % o.keep.length]! + 1);
      for (const [k, slot] of o.edits) batch.slots[k % batch.capacity] = slot;
      return outcome(() => batch.release(now));
    }
    case 'allocate': return outcome(() => pool.allocate(now));
    case 'releaseMany': return outcome(() => pool.releaseMany(o.slots, now));
    case 'removeSlot': return outcome(() => pool.removeSlot(o.slot));
    case 'advance': return undefined;
  }
}

describe('IP slot pool batch: WASM agrees with the reference', () => {
  it('call by call over random cross-pool batches, per-pool calls and time steps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ slots: fc.integer({ min: 0, max: 40 }), cooldownSeconds: fc.constantFrom(0, 1, 30) }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(3), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(batchOp, { maxLength: 80 }),
        (options, order, capacity, ops) => {
          const members = order.map((i) => i % options.length);
          const [wasmPools, wasmBatch] = batchImplementations[0]![1](options, capacity, members);
          const [referencePools, referenceBatch] = batchImplementations[1]![1](options, capacity, members);
          let now = 0;
          try {
            for (const o of ops) {
              if (o.kind === 'advance') now += o.seconds;
              expect(applyBatch(wasmPools, wasmBatch, o, now)).toEqual(applyBatch(referencePools, referenceBatch, o, now));
              expect(wasmPools.map((p) => p.counts(now))).toEqual(referencePools.map((p) => p.counts(now)));
            }
            wasmPools.forEach((p, i) => {
              for (let s = 0; s < 42; s++) expect([p.state(s, now), outcome(() => p.freeableAt(s))]).toEqual([referencePools[i]!.state(s, now), outcome(() => referencePools[i]!.freeableAt(s))]);
            });
          } finally {
            (wasmBatch as IpSlotPoolBatch).free();
            wasmPools.forEach((p) => (p as IpSlotPool).free());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
