import type { SeededRandom } from './random.js';

/**
 * The API server's allocation bitmap (`pkg/registry/core/service/allocator`) with the random-scan-with-offset
 * strategy of KEP-3070 / KEP-3668: offsets `[0, reserved)` are the static band, kept for user-chosen values;
 * a dynamic pick starts at a random offset in the upper band `[reserved, max)`, scans forward with wrap-around,
 * and falls back to the static band (again from a random start) only when the upper band is full.
 * Offsets are kept in a set: clusters use few of the up to 2^20 offsets, and a transaction copies it.
 */
export class OffsetBitmap {
  readonly max: number;
  readonly reserved: number;
  #used: Set<number>;

  constructor(max: number, reserved: number, used: Iterable<number> = []) {
    this.max = max;
    this.reserved = reserved;
    this.#used = new Set(used);
  }

  get count(): number {
    return this.#used.size;
  }

  has(offset: number): boolean {
    return this.#used.has(offset);
  }

  /** Marks `offset` used; false when it already was. */
  allocate(offset: number): boolean {
    if (this.#used.has(offset)) return false;
    this.#used.add(offset);
    return true;
  }

  /** The offset a dynamic allocation takes, or undefined when every offset is used. */
  allocateNext(random: SeededRandom): number | undefined {
    if (this.#used.size >= this.max) return undefined;
    const upper = this.max - this.reserved;
    if (upper > 0) {
      const start = random.intn(upper);
      for (let i = 0; i < upper; i++) {
        const at = this.reserved + ((start + i) % upper);
        if (!this.#used.has(at)) return this.#take(at);
      }
    }
    if (this.reserved > 0) {
      const start = random.intn(this.reserved);
      for (let i = 0; i < this.reserved; i++) {
        const at = (start + i) % this.reserved;
        if (!this.#used.has(at)) return this.#take(at);
      }
    }
    return undefined;
  }

  release(offset: number): void {
    this.#used.delete(offset);
  }

  offsets(): number[] {
    return [...this.#used].sort((a, b) => a - b);
  }

  clone(): OffsetBitmap {
    return new OffsetBitmap(this.max, this.reserved, this.#used);
  }

  #take(at: number): number {
    this.#used.add(at);
    return at;
  }
}

/** KEP-3070/KEP-3668's static band size: `min(max(lowest, size / step), highest)`, 0 for ranges of ≤ 16. */
export function staticBandSize(size: number, step: number, highest: number): number {
  const lowest = 16;
  if (size <= lowest) return 0;
  return Math.min(Math.max(lowest, Math.floor(size / step)), highest);
}
