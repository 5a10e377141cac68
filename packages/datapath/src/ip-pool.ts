import { DatapathError } from './errors.js';
import { IP_POOL_MAX_SLOTS, SlotStateCode, TableStatus } from './abi-tables.js';
import { checkInteger, checkSeconds, freedError } from './tables-errors.js';
import { DatapathTableObject, type DatapathTablesHost } from './tables-memory.js';

/** A slot's state at a given time. `cooling`: free, but released less than the pool's cooldown ago. */
export type SlotState = 'absent' | 'free' | 'assigned' | 'cooling';

/** Slot counts at a given time: `total` = `assigned` + `cooling` + `free`. */
export interface IpSlotCounts {
  /** Present slots (addresses the ENI or prefix holds). */
  total: number;
  /** Slots held by pods. */
  assigned: number;
  /** Unassigned slots still in cooldown: ipamd counts these as available in its warm-pool math, but cannot hand them out. */
  cooling: number;
  /** Unassigned slots out of cooldown: what `allocate` can take. */
  free: number;
}

/** Default cooldown of a released address, in seconds (ipamd's `IP_COOLDOWN_PERIOD`). */
export const DEFAULT_IP_COOLDOWN_SECONDS = 30;

/** Options of {@link IpSlotPool}. */
export interface IpSlotPoolOptions {
  /** Slots to start with, all free (indices 0..slots−1): e.g. an ENI's secondary IPs, or 16 for a /28 prefix. */
  slots: number;
  /** Seconds a released slot cools down before `allocate` may hand it out again (default 30). */
  cooldownSeconds?: number;
}

/** What the WebAssembly pool and the TypeScript reference both do (the differential tests hold them to it). */
export interface IpSlotPoolLike {
  readonly cooldownSeconds: number;
  /** Every present slot index is below this. */
  readonly extent: number;
  /**
   * Assigns the lowest-index free slot not cooling at `now` (simulated seconds); undefined when none is. Lowest
   * index is the simulator's deterministic choice: ipamd walks Go maps, so the real order is random.
   */
  allocate(now: number): number | undefined;
  /** Assigns up to `count` slots as `count` calls to `allocate` would; fewer when the pool runs out. */
  allocateMany(count: number, now: number): number[];
  /**
   * Assigns the lowest block of `blockSize` slots (a power of two, 1..32) aligned on `blockSize`, all free and not
   * cooling, and returns its first slot; undefined when there is none. For a subnet's addresses as slots: a /28
   * prefix is an aligned block of 16, which a fragmented subnet can refuse while it still has free addresses.
   */
  allocateAligned(blockSize: number, now: number): number | undefined;
  /** How many blocks `allocateAligned(blockSize, now)` could take. */
  countAligned(blockSize: number, now: number): number;
  /** Assigns a given slot (an address a pod is observed to hold), cooling or not. */
  claim(slot: number): void;
  /** Unassigns a slot at `now`; it cools down until `now + cooldownSeconds` (allocatable from that second on). */
  release(slot: number, now: number): void;
  /**
   * Releases the assigned slots `first .. first + count − 1` at `now`, all or none (a /28 block going back to its
   * subnet); the first absent or unassigned slot is named in the error.
   */
  releaseRange(first: number, count: number, now: number): void;
  /** Adds a free slot at the lowest absent index (the ENI gained an address) and returns it. */
  addSlot(): number;
  /**
   * Removes an unassigned slot, cooling or not (its address goes back to EC2): ipamd's `FreeableIPs` picks
   * unassigned addresses without looking at their cooldown. Check `isCooling` first to be gentler.
   */
  removeSlot(slot: number): void;
  state(slot: number, now: number): SlotState;
  isCooling(slot: number, now: number): boolean;
  /**
   * The second from which a free slot can be allocated (its release time + cooldown; 0 if never released);
   * undefined while it is assigned.
   */
  freeableAt(slot: number): number | undefined;
  counts(now: number): IpSlotCounts;
  clone(): IpSlotPoolLike;
}

const STATES: readonly SlotState[] = ['absent', 'free', 'assigned', 'cooling'];

export function checkSlot(slot: unknown): number {
  if (((slot as number) & (IP_POOL_MAX_SLOTS - 1)) === slot) return slot;
  return checkInteger('slot', slot, 0, IP_POOL_MAX_SLOTS - 1, 'a slot index');
}

export function checkBlockSize(blockSize: unknown): number {
  const size = checkInteger('blockSize', blockSize, 1, 32, 'a power of two');
  if ((size & (size - 1)) !== 0) throw new RangeError(`Expected \`blockSize\` to be a power of two in 1..32; got ${size}`);
  return size;
}

export function checkRange(first: unknown, count: unknown): void {
  checkSlot(first);
  checkInteger('count', count, 1, IP_POOL_MAX_SLOTS - (first as number), `a number of slots from slot ${first as number}`);
}

export function checkPoolOptions(options: IpSlotPoolOptions): { slots: number; cooldownSeconds: number } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Expected `options` to be an object like { slots: 16, cooldownSeconds: 30 }');
  }
  return {
    slots: checkInteger('slots', options.slots, 0, IP_POOL_MAX_SLOTS, 'a number of slots'),
    cooldownSeconds: checkSeconds('cooldownSeconds', options.cooldownSeconds ?? DEFAULT_IP_COOLDOWN_SECONDS),
  };
}

/** The errors both implementations raise for a state that refuses an operation (nothing changed). */
export const poolErrors = {
  absent: (slot: number) =>
    new DatapathError('E_IP_POOL_SLOT_ABSENT', `Slot ${slot} is not in the pool; addSlot() adds one`),
  assigned: (slot: number, action: string) =>
    new DatapathError('E_IP_POOL_SLOT_ASSIGNED', `Cannot ${action} slot ${slot}: it is assigned; release it first`),
  notAssigned: (slot: number) =>
    new DatapathError('E_IP_POOL_SLOT_NOT_ASSIGNED', `Cannot release slot ${slot}: it is not assigned`),
  full: () => new DatapathError('E_IP_POOL_FULL', `The pool holds its maximum of ${IP_POOL_MAX_SLOTS} slots`),
  overflow: (now: number, cooldown: number) =>
    new RangeError(`Expected \`now\` + cooldown (${now} + ${cooldown} s) to fit in 2^32 − 1 simulated seconds`),
};

/**
 * A pool of IP slots in the datapath's linear memory: one per ENI (its secondary IPs) or per /28 prefix (16 slots);
 * the caller maps slot i to its address. Many pools share one instance. `free()` releases one at
 * once; a dropped pool is freed when garbage-collected.
 */
export class IpSlotPool extends DatapathTableObject implements IpSlotPoolLike {
  /** Creates a pool in `datapath` (a loaded instance: `loadDatapath()`'s result or a raw instance). */
  constructor(datapath: DatapathTablesHost, options: IpSlotPoolOptions) {
    super(
      datapath,
      'IpSlotPool',
      (abi) => {
        const { slots, cooldownSeconds } = checkPoolOptions(options);
        return abi.ipPoolCreate(slots, cooldownSeconds);
      },
      (abi, handle) => abi.ipPoolFree(handle),
    );
  }

  /** Same as `new IpSlotPool(datapath, options)`. */
  static create(datapath: DatapathTablesHost, options: IpSlotPoolOptions): IpSlotPool {
    return new IpSlotPool(datapath, options);
  }

  get cooldownSeconds(): number {
    return this.abi.ipPoolCooldown(this.handle) >>> 0;
  }

  get extent(): number {
    return this.abi.ipPoolExtent(this.handle);
  }

  allocate(now: number): number | undefined {
    checkSeconds('now', now);
    const slot = this.abi.ipPoolAllocate(this.liveHandle, now);
    if (slot >= 0) return slot;
    if (slot === -TableStatus.POOL_EXHAUSTED) return undefined;
    return this.#check(-slot, 0);
  }

  allocateMany(count: number, now: number): number[] {
    checkInteger('count', count, 0, IP_POOL_MAX_SLOTS, 'a number of slots');
    checkSeconds('now', now);
    const handle = this.handle;
    if (count === 0) return [];
    const scratch = this.scratch(count);
    const n = this.abi.ipPoolAllocateMany(handle, count, now, scratch.ptr);
    this.#check(n < 0 ? -n : 0, 0);
    const view = scratch.array;
    const taken = new Array<number>(n);
    for (let i = 0; i < n; i++) taken[i] = view[i]!;
    return taken;
  }

  allocateAligned(blockSize: number, now: number): number | undefined {
    checkBlockSize(blockSize);
    checkSeconds('now', now);
    const slot = this.abi.ipPoolAllocateAligned(this.handle, blockSize, now);
    if (slot === -TableStatus.POOL_EXHAUSTED) return undefined;
    this.#check(slot < 0 ? -slot : 0, slot);
    return slot;
  }

  countAligned(blockSize: number, now: number): number {
    checkBlockSize(blockSize);
    checkSeconds('now', now);
    const count = this.abi.ipPoolCountAligned(this.handle, blockSize, now);
    this.#check(count < 0 ? -count : 0, 0);
    return count;
  }

  claim(slot: number): void {
    checkSlot(slot);
    this.#check(this.abi.ipPoolClaim(this.handle, slot), slot, 'claim');
  }

  release(slot: number, now: number): void {
    checkSlot(slot);
    checkSeconds('now', now);
    const status = this.abi.ipPoolRelease(this.liveHandle, slot, now);
    if (status === TableStatus.OK) return;
    if (status === TableStatus.TIME_OVERFLOW) throw poolErrors.overflow(now, this.cooldownSeconds);
    this.#check(status, slot, 'release');
  }

  releaseRange(first: number, count: number, now: number): void {
    checkRange(first, count);
    checkSeconds('now', now);
    const status = this.abi.ipPoolReleaseRange(this.handle, first, count, now);
    if (status === TableStatus.OK) return;
    if (status === TableStatus.TIME_OVERFLOW) throw poolErrors.overflow(now, this.cooldownSeconds);
    // Name the first slot that refused, as the reference does.
    let slot = first;
    while (slot < first + count - 1 && this.state(slot, now) === 'assigned') slot++;
    this.#check(status, slot, 'release');
  }

  addSlot(): number {
    const slot = this.abi.ipPoolAddSlot(this.handle);
    this.#check(slot < 0 ? -slot : 0, slot);
    return slot;
  }

  removeSlot(slot: number): void {
    checkSlot(slot);
    this.#check(this.abi.ipPoolRemoveSlot(this.handle, slot), slot, 'remove');
  }

  state(slot: number, now: number): SlotState {
    checkSlot(slot);
    checkSeconds('now', now);
    const code = this.abi.ipPoolSlotState(this.handle, slot, now);
    this.#check(code < 0 ? -code : 0, slot);
    return STATES[code]!;
  }

  isCooling(slot: number, now: number): boolean {
    return this.state(slot, now) === 'cooling';
  }

  freeableAt(slot: number): number | undefined {
    checkSlot(slot);
    const abi = this.abi;
    const at = abi.ipPoolFreeableAt(this.handle, slot) >>> 0;
    this.#check(abi.tablesLastStatus(), slot);
    return abi.ipPoolSlotState(this.handle, slot, 0) === SlotStateCode.assigned ? undefined : at;
  }

  counts(now: number): IpSlotCounts {
    checkSeconds('now', now);
    const abi = this.abi;
    const handle = this.handle;
    const total = abi.ipPoolCount(handle, 0, now);
    const assigned = abi.ipPoolCount(handle, 1, now);
    const cooling = abi.ipPoolCount(handle, 2, now);
    return { total, assigned, cooling, free: total - assigned - cooling };
  }

  clone(): IpSlotPool {
    return DatapathTableObject.adopt(this.abi.ipPoolClone(this.handle), 'IpSlotPool', () => new IpSlotPool(this.datapath, { slots: 0 }));
  }

  #check(status: number, slot: number, action = 'use'): undefined {
    switch (status) {
      case TableStatus.OK: return undefined;
      case TableStatus.BAD_HANDLE: throw freedError('IpSlotPool');
      case TableStatus.BAD_SLOT: throw poolErrors.absent(slot);
      case TableStatus.SLOT_ASSIGNED: throw poolErrors.assigned(slot, action);
      case TableStatus.SLOT_NOT_ASSIGNED: throw poolErrors.notAssigned(slot);
      case TableStatus.POOL_FULL: throw poolErrors.full();
      // Arguments are validated above, so any other status is a wrapper/core mismatch: say so rather than guess.
      default: throw new Error(`Unexpected IP pool status ${status} from the datapath`);
    }
  }
}
