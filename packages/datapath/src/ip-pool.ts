import { DatapathError } from './errors.js';
import { IP_POOL_MAX_SLOTS, SlotStateCode, TableStatus, type TablesExports } from './abi-tables.js';
import { checkInteger, checkSeconds, freedError } from './tables-errors.js';
import { DatapathTableObject, type DatapathTablesHost, WasmU32Buffer, bindTables } from './tables-memory.js';

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
  /**
   * Releases the given slots at `now` as `release` would one after another, all or none: the first slot that
   * `release` would refuse (absent, not assigned, or listed twice) is named in the error and nothing is released.
   * The batch form of `release`, the counterpart of `allocateMany`.
   */
  releaseMany(slots: ArrayLike<number>, now: number): void;
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

/** A list of slot indices: an array-like of at most 65,536 integers in 0..65,535 (each named `slots[k]`). */
export function checkSlots(slots: ArrayLike<number>): void {
  if (typeof slots !== 'object' || slots === null || typeof slots.length !== 'number') {
    throw new TypeError('Expected `slots` to be an array of slot indices (an Array or a Uint32Array)');
  }
  checkInteger('slots.length', slots.length, 0, IP_POOL_MAX_SLOTS, 'a number of slots (a pool has at most that many)');
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k];
    if (((slot as number) & (IP_POOL_MAX_SLOTS - 1)) !== slot) checkInteger(`slots[${k}]`, slot, 0, IP_POOL_MAX_SLOTS - 1, 'a slot index');
  }
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
  /** The error `error` of the batch's pool `index`: same class and code, the message says which pool. */
  inBatch: (index: number, error: Error): Error => {
    const message = `pools[${index}]: ${error.message}`;
    if (error instanceof DatapathError) return new DatapathError(error.code, message);
    return error instanceof RangeError ? new RangeError(message) : new TypeError(message);
  },
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
    if (!(count >= 0 && count <= IP_POOL_MAX_SLOTS && (count | 0) === count)) checkInteger('count', count, 0, IP_POOL_MAX_SLOTS, 'a number of slots');
    checkSeconds('now', now);
    const handle = this.handle;
    if (count === 0) return [];
    const scratch = this.scratch(count);
    const n = this.abi.ipPoolAllocateMany(handle, count, now, scratch.ptr);
    this.#check(n < 0 ? -n : 0, 0);
    const out = scratch.array;
    const taken = new Array<number>(n);
    for (let i = 0; i < n; i++) taken[i] = out[i]!;
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

  releaseMany(slots: ArrayLike<number>, now: number): void {
    checkSlots(slots);
    checkSeconds('now', now);
    const handle = this.handle;
    const count = slots.length;
    if (count === 0) return;
    const scratch = this.scratch(count);
    const into = scratch.array;
    for (let i = 0; i < count; i++) into[i] = slots[i]!;
    const status = this.abi.ipPoolReleaseMany(handle, scratch.ptr, count, now);
    if (status === TableStatus.OK) return;
    if (status === TableStatus.TIME_OVERFLOW) throw poolErrors.overflow(now, this.cooldownSeconds);
    this.#check(status, slots[this.abi.ipPoolBatchFailedAt()]!, 'release');
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

  /** The linear memory the pool lives in (a batch only takes pools of its own instance). */
  get memory(): WebAssembly.Memory {
    return this.binding.memory;
  }

  clone(): IpSlotPool {
    return DatapathTableObject.adopt(this.abi.ipPoolClone(this.handle), 'IpSlotPool', () => new IpSlotPool(this.datapath, { slots: 0 }));
  }

  #check(status: number, slot: number, action = 'use'): undefined {
    if (status === TableStatus.OK) return undefined;
    throw statusError(status, slot, action);
  }
}

/** The error of a status other than OK from a pool export, about `slot` (what `action` was tried on it). */
function statusError(status: number, slot: number, action: string): Error {
  switch (status) {
    case TableStatus.BAD_HANDLE: return freedError('IpSlotPool');
    case TableStatus.BAD_SLOT: return poolErrors.absent(slot);
    case TableStatus.SLOT_ASSIGNED: return poolErrors.assigned(slot, action);
    case TableStatus.SLOT_NOT_ASSIGNED: return poolErrors.notAssigned(slot);
    case TableStatus.POOL_FULL: return poolErrors.full();
    // Arguments are validated above, so any other status is a wrapper/core mismatch: say so rather than guess.
    default: return new Error(`Unexpected IP pool status ${status} from the datapath`);
  }
}

/**
 * A batch over many pools, one call across the boundary for all of them: the caller writes `counts` (and, to
 * release, `slots`), calls `allocate(now)` or `release(now)`, and reads `slots` and `taken`. Pool i's slots sit in
 * its *region* of `slots`: `counts[i]` elements starting at `counts[0] + … + counts[i − 1]`, whatever the pools give,
 * so pool i's results are always found in the same place. A pool may be listed twice: its entries are served in
 * order. The WebAssembly batch and the TypeScript reference both do this (the differential tests hold them to it).
 */
export interface IpSlotPoolBatchLike {
  /** Number of pools. */
  readonly length: number;
  /** Room in `slots`, in slots: the counts may add up to at most this. */
  readonly capacity: number;
  /** Per pool, in pool order: how many slots to allocate, or to release from its region. The caller writes these; they are kept between calls. */
  readonly counts: Uint32Array;
  /** The pools' regions of slot indices: `allocate` writes the slots it assigned, `release` reads the slots to release. */
  readonly slots: Uint32Array;
  /** Per pool, after `allocate`: how many slots it assigned (< `counts[i]` when the pool ran out: not an error). */
  readonly taken: Uint32Array;
  /**
   * Pool i assigns up to `counts[i]` slots at `now` as its `allocateMany(counts[i], now)` would, into its region of
   * `slots`; `taken[i]` says how many. Returns the total. Throws (nothing assigned) a `RangeError` when the counts
   * add up to more than `capacity`.
   */
  allocate(now: number): number;
  /**
   * Pool i releases the `counts[i]` slots of its region at `now` as its `releaseMany` would, and the whole batch is
   * all or none: a slot ≥ 65,536 anywhere is a `RangeError` naming it (`slots[k]`); otherwise the first slot in
   * batch order that `release` would refuse throws that error, its message starting `pools[i]: `, and nothing is
   * released in any pool.
   */
  release(now: number): void;
}

/** Most slots a batch holds (a 1 GiB view). */
const BATCH_MAX_CAPACITY = 1 << 28;

/** A batch's pools (a non-empty array) and capacity (1..2^28 slots), checked alike by both implementations. */
export function checkBatchShape(pools: unknown, capacity: unknown): void {
  if (!Array.isArray(pools) || pools.length === 0) throw new TypeError('Expected `pools` to be a non-empty array of IP slot pools');
  checkInteger('capacity', capacity, 1, BATCH_MAX_CAPACITY, 'the room for slots in the batch');
}

/** The RangeError for counts adding up to more than `capacity`, or undefined when they fit. */
export function countsError(counts: Uint32Array, capacity: number): RangeError | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i]!;
    if (total > capacity) {
      return new RangeError(
        `Expected \`counts\` to add up to at most the batch's capacity of ${capacity} slots; counts[0..${i}] add up to ${total}`,
      );
    }
  }
  return undefined;
}

/** The RangeError for the first of the `total` slots that is not a slot index (≥ 65,536), or undefined. */
export function slotsError(slots: Uint32Array, total: number): RangeError | undefined {
  for (let k = 0; k < total; k++) {
    if (slots[k]! >= IP_POOL_MAX_SLOTS) {
      return new RangeError(`Expected \`slots[${k}]\` to be a slot index, an integer in 0..${IP_POOL_MAX_SLOTS - 1}; got ${slots[k]}`);
    }
  }
  return undefined;
}

/** Sum of the counts (within the capacity: checked first). */
export function batchTotal(counts: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  return total;
}

/** The pool whose region holds position `k` of the slots. */
function poolAt(counts: Uint32Array, k: number): number {
  let end = 0;
  for (let i = 0; i < counts.length; i++) {
    end += counts[i]!;
    if (k < end) return i;
  }
  return counts.length - 1;
}

/**
 * The WebAssembly {@link IpSlotPoolBatchLike}: `counts`, `slots` and `taken` are views over the datapath's linear
 * memory, so `allocate` and `release` are one call each for every pool, with no copy. The views are valid until the
 * datapath's memory next grows (creating pools or tables can grow it): read the getters again after such a call
 * rather than keeping them. The batch keeps its pools alive; `free()` returns its buffers at once (otherwise they
 * go when it is garbage-collected).
 */
export class IpSlotPoolBatch implements IpSlotPoolBatchLike {
  /** The pools, in batch order. */
  readonly pools: readonly IpSlotPool[];
  readonly length: number;
  readonly capacity: number;
  readonly #abi: TablesExports;
  readonly #handles: WasmU32Buffer;
  readonly #counts: WasmU32Buffer;
  readonly #taken: WasmU32Buffer;
  readonly #slots: WasmU32Buffer;

  /** A batch over `pools` (all of `datapath`'s instance, live) with room for `capacity` slots. Counts start at 0. */
  constructor(datapath: DatapathTablesHost, pools: readonly IpSlotPool[], capacity: number) {
    checkBatchShape(pools, capacity);
    const binding = bindTables(datapath);
    const handles = pools.map((pool, i) => {
      if (!(pool instanceof IpSlotPool) || pool.memory !== binding.memory) {
        throw new TypeError(`Expected \`pools[${i}]\` to be an IpSlotPool created on this datapath instance`);
      }
      try {
        return pool.handle;
      } catch (e) {
        throw poolErrors.inBatch(i, e as Error);
      }
    });
    this.pools = [...pools];
    this.length = pools.length;
    this.capacity = capacity;
    this.#abi = binding.abi;
    this.#handles = new WasmU32Buffer(datapath, pools.length);
    this.#counts = new WasmU32Buffer(datapath, pools.length);
    this.#taken = new WasmU32Buffer(datapath, pools.length);
    this.#slots = new WasmU32Buffer(datapath, capacity);
    this.#handles.array.set(handles);
  }

  get counts(): Uint32Array {
    return this.#live().#counts.array;
  }

  get slots(): Uint32Array {
    return this.#live().#slots.array;
  }

  get taken(): Uint32Array {
    return this.#live().#taken.array;
  }

  allocate(now: number): number {
    this.#live();
    checkSeconds('now', now);
    const total = this.#abi.ipPoolAllocateBatch(
      this.#handles.ptr, this.#counts.ptr, this.#taken.ptr, this.length, this.#slots.ptr, this.capacity, now,
    );
    if (total >= 0) return total;
    throw this.#refusal(-total, now);
  }

  release(now: number): void {
    this.#live();
    checkSeconds('now', now);
    const status = this.#abi.ipPoolReleaseBatch(this.#handles.ptr, this.#counts.ptr, this.length, this.#slots.ptr, this.capacity, now);
    if (status !== TableStatus.OK) throw this.#refusal(status, now);
  }

  /** Returns the batch's buffers to the datapath now; any later call throws a TypeError. Idempotent. */
  free(): void {
    this.#freed = true;
    this.#handles.free();
    this.#counts.free();
    this.#taken.free();
    this.#slots.free();
  }

  #freed = false;
  #live(): this {
    if (this.#freed) throw freedError('IpSlotPoolBatch');
    return this;
  }

  /** The error for a refused batch call (nothing was changed), in the reference's order of checks. */
  #refusal(status: number, now: number): Error {
    const at = this.#abi.ipPoolBatchFailedAt();
    const counts = this.counts;
    if (status === TableStatus.BAD_HANDLE) return poolErrors.inBatch(at, freedError('IpSlotPool'));
    const tooMany = countsError(counts, this.capacity);
    if (tooMany) return tooMany;
    const slots = this.slots;
    const badSlot = slotsError(slots, batchTotal(counts));
    if (badSlot) return badSlot;
    const pool = poolAt(counts, at);
    const error = status === TableStatus.TIME_OVERFLOW
      ? poolErrors.overflow(now, this.pools[pool]!.cooldownSeconds)
      : statusError(status, slots[at]!, 'release');
    return poolErrors.inBatch(pool, error);
  }
}
