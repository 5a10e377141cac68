// Shared mechanics of the core's open-addressing tables (linear probing, power-of-two sizes): growing by rehash
// and backward-shift deletion, which keeps probe chains intact without tombstones. A table is described by its
// address, its mask, its slot size (1 << shift bytes), where the occupancy word sits (non-zero = occupied) and a
// function giving a stored record's home slot.
import { allocZeroed } from './core-state';

/** Home slot of the record at `p` in a table of mask `mask`. */
export type HomeOf = (p: usize, mask: u32) => u32;

/** A new zeroed table of `newSize` slots holding every record of the old one; frees the old. Returns its address. */
export function rehash(oldPtr: usize, oldSize: u32, shift: u32, tagOffset: u32, newSize: u32, homeOf: HomeOf): usize {
  const mask = newSize - 1;
  const ptr = allocZeroed(<usize>newSize << shift);
  for (let k: u32 = 0; k < oldSize; k++) {
    const q = oldPtr + (<usize>k << shift);
    if (load<u32>(q + tagOffset) == 0) continue;
    let j = homeOf(q, mask);
    while (load<u32>(ptr + (<usize>j << shift) + tagOffset) != 0) j = (j + 1) & mask;
    memory.copy(ptr + (<usize>j << shift), q, <usize>1 << shift);
  }
  heap.free(oldPtr);
  return ptr;
}

/** Empties slot `slot`, moving later members of its cluster back when their home slot allows it. */
export function deleteShift(ptr: usize, mask: u32, shift: u32, tagOffset: u32, slot: u32, homeOf: HomeOf): void {
  let hole = slot;
  let j = (slot + 1) & mask;
  while (true) {
    const q = ptr + (<usize>j << shift);
    if (load<u32>(q + tagOffset) == 0) break;
    const home = homeOf(q, mask);
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      memory.copy(ptr + (<usize>hole << shift), q, <usize>1 << shift);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  memory.fill(ptr + (<usize>hole << shift), 0, <usize>1 << shift);
}

/** First empty slot from `start`. */
// @ts-ignore: decorator
@inline export function firstEmpty(ptr: usize, mask: u32, shift: u32, tagOffset: u32, start: u32): u32 {
  let j = start;
  while (load<u32>(ptr + (<usize>j << shift) + tagOffset) != 0) j = (j + 1) & mask;
  return j;
}
