import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitmapSlotPool } from './slot-pool.js';

/** A model anyone can read: a set of taken slots. */
class NaivePool {
  taken = new Set<number>();
  constructor(readonly size: number) {}
  allocate(): number {
    for (let s = 0; s < this.size; s++) if (!this.taken.has(s)) return this.taken.add(s), s;
    return -1;
  }
  allocateAligned(b: number): number {
    for (let s = 0; s + b <= this.size; s += b) {
      let free = true;
      for (let i = s; i < s + b; i++) if (this.taken.has(i)) free = false;
      if (free) {
        for (let i = s; i < s + b; i++) this.taken.add(i);
        return s;
      }
    }
    return -1;
  }
  blocks(b: number): number {
    let n = 0;
    for (let s = 0; s + b <= this.size; s += b) if ([...Array(b).keys()].every((i) => !this.taken.has(s + i))) n++;
    return n;
  }
}

describe('BitmapSlotPool', () => {
  it('behaves as a set of taken slots (lowest free first, aligned blocks, claims, releases)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('alloc' as const) }),
      fc.record({ k: fc.constant('aligned' as const), b: fc.constantFrom(1, 2, 4, 8, 16, 32) }),
      fc.record({ k: fc.constant('claim' as const), s: fc.nat(300) }),
      fc.record({ k: fc.constant('release' as const), s: fc.nat(300), n: fc.integer({ min: 1, max: 16 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 260 }), fc.array(op, { maxLength: 200 }), (size, ops) => {
        const pool = new BitmapSlotPool(size);
        const model = new NaivePool(size);
        for (const o of ops) {
          if (o.k === 'alloc') expect(pool.allocate()).toBe(model.allocate());
          else if (o.k === 'aligned') expect(pool.allocateAligned(o.b)).toBe(model.allocateAligned(o.b));
          else if (o.k === 'claim') {
            const ok = o.s < size && !model.taken.has(o.s);
            if (ok) model.taken.add(o.s);
            expect(pool.claim(o.s)).toBe(ok);
          } else {
            pool.release(o.s, o.n);
            for (let i = o.s; i < o.s + o.n; i++) model.taken.delete(i);
          }
          expect(pool.freeCount()).toBe(size - model.taken.size);
        }
        expect(pool.freeAlignedBlocks(16)).toBe(model.blocks(16));
        const copy = pool.clone();
        copy.allocate();
        expect(pool.freeCount()).toBe(size - model.taken.size);
      }),
    );
  });
});
