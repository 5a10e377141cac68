/**
 * A small seeded pseudo-random generator (mulberry32) whose whole state is one 32-bit number, so a cluster's
 * random choices (ClusterIP picks, name suffixes) are reproducible for a seed and cheap to copy for a transaction.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n), like Go's `rand.Intn`. */
  intn(n: number): number {
    return Math.floor(this.next() * n);
  }

  clone(): SeededRandom {
    const copy = new SeededRandom(0);
    copy.#state = this.#state;
    return copy;
  }
}
