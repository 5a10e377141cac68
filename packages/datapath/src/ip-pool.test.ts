import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Datapath, loadDatapath } from './index.js';
import { DEFAULT_IP_COOLDOWN_SECONDS, IpSlotPool, type IpSlotPoolLike, type IpSlotPoolOptions } from './ip-pool.js';
import { ReferenceIpSlotPool } from './reference/ip-pool.js';
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
