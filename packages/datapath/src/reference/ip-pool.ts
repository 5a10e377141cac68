import { IP_POOL_MAX_SLOTS } from '../abi-tables.js';
import {
  type IpSlotCounts, type IpSlotPoolBatchLike, type IpSlotPoolLike, type IpSlotPoolOptions, type SlotState, batchTotal, checkBatchShape,
  checkBlockSize, checkPoolOptions, checkRange, checkSlot, checkSlots, countsError, poolErrors, slotsError,
} from '../ip-pool.js';
import { checkInteger, checkSeconds } from '../tables-errors.js';

interface Slot {
  assigned: boolean;
  /** Release time + cooldown, in simulated seconds; 0 if never released. */
  freeableAt: number;
}

/**
 * The readable reference of {@link IpSlotPool}: an array of slot records (undefined = absent), scanned from index 0.
 * Same semantics and errors as the WebAssembly pool; the differential tests hold them equal.
 */
export class ReferenceIpSlotPool implements IpSlotPoolLike {
  readonly cooldownSeconds: number;
  #slots: (Slot | undefined)[];

  constructor(options: IpSlotPoolOptions) {
    const { slots, cooldownSeconds } = checkPoolOptions(options);
    this.cooldownSeconds = cooldownSeconds;
    this.#slots = Array.from({ length: slots }, () => ({ assigned: false, freeableAt: 0 }));
  }

  get extent(): number {
    return this.#slots.length;
  }

  allocate(now: number): number | undefined {
    checkSeconds('now', now);
    const slot = this.#slots.findIndex((s) => s !== undefined && !s.assigned && s.freeableAt <= now);
    if (slot < 0) return undefined;
    this.#slots[slot]!.assigned = true;
    return slot;
  }

  allocateMany(count: number, now: number): number[] {
    checkInteger('count', count, 0, IP_POOL_MAX_SLOTS, 'a number of slots');
    checkSeconds('now', now);
    const taken: number[] = [];
    while (taken.length < count) {
      const slot = this.allocate(now);
      if (slot === undefined) break;
      taken.push(slot);
    }
    return taken;
  }

  allocateAligned(blockSize: number, now: number): number | undefined {
    const [first] = this.#alignedBlocks(blockSize, now);
    if (first === undefined) return undefined;
    for (let k = 0; k < blockSize; k++) this.#slots[first + k]!.assigned = true;
    return first;
  }

  countAligned(blockSize: number, now: number): number {
    return this.#alignedBlocks(blockSize, now).length;
  }

  /** First slots of the aligned blocks whose every slot is present, unassigned and out of cooldown at `now`. */
  #alignedBlocks(blockSize: number, now: number): number[] {
    checkBlockSize(blockSize);
    checkSeconds('now', now);
    const blocks: number[] = [];
    for (let first = 0; first + blockSize <= this.#slots.length; first += blockSize) {
      const block = this.#slots.slice(first, first + blockSize);
      if (block.every((s) => s !== undefined && !s.assigned && s.freeableAt <= now)) blocks.push(first);
    }
    return blocks;
  }

  claim(slot: number): void {
    const s = this.#present(slot);
    if (s.assigned) throw poolErrors.assigned(slot, 'claim');
    s.assigned = true;
  }

  release(slot: number, now: number): void {
    checkSlot(slot);
    checkSeconds('now', now);
    const s = this.#present(slot);
    if (!s.assigned) throw poolErrors.notAssigned(slot);
    if (now + this.cooldownSeconds > 0xffff_ffff) throw poolErrors.overflow(now, this.cooldownSeconds);
    s.assigned = false;
    s.freeableAt = now + this.cooldownSeconds;
  }

  releaseRange(first: number, count: number, now: number): void {
    checkRange(first, count);
    checkSeconds('now', now);
    const block: Slot[] = [];
    for (let slot = first; slot < first + count; slot++) {
      const s = this.#slots[slot];
      if (s === undefined) throw poolErrors.absent(slot);
      if (!s.assigned) throw poolErrors.notAssigned(slot);
      block.push(s);
    }
    if (now + this.cooldownSeconds > 0xffff_ffff) throw poolErrors.overflow(now, this.cooldownSeconds);
    for (const s of block) {
      s.assigned = false;
      s.freeableAt = now + this.cooldownSeconds;
    }
  }

  releaseMany(slots: ArrayLike<number>, now: number): void {
    checkSlots(slots);
    checkSeconds('now', now);
    const released: Slot[] = [];
    try {
      for (let k = 0; k < slots.length; k++) {
        this.release(slots[k]!, now);
        released.push(this.#slots[slots[k]!]!);
      }
    } catch (e) {
      // All or none: assign the released ones again (an assigned slot's freeableAt is not observable).
      for (const s of released) s.assigned = true;
      throw e;
    }
  }

  addSlot(): number {
    let slot = this.#slots.findIndex((s) => s === undefined);
    if (slot < 0) {
      if (this.#slots.length >= IP_POOL_MAX_SLOTS) throw poolErrors.full();
      slot = this.#slots.length;
    }
    this.#slots[slot] = { assigned: false, freeableAt: 0 };
    return slot;
  }

  removeSlot(slot: number): void {
    const s = this.#present(slot);
    if (s.assigned) throw poolErrors.assigned(slot, 'remove');
    this.#slots[slot] = undefined;
    while (this.#slots.length > 0 && this.#slots[this.#slots.length - 1] === undefined) this.#slots.pop();
  }

  state(slot: number, now: number): SlotState {
    checkSlot(slot);
    checkSeconds('now', now);
    const s = this.#slots[slot];
    if (s === undefined) return 'absent';
    if (s.assigned) return 'assigned';
    return s.freeableAt > now ? 'cooling' : 'free';
  }

  isCooling(slot: number, now: number): boolean {
    return this.state(slot, now) === 'cooling';
  }

  freeableAt(slot: number): number | undefined {
    const s = this.#present(slot);
    return s.assigned ? undefined : s.freeableAt;
  }

  counts(now: number): IpSlotCounts {
    checkSeconds('now', now);
    const counts: IpSlotCounts = { total: 0, assigned: 0, cooling: 0, free: 0 };
    for (const s of this.#slots) {
      if (s === undefined) continue;
      counts.total++;
      if (s.assigned) counts.assigned++;
      else if (s.freeableAt > now) counts.cooling++;
      else counts.free++;
    }
    return counts;
  }

  clone(): ReferenceIpSlotPool {
    const copy = new ReferenceIpSlotPool({ slots: 0, cooldownSeconds: this.cooldownSeconds });
    copy.#slots = this.#slots.map((s) => (s === undefined ? undefined : { ...s }));
    return copy;
  }

  #present(slot: number): Slot {
    checkSlot(slot);
    const s = this.#slots[slot];
    if (s === undefined) throw poolErrors.absent(slot);
    return s;
  }
}

/**
 * The readable reference of {@link IpSlotPoolBatch}: the same regions and checks over plain `Uint32Array`s, each
 * pool served by its own `allocateMany` / `releaseMany` in turn (a batch is a loop here).
 */
export class ReferenceIpSlotPoolBatch implements IpSlotPoolBatchLike {
  readonly pools: readonly ReferenceIpSlotPool[];
  readonly length: number;
  readonly capacity: number;
  readonly counts: Uint32Array;
  readonly slots: Uint32Array;
  readonly taken: Uint32Array;

  constructor(pools: readonly ReferenceIpSlotPool[], capacity: number) {
    checkBatchShape(pools, capacity);
    pools.forEach((pool, i) => {
      if (!(pool instanceof ReferenceIpSlotPool)) throw new TypeError(`Expected \`pools[${i}]\` to be a ReferenceIpSlotPool`);
    });
    this.pools = [...pools];
    this.length = pools.length;
    this.capacity = capacity;
    this.counts = new Uint32Array(pools.length);
    this.taken = new Uint32Array(pools.length);
    this.slots = new Uint32Array(capacity);
  }

  allocate(now: number): number {
    checkSeconds('now', now);
    const tooMany = countsError(this.counts, this.capacity);
    if (tooMany) throw tooMany;
    let offset = 0;
    let total = 0;
    for (let i = 0; i < this.length; i++) {
      const count = this.counts[i]!;
      // No pool holds more than IP_POOL_MAX_SLOTS, so asking for more gives the same slots.
      const got = this.pools[i]!.allocateMany(Math.min(count, IP_POOL_MAX_SLOTS), now);
      this.slots.set(got, offset);
      this.taken[i] = got.length;
      total += got.length;
      offset += count;
    }
    return total;
  }

  release(now: number): void {
    checkSeconds('now', now);
    const tooMany = countsError(this.counts, this.capacity) ?? slotsError(this.slots, batchTotal(this.counts));
    if (tooMany) throw tooMany;
    const done: { pool: ReferenceIpSlotPool; region: Uint32Array }[] = [];
    let offset = 0;
    for (let i = 0; i < this.length; i++) {
      const pool = this.pools[i]!;
      const region = this.slots.subarray(offset, offset + this.counts[i]!);
      try {
        pool.releaseMany(region, now);
      } catch (e) {
        // All or none across pools: claim back what the pools before this one released, latest first.
        for (const d of done.reverse()) d.region.forEach((slot) => d.pool.claim(slot));
        throw poolErrors.inBatch(i, e as Error);
      }
      done.push({ pool, region });
      offset += this.counts[i]!;
    }
  }
}
