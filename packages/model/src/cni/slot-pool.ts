/**
 * Allocation of numbered address slots inside one subnet (slot i = subnet base + i). ipamd's EC2 stand-in takes
 * single addresses (ENI primary and secondary IPs) and aligned /28 blocks (prefix delegation) from it.
 * Kept behind an interface so the datapath's WASM IP pools can stand in for this TypeScript one.
 */
export interface SlotPool {
  /** Slots in the pool (the subnet's size). */
  readonly size: number;
  /** Free slots. */
  freeCount(): number;
  isFree(slot: number): boolean;
  /** Takes the lowest free slot; −1 when none is free. */
  allocate(): number;
  /** Takes the lowest free block of `blockSize` slots aligned on `blockSize` (a power of two); −1 when none. */
  allocateAligned(blockSize: number): number;
  /** Takes one given slot; false when it is already taken or out of range. */
  claim(slot: number): boolean;
  /** Returns `count` slots starting at `slot`. */
  release(slot: number, count?: number): void;
  /** Free aligned blocks of `blockSize` (what a /28 request can still get). */
  freeAlignedBlocks(blockSize: number): number;
  clone(): SlotPool;
}

/** A bitmap `SlotPool` in plain TypeScript: one bit per slot, lowest-first search. */
export class BitmapSlotPool implements SlotPool {
  readonly size: number;
  private readonly used: Uint32Array;
  private free: number;

  constructor(size: number, used?: Uint32Array, free?: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`slot pool size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.used = used ?? new Uint32Array(Math.ceil(size / 32));
    this.free = free ?? size;
  }

  freeCount(): number {
    return this.free;
  }

  isFree(slot: number): boolean {
    return slot >= 0 && slot < this.size && (this.used[slot >>> 5]! & (1 << (slot & 31))) === 0;
  }

  allocate(): number {
    if (this.free === 0) return -1;
    for (let w = 0; w < this.used.length; w++) {
      const word = this.used[w]!;
      if (word === 0xffffffff) continue;
      const bit = 31 - Math.clz32(~word & (word + 1));
      const slot = (w << 5) + bit;
      if (slot >= this.size) return -1;
      this.set(slot);
      return slot;
    }
    return -1;
  }

  allocateAligned(blockSize: number): number {
    for (let start = 0; start + blockSize <= this.size; start += blockSize) {
      if (this.rangeFree(start, blockSize)) {
        for (let s = start; s < start + blockSize; s++) this.set(s);
        return start;
      }
    }
    return -1;
  }

  claim(slot: number): boolean {
    if (!this.isFree(slot)) return false;
    this.set(slot);
    return true;
  }

  release(slot: number, count = 1): void {
    for (let s = slot; s < slot + count; s++) {
      if (s < 0 || s >= this.size || this.isFree(s)) continue;
      this.used[s >>> 5]! &= ~(1 << (s & 31));
      this.free++;
    }
  }

  freeAlignedBlocks(blockSize: number): number {
    let n = 0;
    for (let start = 0; start + blockSize <= this.size; start += blockSize) if (this.rangeFree(start, blockSize)) n++;
    return n;
  }

  clone(): BitmapSlotPool {
    return new BitmapSlotPool(this.size, this.used.slice(), this.free);
  }

  private rangeFree(start: number, count: number): boolean {
    for (let s = start; s < start + count; s++) if (!this.isFree(s)) return false;
    return true;
  }

  private set(slot: number): void {
    this.used[slot >>> 5]! |= 1 << (slot & 31);
    this.free--;
  }
}

/**
 * The part of the datapath's `IpSlotPool` (WebAssembly) a subnet's pool needs; `IpSlotPool` and its TypeScript
 * reference both have it. Time is irrelevant to a subnet (EC2 has no cooldown): the pool is made with
 * `cooldownSeconds: 0` and every call runs at second 0.
 */
export interface IpSlotPoolCore {
  allocate(now: number): number | undefined;
  allocateAligned(blockSize: number, now: number): number | undefined;
  countAligned(blockSize: number, now: number): number;
  claim(slot: number): void;
  releaseRange(first: number, count: number, now: number): void;
  state(slot: number, now: number): string;
  counts(now: number): { free: number };
  clone(): IpSlotPoolCore;
}

/** A {@link SlotPool} over the datapath's IP slot pool (see `packages/datapath/docs/tables.md`). */
export class IpSlotPoolAdapter implements SlotPool {
  readonly size: number;
  private readonly core: IpSlotPoolCore;

  /** `core` must have been created with `slots: size, cooldownSeconds: 0`. */
  constructor(core: IpSlotPoolCore, size: number) {
    this.core = core;
    this.size = size;
  }

  freeCount(): number {
    return this.core.counts(0).free;
  }

  isFree(slot: number): boolean {
    return slot >= 0 && slot < this.size && this.core.state(slot, 0) === 'free';
  }

  allocate(): number {
    return this.core.allocate(0) ?? -1;
  }

  allocateAligned(blockSize: number): number {
    return this.core.allocateAligned(blockSize, 0) ?? -1;
  }

  claim(slot: number): boolean {
    if (!this.isFree(slot)) return false;
    this.core.claim(slot);
    return true;
  }

  release(slot: number, count = 1): void {
    this.core.releaseRange(slot, count, 0);
  }

  freeAlignedBlocks(blockSize: number): number {
    return this.core.countAligned(blockSize, 0);
  }

  clone(): IpSlotPoolAdapter {
    return new IpSlotPoolAdapter(this.core.clone(), this.size);
  }
}
