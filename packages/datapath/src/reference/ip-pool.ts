import { IP_POOL_MAX_SLOTS } from '../abi-tables.js';
import {
  type IpSlotCounts, type IpSlotPoolLike, type IpSlotPoolOptions, type SlotState, checkBlockSize, checkPoolOptions, checkRange, checkSlot, poolErrors,
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
