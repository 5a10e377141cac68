// IP slot pools for the CNI: a pool is N slots (an ENI's secondary IPs, or the 16 addresses of a /28 prefix);
// the caller maps slot i to its address. A slot is absent, free, assigned, or cooling (free, but released less than
// the pool's cooldown ago). Allocation takes the lowest-index free slot that is not cooling: the simulator's
// deterministic choice (ipamd walks Go maps, whose order is random).
//
// Pool header (48 bytes):
//   [0] slot capacity (multiple of 32)  [4] extent (highest slot index ever present + 1)  [8] present count
//   [12] assigned count  [16] cooldown seconds  [20] free-mask ptr  [24] present-mask ptr  [28] freeableAt ptr
//   [32] cooledBy: the latest freeableAt ever written (an upper bound), so at now ≥ cooledBy no slot is cooling
//   [36..48) unused
// Struct of arrays: allocation scans one bit per slot (a 32-slot word with ctz), and reads freeableAt (u32 seconds)
// only for free slots, so a full or cooling pool costs a few word reads rather than a walk over slot records; once
// `now` has passed cooledBy it reads no freeableAt at all (the usual case: a zero cooldown, or no recent release).
//
// Batches (ipPoolReleaseMany, ipPoolAllocateBatch, ipPoolReleaseBatch) take u32 arrays in linear memory, so one
// call does the work of hundreds: a per-op call across the JS↔WASM boundary costs about what a 16-slot pool's whole
// operation costs. A refused batch sets ipPoolBatchFailedAt() to the element that refused it.

import {
  KIND_POOL, STATUS_BAD_CAPACITY, STATUS_BAD_HANDLE, STATUS_BAD_RANGE, STATUS_BAD_SLOT, STATUS_OK,
  STATUS_POOL_EXHAUSTED, STATUS_POOL_FULL, STATUS_SLOT_ASSIGNED, STATUS_SLOT_NOT_ASSIGNED,
  STATUS_TIME_OVERFLOW, handleNew, handleRelease, handleResolve, inMemory, setStatus,
} from './tables-handles';
import { allocZeroed, growZeroed } from './core-state';

const HEADER: usize = 48;
/** Most slots a pool can hold (a /16 worth of addresses). Mirrored in src/abi-tables.ts. */
const MAX_SLOTS: u32 = 1 << 16;

const SLOT_ABSENT: i32 = 0;
const SLOT_FREE: i32 = 1;
const SLOT_ASSIGNED: i32 = 2;
const SLOT_COOLING: i32 = 3;

const COUNT_PRESENT: u32 = 0;
const COUNT_ASSIGNED: u32 = 1;
const COUNT_COOLING: u32 = 2;
const COUNT_AVAILABLE: u32 = 3;

// @ts-ignore: decorator
@inline function freeMask(p: usize): usize { return <usize>load<u32>(p, 20); }
// @ts-ignore: decorator
@inline function presentMask(p: usize): usize { return <usize>load<u32>(p, 24); }
// @ts-ignore: decorator
@inline function freeableAt(p: usize): usize { return <usize>load<u32>(p, 28); }

/** Second from which no slot of the pool is cooling (every freeableAt ≤ it). */
// @ts-ignore: decorator
@inline function cooledBy(p: usize): u32 { return load<u32>(p, 32); }

// @ts-ignore: decorator
@inline function bitGet(mask: usize, i: u32): bool {
  return (load<u32>(mask + (<usize>(i >> 5) << 2)) & (<u32>1 << (i & 31))) != 0;
}
// @ts-ignore: decorator
@inline function bitSet(mask: usize, i: u32): void {
  const w = mask + (<usize>(i >> 5) << 2);
  store<u32>(w, load<u32>(w) | (<u32>1 << (i & 31)));
}
// @ts-ignore: decorator
@inline function bitClear(mask: usize, i: u32): void {
  const w = mask + (<usize>(i >> 5) << 2);
  store<u32>(w, load<u32>(w) & ~(<u32>1 << (i & 31)));
}

function roundCapacity(slots: u32): u32 {
  let cap: u32 = 32;
  while (cap < slots) cap <<= 1;
  return cap;
}

/** Grows the arrays to hold at least `slots` slots, zeroing the new part. */
function reserve(p: usize, slots: u32): void {
  const old = load<u32>(p);
  if (slots <= old) return;
  const cap = roundCapacity(slots);
  const oldWords = <usize>(old >> 5) << 2;
  const words = <usize>(cap >> 5) << 2;
  store<u32>(p, cap);
  store<u32>(p, <u32>growZeroed(freeMask(p), oldWords, words), 20);
  store<u32>(p, <u32>growZeroed(presentMask(p), oldWords, words), 24);
  store<u32>(p, <u32>growZeroed(freeableAt(p), <usize>old << 2, <usize>cap << 2), 28);
}

/** Lowest free slot with freeableAt ≤ now, or −1. */
function firstAvailable(p: usize, now: u32): i32 {
  const fm = freeMask(p);
  const fa = freeableAt(p);
  const words = (load<u32>(p, 4) + 31) >> 5;
  if (cooledBy(p) <= now) {
    for (let w: u32 = 0; w < words; w++) {
      const bits = load<u32>(fm + (<usize>w << 2));
      if (bits != 0) return <i32>((w << 5) | <u32>ctz<u32>(bits));
    }
    return -1;
  }
  for (let w: u32 = 0; w < words; w++) {
    let bits = load<u32>(fm + (<usize>w << 2));
    while (bits != 0) {
      const i = (w << 5) | <u32>ctz<u32>(bits);
      if (load<u32>(fa + (<usize>i << 2)) <= now) return <i32>i;
      bits &= bits - 1;
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline function take(p: usize, slot: u32): void {
  bitClear(freeMask(p), slot);
  store<u32>(p, load<u32>(p, 12) + 1, 12);
}

/**
 * Assigns up to `count` slots, lowest first, as `count` ipPoolAllocate calls would, writing their indices (u32) at
 * `out`; returns how many. One pass over the free bitmap: taking slot i makes nothing below i available, so the
 * scan never restarts from word 0.
 */
function allocateInto(p: usize, count: u32, now: u32, out: usize): u32 {
  const fm = freeMask(p);
  const fa = freeableAt(p);
  const words = (load<u32>(p, 4) + 31) >> 5;
  const noneCooling = cooledBy(p) <= now;
  let n: u32 = 0;
  for (let w: u32 = 0; w < words && n < count; w++) {
    const at = fm + (<usize>w << 2);
    let bits = load<u32>(at);
    if (bits == 0) continue;
    let taken: u32 = 0;
    if (noneCooling) {
      // Runs of free slots: a run's indices are consecutive, so no bit walk (a fresh /28 is one run of 16).
      while (bits != 0 && n < count) {
        const first = <u32>ctz<u32>(bits);
        let run = <u32>ctz<u32>(~(bits >> first));
        if (first + run > 32) run = 32 - first;
        if (run > count - n) run = count - n;
        const base = (w << 5) | first;
        for (let j: u32 = 0; j < run; j++) store<u32>(out + (<usize>(n + j) << 2), base + j);
        n += run;
        const mask: u32 = run == 32 ? 0xffffffff : ((<u32>1 << run) - 1) << first;
        taken |= mask;
        bits &= ~mask;
      }
    } else {
      while (bits != 0 && n < count) {
        const bit = bits & (~bits + 1);
        const slot = (w << 5) | <u32>ctz<u32>(bits);
        bits ^= bit;
        if (load<u32>(fa + (<usize>slot << 2)) > now) continue;
        taken |= bit;
        store<u32>(out + (<usize>n << 2), slot);
        n++;
      }
    }
    store<u32>(at, load<u32>(at) & ~taken);
  }
  store<u32>(p, load<u32>(p, 12) + n, 12);
  return n;
}

/** Records that a release wrote freeableAt = `until`. */
// @ts-ignore: decorator
@inline function noteCooling(p: usize, until: u32): void {
  if (until > cooledBy(p)) store<u32>(p, until, 32);
}

/**
 * Creates a pool of `slots` free slots (indices 0..slots−1) whose released slots cool down for `cooldownSeconds`.
 * Returns the handle (> 0), or 0 with tablesLastStatus() = BAD_CAPACITY.
 */
export function ipPoolCreate(slots: u32, cooldownSeconds: u32): i32 {
  if (slots > MAX_SLOTS) { setStatus(STATUS_BAD_CAPACITY); return 0; }
  const p = allocZeroed(HEADER);
  const cap = roundCapacity(slots);
  store<u32>(p, cap);
  store<u32>(p, slots, 4);
  store<u32>(p, slots, 8);
  store<u32>(p, cooldownSeconds, 16);
  const fm = allocZeroed(<usize>(cap >> 5) << 2);
  const pm = allocZeroed(<usize>(cap >> 5) << 2);
  store<u32>(p, <u32>fm, 20);
  store<u32>(p, <u32>pm, 24);
  store<u32>(p, <u32>allocZeroed(<usize>cap << 2), 28);
  for (let i: u32 = 0; i < slots; i++) { bitSet(fm, i); bitSet(pm, i); }
  const handle = handleNew(KIND_POOL, p);
  if (handle == 0) { destroy(p); setStatus(STATUS_BAD_CAPACITY); return 0; }
  setStatus(STATUS_OK);
  return handle;
}

function destroy(p: usize): void {
  heap.free(freeMask(p));
  heap.free(presentMask(p));
  heap.free(freeableAt(p));
  heap.free(p);
}

function copyOf(src: usize, bytes: usize): usize {
  const ptr = heap.alloc(bytes);
  memory.copy(ptr, src, bytes);
  return ptr;
}

/** A new pool in the same state as `handle` (for a caller's rollback copy); 0 + BAD_HANDLE if not live. */
export function ipPoolClone(handle: i32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) { setStatus(STATUS_BAD_HANDLE); return 0; }
  const cap = load<u32>(p);
  const q = copyOf(p, HEADER);
  store<u32>(q, <u32>copyOf(freeMask(p), <usize>(cap >> 5) << 2), 20);
  store<u32>(q, <u32>copyOf(presentMask(p), <usize>(cap >> 5) << 2), 24);
  store<u32>(q, <u32>copyOf(freeableAt(p), <usize>cap << 2), 28);
  const h = handleNew(KIND_POOL, q);
  if (h == 0) { destroy(q); setStatus(STATUS_BAD_CAPACITY); return 0; }
  setStatus(STATUS_OK);
  return h;
}

/** Frees a pool; its handle becomes invalid. Status. */
export function ipPoolFree(handle: i32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  destroy(p);
  handleRelease(handle);
  return STATUS_OK;
}

/** Adds one free slot at the lowest absent index (an ENI gained an IP). Returns the index, or −status. */
export function ipPoolAddSlot(handle: i32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  const extent = load<u32>(p, 4);
  let slot = extent;
  if (load<u32>(p, 8) < extent) {
    // A hole left by a removed slot: take the lowest one.
    const pm = presentMask(p);
    for (let w: u32 = 0; w < (extent + 31) >> 5; w++) {
      const holes = ~load<u32>(pm + (<usize>w << 2));
      if (holes != 0) { slot = (w << 5) | <u32>ctz<u32>(holes); break; }
    }
  } else {
    if (extent >= MAX_SLOTS) return -STATUS_POOL_FULL;
    reserve(p, extent + 1);
    store<u32>(p, extent + 1, 4);
  }
  bitSet(presentMask(p), slot);
  bitSet(freeMask(p), slot);
  store<u32>(freeableAt(p) + (<usize>slot << 2), 0);
  store<u32>(p, load<u32>(p, 8) + 1, 8);
  return <i32>slot;
}

/**
 * Removes an unassigned slot (its IP goes back to EC2), cooling or not: ipamd's FreeableIPs picks unassigned
 * addresses without looking at their cooldown. SLOT_ASSIGNED if a pod holds it, BAD_SLOT if absent. Status.
 */
export function ipPoolRemoveSlot(handle: i32, slot: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  if (slot >= load<u32>(p, 4) || !bitGet(presentMask(p), slot)) return STATUS_BAD_SLOT;
  if (!bitGet(freeMask(p), slot)) return STATUS_SLOT_ASSIGNED;
  bitClear(presentMask(p), slot);
  bitClear(freeMask(p), slot);
  store<u32>(freeableAt(p) + (<usize>slot << 2), 0);
  store<u32>(p, load<u32>(p, 8) - 1, 8);
  // Shrink the extent past trailing holes, so the pool's index range stays tight.
  let extent = load<u32>(p, 4);
  while (extent > 0 && !bitGet(presentMask(p), extent - 1)) extent--;
  store<u32>(p, extent, 4);
  return STATUS_OK;
}

/** Assigns the lowest free slot not cooling at `now`. Returns the slot, or −POOL_EXHAUSTED / −BAD_HANDLE. */
export function ipPoolAllocate(handle: i32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  const slot = firstAvailable(p, now);
  if (slot < 0) return -STATUS_POOL_EXHAUSTED;
  take(p, <u32>slot);
  return slot;
}

/**
 * Assigns up to `count` slots, one after another as ipPoolAllocate would, writing their indices (u32) at `outPtr`.
 * Returns how many were assigned (fewer than `count` when the pool runs out), or −status.
 */
export function ipPoolAllocateMany(handle: i32, count: u32, now: u32, outPtr: usize): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  if (count > MAX_SLOTS || !inMemory(outPtr, <u64>count << 2)) return -STATUS_BAD_RANGE;
  return <i32>allocateInto(p, count, now, outPtr);
}

// @ts-ignore: decorator
@inline function blockBits(blockSize: u32): u32 {
  return blockSize == 32 ? 0xffffffff : (<u32>1 << blockSize) - 1;
}

/**
 * Scans for blocks of `blockSize` slots aligned on `blockSize`, every slot free and not cooling at `now`.
 * With `first`, returns the lowest block's first slot (−1 if none); otherwise the number of such blocks.
 */
function scanAligned(p: usize, blockSize: u32, now: u32, first: bool): i32 {
  const fm = freeMask(p);
  const fa = freeableAt(p);
  const bitsOfBlock = blockBits(blockSize);
  const noneCooling = cooledBy(p) <= now;
  let count: i32 = 0;
  for (let w: u32 = 0, words = (load<u32>(p, 4) + 31) >> 5; w < words; w++) {
    const bits = load<u32>(fm + (<usize>w << 2));
    if (bits == 0) continue;
    for (let off: u32 = 0; off < 32; off += blockSize) {
      if (((bits >> off) & bitsOfBlock) != bitsOfBlock) continue;
      const base = (w << 5) | off;
      let cooled = true;
      for (let k: u32 = 0; k < blockSize && !noneCooling; k++) {
        if (load<u32>(fa + (<usize>(base + k) << 2)) > now) { cooled = false; break; }
      }
      if (!cooled) continue;
      if (first) return <i32>base;
      count++;
    }
  }
  return first ? -1 : count;
}

// @ts-ignore: decorator
@inline function validBlockSize(blockSize: u32): bool {
  return blockSize != 0 && blockSize <= 32 && (blockSize & (blockSize - 1)) == 0;
}

/**
 * Assigns the lowest block of `blockSize` slots (a power of two, 1..32) aligned on `blockSize`, every slot free and
 * not cooling: a /28 prefix (16) out of a subnet's addresses, which a fragmented subnet can refuse while it still
 * has free addresses. Returns the block's first slot, or −POOL_EXHAUSTED / −BAD_RANGE / −BAD_HANDLE.
 */
export function ipPoolAllocateAligned(handle: i32, blockSize: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  if (!validBlockSize(blockSize)) return -STATUS_BAD_RANGE;
  const base = scanAligned(p, blockSize, now, true);
  if (base < 0) return -STATUS_POOL_EXHAUSTED;
  for (let k: u32 = 0; k < blockSize; k++) bitClear(freeMask(p), <u32>base + k);
  store<u32>(p, load<u32>(p, 12) + blockSize, 12);
  return base;
}

/** How many aligned blocks of `blockSize` slots ipPoolAllocateAligned could take at `now`; −status. */
export function ipPoolCountAligned(handle: i32, blockSize: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  if (!validBlockSize(blockSize)) return -STATUS_BAD_RANGE;
  return scanAligned(p, blockSize, now, false);
}

/**
 * Assigns a given free slot (an address a pod is observed to hold). Cooling does not block it: the address is
 * already in use. SLOT_ASSIGNED if taken, BAD_SLOT if absent. Status.
 */
export function ipPoolClaim(handle: i32, slot: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  if (slot >= load<u32>(p, 4) || !bitGet(presentMask(p), slot)) return STATUS_BAD_SLOT;
  if (!bitGet(freeMask(p), slot)) return STATUS_SLOT_ASSIGNED;
  take(p, slot);
  return STATUS_OK;
}

/**
 * Releases an assigned slot at `now`: it is free again, but cools down until now + cooldown (it can be allocated
 * from that second on). SLOT_NOT_ASSIGNED if it is free, BAD_SLOT if absent, TIME_OVERFLOW if now + cooldown
 * exceeds 2^32 − 1. Status.
 */
export function ipPoolRelease(handle: i32, slot: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  if (slot >= load<u32>(p, 4) || !bitGet(presentMask(p), slot)) return STATUS_BAD_SLOT;
  if (bitGet(freeMask(p), slot)) return STATUS_SLOT_NOT_ASSIGNED;
  const until = <u64>now + <u64>load<u32>(p, 16);
  if (until > 0xffffffff) return STATUS_TIME_OVERFLOW;
  bitSet(freeMask(p), slot);
  store<u32>(freeableAt(p) + (<usize>slot << 2), <u32>until);
  store<u32>(p, load<u32>(p, 12) - 1, 12);
  noteCooling(p, <u32>until);
  return STATUS_OK;
}

/**
 * Releases the `count` assigned slots first..first+count−1 at `now` (a /28 block going back to its subnet), all or
 * none: the first slot that is absent (BAD_SLOT) or free (SLOT_NOT_ASSIGNED) refuses it; BAD_RANGE past the
 * largest pool; TIME_OVERFLOW as ipPoolRelease. Status.
 */
export function ipPoolReleaseRange(handle: i32, first: u32, count: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  const end = <u64>first + <u64>count;
  if (count == 0 || end > <u64>MAX_SLOTS) return STATUS_BAD_RANGE;
  // In slot order, so the first refusing slot decides the status (as the reference reports it).
  const extent = load<u32>(p, 4);
  for (let slot = first; slot < <u32>end; slot++) {
    if (slot >= extent || !bitGet(presentMask(p), slot)) return STATUS_BAD_SLOT;
    if (bitGet(freeMask(p), slot)) return STATUS_SLOT_NOT_ASSIGNED;
  }
  const until = <u64>now + <u64>load<u32>(p, 16);
  if (until > 0xffffffff) return STATUS_TIME_OVERFLOW;
  for (let slot = first; slot < <u32>end; slot++) {
    bitSet(freeMask(p), slot);
    store<u32>(freeableAt(p) + (<usize>slot << 2), <u32>until);
  }
  store<u32>(p, load<u32>(p, 12) - count, 12);
  noteCooling(p, <u32>until);
  return STATUS_OK;
}

/** State of a slot at `now`: 0 absent, 1 free, 2 assigned, 3 cooling; −BAD_HANDLE. */
export function ipPoolSlotState(handle: i32, slot: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  if (slot >= load<u32>(p, 4) || !bitGet(presentMask(p), slot)) return SLOT_ABSENT;
  if (!bitGet(freeMask(p), slot)) return SLOT_ASSIGNED;
  return load<u32>(freeableAt(p) + (<usize>slot << 2)) > now ? SLOT_COOLING : SLOT_FREE;
}

/**
 * Second from which a released slot can be allocated again (release time + cooldown; 0 if never released).
 * Kept while the slot is assigned; tablesLastStatus() = BAD_HANDLE / BAD_SLOT on bad arguments.
 */
export function ipPoolFreeableAt(handle: i32, slot: u32): u32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) { setStatus(STATUS_BAD_HANDLE); return 0; }
  if (slot >= load<u32>(p, 4) || !bitGet(presentMask(p), slot)) { setStatus(STATUS_BAD_SLOT); return 0; }
  setStatus(STATUS_OK);
  return load<u32>(freeableAt(p) + (<usize>slot << 2));
}

/** Counts at `now`: which 0 = present slots, 1 = assigned, 2 = cooling, 3 = available (free, not cooling); −status. */
export function ipPoolCount(handle: i32, which: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  if (which == COUNT_PRESENT) return <i32>load<u32>(p, 8);
  if (which == COUNT_ASSIGNED) return <i32>load<u32>(p, 12);
  if (which > COUNT_AVAILABLE) return -STATUS_BAD_RANGE;
  let cooling: u32 = 0;
  if (cooledBy(p) <= now) return which == COUNT_COOLING ? 0 : <i32>(load<u32>(p, 8) - load<u32>(p, 12));
  const fm = freeMask(p);
  const fa = freeableAt(p);
  for (let w: u32 = 0, words = (load<u32>(p, 4) + 31) >> 5; w < words; w++) {
    let bits = load<u32>(fm + (<usize>w << 2));
    while (bits != 0) {
      if (load<u32>(fa + (<usize>((w << 5) | <u32>ctz<u32>(bits)) << 2)) > now) cooling++;
      bits &= bits - 1;
    }
  }
  if (which == COUNT_COOLING) return <i32>cooling;
  return <i32>(load<u32>(p, 8) - load<u32>(p, 12) - cooling);
}

/** Slot index bound: every present slot is below it (for listing a pool); −BAD_HANDLE. */
export function ipPoolExtent(handle: i32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return -STATUS_BAD_HANDLE;
  return <i32>load<u32>(p, 4);
}

/** The pool's cooldown in seconds, or tablesLastStatus() = BAD_HANDLE. */
export function ipPoolCooldown(handle: i32): u32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) { setStatus(STATUS_BAD_HANDLE); return 0; }
  setStatus(STATUS_OK);
  return load<u32>(p, 16);
}

// ---- Batches ----

/** The element that refused the last refused batch call (a slot's position, or a pool's for BAD_HANDLE). */
let batchFailedAt: u32 = 0;

/** Where the last refused batch call stopped: the index into `slots` (or `handles` for BAD_HANDLE / BAD_RANGE on a count). */
export function ipPoolBatchFailedAt(): u32 { return batchFailedAt; }

// @ts-ignore: decorator
@inline function refuse(status: i32, at: u32): i32 {
  batchFailedAt = at;
  return status;
}

/** Why markReleased stopped short. */
let markStatus: i32 = STATUS_OK;

/**
 * First pass of a release, for the `count` slots at `slots`: marks each as free in the bitmap, in order, so a
 * duplicate finds its slot already free (SLOT_NOT_ASSIGNED), as a second `release` would. Checks TIME_OVERFLOW once
 * the first slot has passed, where `release` would report it. Returns how many were marked (all = `count`); on a
 * refusal the status is in `markStatus`, and the caller unmarks what was marked.
 */
function markReleased(p: usize, slots: usize, count: u32, now: u32): u32 {
  if (count == 0) return 0;
  const fm = freeMask(p);
  const pm = presentMask(p);
  const extent = load<u32>(p, 4);
  // The free and present words of the slot's 32-slot word stay in locals while the slots stay in it (a /28 pool
  // has one word): no store-then-load of the same word per slot.
  let word: u32 = 0;
  let free = load<u32>(fm);
  let present = load<u32>(pm);
  let k: u32 = 0;
  for (; k < count; k++) {
    const slot = load<u32>(slots + (<usize>k << 2));
    if (slot >= extent) { markStatus = STATUS_BAD_SLOT; break; }
    if (slot >> 5 != word) {
      store<u32>(fm + (<usize>word << 2), free);
      word = slot >> 5;
      free = load<u32>(fm + (<usize>word << 2));
      present = load<u32>(pm + (<usize>word << 2));
    }
    const bit = <u32>1 << (slot & 31);
    if ((present & bit) == 0) { markStatus = STATUS_BAD_SLOT; break; }
    if ((free & bit) != 0) { markStatus = STATUS_SLOT_NOT_ASSIGNED; break; }
    if (k == 0 && <u64>now + <u64>load<u32>(p, 16) > 0xffffffff) { markStatus = STATUS_TIME_OVERFLOW; break; }
    free |= bit;
  }
  store<u32>(fm + (<usize>word << 2), free);
  return k;
}

/** Undoes markReleased for the first `count` slots (they were all assigned before it). */
function unmarkReleased(p: usize, slots: usize, count: u32): void {
  const fm = freeMask(p);
  for (let k: u32 = 0; k < count; k++) bitClear(fm, load<u32>(slots + (<usize>k << 2)));
}

/** Second pass: the marked slots cool down until now + cooldown (checked to fit by markReleased). */
function commitReleased(p: usize, slots: usize, count: u32, now: u32): void {
  if (count == 0) return;
  const fa = freeableAt(p);
  const until = now + load<u32>(p, 16);
  for (let k: u32 = 0; k < count; k++) store<u32>(fa + (<usize>load<u32>(slots + (<usize>k << 2)) << 2), until);
  store<u32>(p, load<u32>(p, 12) - count, 12);
  noteCooling(p, until);
}

/**
 * Releases the `count` slots (u32 indices) at `slotsPtr` at `now`, as ipPoolRelease one after another, all or
 * none: the first that would be refused (BAD_SLOT absent, SLOT_NOT_ASSIGNED free or listed twice, TIME_OVERFLOW)
 * refuses the whole batch and sets ipPoolBatchFailedAt() to its position. BAD_RANGE if the array is outside memory
 * or longer than a pool. Status.
 */
export function ipPoolReleaseMany(handle: i32, slotsPtr: usize, count: u32, now: u32): i32 {
  const p = handleResolve(handle, KIND_POOL);
  if (p == 0) return STATUS_BAD_HANDLE;
  if (count > MAX_SLOTS || !inMemory(slotsPtr, <u64>count << 2)) return refuse(STATUS_BAD_RANGE, 0);
  const marked = markReleased(p, slotsPtr, count, now);
  if (marked < count) {
    unmarkReleased(p, slotsPtr, marked);
    return refuse(markStatus, marked);
  }
  commitReleased(p, slotsPtr, count, now);
  return STATUS_OK;
}

/**
 * Checks a cross-pool batch before it touches anything: every handle live (else BAD_HANDLE at its position), the
 * counts adding up to at most `capacity` (else BAD_RANGE at the count that passes it), the arrays inside memory.
 */
function checkBatch(handles: usize, counts: usize, pools: u32, slots: usize, capacity: u32): i32 {
  if (!inMemory(handles, <u64>pools << 2) || !inMemory(counts, <u64>pools << 2) || !inMemory(slots, <u64>capacity << 2)) {
    return refuse(STATUS_BAD_RANGE, 0);
  }
  let total: u64 = 0;
  for (let i: u32 = 0; i < pools; i++) {
    if (handleResolve(load<i32>(handles + (<usize>i << 2)), KIND_POOL) == 0) return refuse(STATUS_BAD_HANDLE, i);
    total += <u64>load<u32>(counts + (<usize>i << 2));
    if (total > <u64>capacity) return refuse(STATUS_BAD_RANGE, i);
  }
  return STATUS_OK;
}

/**
 * Cross-pool allocation: pool i (handle at handlesPtr[i]) assigns up to counts[i] slots as ipPoolAllocateMany
 * would, written at slots[offset_i ..] where offset_i = counts[0] + … + counts[i−1] (fixed regions, whatever the
 * pools give); takenPtr[i] = how many it gave (an exhausted pool gives fewer: not an error). Pools are served in
 * order, so a pool listed twice gives its lowest slots to its first entry. Returns the total, or −status with
 * nothing assigned (BAD_HANDLE / BAD_RANGE, position in ipPoolBatchFailedAt()).
 */
export function ipPoolAllocateBatch(
  handlesPtr: usize, countsPtr: usize, takenPtr: usize, pools: u32, slotsPtr: usize, capacity: u32, now: u32,
): i32 {
  const status = checkBatch(handlesPtr, countsPtr, pools, slotsPtr, capacity);
  if (status != STATUS_OK) return -status;
  if (!inMemory(takenPtr, <u64>pools << 2)) return -refuse(STATUS_BAD_RANGE, 0);
  let offset: usize = 0;
  let total: u32 = 0;
  for (let i: u32 = 0; i < pools; i++) {
    const at = <usize>i << 2;
    const count = load<u32>(countsPtr + at);
    const p = handleResolve(load<i32>(handlesPtr + at), KIND_POOL);
    const n = count == 0 ? 0 : allocateInto(p, count, now, slotsPtr + (offset << 2));
    store<u32>(takenPtr + at, n);
    total += n;
    offset += <usize>count;
  }
  return <i32>total;
}

/**
 * Cross-pool release: pool i releases the counts[i] slots at slots[offset_i ..] (regions as ipPoolAllocateBatch)
 * at `now`, as ipPoolReleaseMany would, and the whole batch is all or none: the first slot that would be refused,
 * in batch order, refuses it, with its index into the slots array in ipPoolBatchFailedAt(). A slot ≥ 65,536 is
 * BAD_SLOT. Status (BAD_HANDLE / BAD_RANGE as ipPoolAllocateBatch).
 */
export function ipPoolReleaseBatch(handlesPtr: usize, countsPtr: usize, pools: u32, slotsPtr: usize, capacity: u32, now: u32): i32 {
  const status = checkBatch(handlesPtr, countsPtr, pools, slotsPtr, capacity);
  if (status != STATUS_OK) return status;
  let offset: usize = 0;
  for (let i: u32 = 0; i < pools; i++) {
    const at = <usize>i << 2;
    const count = load<u32>(countsPtr + at);
    const p = handleResolve(load<i32>(handlesPtr + at), KIND_POOL);
    const slots = slotsPtr + (offset << 2);
    const marked = markReleased(p, slots, count, now);
    if (marked < count) {
      // Unmark in reverse batch order: a pool listed twice gets back exactly what each entry marked.
      unmarkReleased(p, slots, marked);
      let back = offset;
      for (let j = <i32>i - 1; j >= 0; j--) {
        const jAt = <usize>j << 2;
        const jCount = load<u32>(countsPtr + jAt);
        back -= <usize>jCount;
        unmarkReleased(handleResolve(load<i32>(handlesPtr + jAt), KIND_POOL), slotsPtr + (back << 2), jCount);
      }
      return refuse(markStatus, <u32>offset + marked);
    }
    offset += <usize>count;
  }
  offset = 0;
  for (let i: u32 = 0; i < pools; i++) {
    const at = <usize>i << 2;
    const count = load<u32>(countsPtr + at);
    commitReleased(handleResolve(load<i32>(handlesPtr + at), KIND_POOL), slotsPtr + (offset << 2), count, now);
    offset += <usize>count;
  }
  return STATUS_OK;
}
