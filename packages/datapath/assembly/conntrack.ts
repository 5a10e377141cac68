// Connection tracking: 5-tuple (per node) → the NAT applied. Array of structs, 32-byte slots aligned so two share
// one 64-byte line and none straddles a line; linear probing from ctHash of the key; backward-shift deletion (no
// tombstones). Expired entries are dead to lookups at once and leave the table on a sweep or when their key returns.
import { allocZeroed, nowSeconds, fail, ST_OK, ST_BAD_ARGUMENT, ST_BAD_PROTOCOL, protoIndex } from './core-state';
import { lcUnbind, lcActivate } from './ipvs-lc';
import { deleteShift } from './open-addressing';

// Slot, 32 bytes:
//   0 source IPv4 · 4 original destination IPv4 · 8 source port << 16 | destination port
//   12 tag: (node + 1) << 8 | protocol index << 4 | flags (0 = empty slot)
//   16 translated destination IPv4 · 20 translated port | service-port << 16 · 24 endpoint id · 28 expiry (s)
export const CT_ASSURED: u32 = 1;
export const CT_SNAT: u32 = 2;
export const CT_LC: u32 = 4;
export const CT_FLAGS_MASK: u32 = 0xf;
const CT_FLAGS: u32 = CT_FLAGS_MASK;
/** How far from its home slot the full-table path looks for an entry to evict (the kernel's eviction range). */
export const CT_EVICTION_RANGE: u32 = 8;

export let ctPtr: usize = 0;
export let ctMask: u32 = 0;
export let ctCount: u32 = 0;
export let ctMax: u32 = 0;
/** Set when the last ctReserve evicted an entry to make room. */
export let ctEvicted: bool = false;
let statInserted: u32 = 0;
let statEarlyDrops: u32 = 0;
let statDrops: u32 = 0;
let statExpired: u32 = 0;

// Timeouts in seconds by protocol index: [unassured, assured] × (TCP, UDP, SCTP).
const timeoutsPtr: usize = memory.data(24);

export function initConntrack(max: u32): void {
  ctMax = max;
  // Slots: a power of two ≥ max × 4/3, so a full table sits at load ≤ ¾.
  let slots: u32 = 64;
  const want: u64 = (<u64>max * 4 + 2) / 3;
  while (<u64>slots < want) slots <<= 1;
  ctMask = slots - 1;
  // 64-byte alignment: allocate one line more and round up (the allocator aligns to 16 only).
  const raw = allocZeroed(<usize>slots * 32 + 64);
  ctPtr = (raw + 63) & ~(<usize>63);
  ctCount = 0;
  store<u32>(timeoutsPtr, 120, 0);      // TCP SYN_SENT
  store<u32>(timeoutsPtr, 432000, 4);   // TCP ESTABLISHED
  store<u32>(timeoutsPtr, 30, 8);       // UDP unreplied
  store<u32>(timeoutsPtr, 120, 12);     // UDP stream
  store<u32>(timeoutsPtr, 3, 16);       // SCTP COOKIE_WAIT-like
  store<u32>(timeoutsPtr, 210, 20);     // SCTP ESTABLISHED
}

/** Sets the timeouts of one protocol in seconds. Status. */
export function coreSetConntrackTimeouts(proto: u32, unassured: u32, assured: u32): i32 {
  const pi = protoIndex(proto);
  if (pi < 0) return fail(ST_BAD_PROTOCOL, <i32>proto);
  if (unassured == 0 || assured == 0) return fail(ST_BAD_ARGUMENT, 1);
  store<u32>(timeoutsPtr + (<usize>pi << 3), unassured);
  store<u32>(timeoutsPtr + (<usize>pi << 3), assured, 4);
  return ST_OK;
}

// @ts-ignore: decorator
@inline export function ctTimeout(pi: u32, assured: bool): u32 {
  return load<u32>(timeoutsPtr + (<usize>pi << 3) + (assured ? 4 : 0));
}

// @ts-ignore: decorator
@inline export function ctSlotPtr(i: u32): usize { return ctPtr + (<usize>i << 5); }

// @ts-ignore: decorator
@inline function ctLive(p: usize): bool { return load<u32>(p, 28) > nowSeconds; }

/**
 * Finds a flow. Returns its slot when live; otherwise −(slot + 1) of where it would go: an expired slot holding the
 * same key (reused in place) or the empty slot ending the probe chain.
 */
// @ts-ignore: decorator
@inline export function ctFind(h: u32, tagKey: u32, src: u32, dst: u32, ports: u32): i32 {
  let i = h & ctMask;
  while (true) {
    const p = ctPtr + (<usize>i << 5);
    const t = load<u32>(p, 12);
    if (t == 0) return -(<i32>i) - 1;
    if ((t & ~CT_FLAGS) == tagKey && load<u32>(p) == src && load<u32>(p, 4) == dst && load<u32>(p, 8) == ports) {
      return ctLive(p) ? <i32>i : -(<i32>i) - 1;
    }
    i = (i + 1) & ctMask;
  }
}

/** Whether slot `i` holds this key, live (a cheap re-check of a slot found earlier in the batch). */
// @ts-ignore: decorator
@inline export function ctSlotHolds(i: u32, tagKey: u32, src: u32, dst: u32, ports: u32): bool {
  const p = ctPtr + (<usize>i << 5);
  return (load<u32>(p, 12) & ~CT_FLAGS) == tagKey && load<u32>(p) == src && load<u32>(p, 4) == dst &&
    load<u32>(p, 8) == ports && ctLive(p);
}

/** Counts a connection leaving the table (IPVS lc bookkeeping). */
function ctForget(p: usize): void {
  const t = load<u32>(p, 12);
  if ((t & CT_LC) != 0) {
    const pi = (t >>> 4) & 0xf;
    lcUnbind((t >>> 8) - 1, load<u32>(p, 20) >>> 16, load<u32>(p, 4), load<u32>(p, 24), pi != 0 || (t & CT_ASSURED) != 0);
  }
}

function ctDeleteAt(slot: u32): void {
  ctForget(ctSlotPtr(slot));
  deleteShift(ctPtr, ctMask, 5, 12, slot, ctHomeOf);
  ctCount--;
}

// The home slot of a stored entry, recomputed from its key (the hash is not stored: it would cost 4 bytes a slot).
import { ctHash } from './hash';
function ctHomeOf(q: usize, mask: u32): u32 {
  return ctHash(load<u32>(q, 12) & ~CT_FLAGS, load<u32>(q), load<u32>(q, 4), load<u32>(q, 8)) & mask;
}

/**
 * Makes room for a new entry whose probe ended at `pos` (an −(slot + 1) from ctFind). Returns the slot to write, or
 * −1 when the table is full and nothing in the eviction range may go (the new connection is dropped, counted).
 * Like the kernel's early_drop: an expired or not-yet-assured entry near the new one's bucket is evicted, counted.
 */
export function ctReserve(h: u32, tagKey: u32, src: u32, dst: u32, ports: u32, pos: i32): i32 {
  ctEvicted = false;
  const slot = <u32>(-pos - 1);
  const p = ctSlotPtr(slot);
  // Same key, expired: ctWrite reuses the slot in place.
  if (load<u32>(p, 12) != 0) return <i32>slot;
  if (ctCount < ctMax) return <i32>slot;
  let i = h & ctMask;
  for (let k: u32 = 0; k < CT_EVICTION_RANGE; k++) {
    const q = ctSlotPtr(i);
    const t = load<u32>(q, 12);
    if (t != 0 && (!ctLive(q) || (t & CT_ASSURED) == 0)) {
      ctDeleteAt(i);
      statEarlyDrops++;
      ctEvicted = true;
      const again = ctFind(h, tagKey, src, dst, ports);
      return -again - 1;
    }
    i = (i + 1) & ctMask;
  }
  statDrops++;
  return -1;
}

/** Writes a new entry into a slot from ctReserve. */
// @ts-ignore: decorator
@inline export function ctWrite(slot: u32, tag: u32, src: u32, dst: u32, ports: u32, ndst: u32, nport: u32, ep: u32, expiry: u32): void {
  const p = ctSlotPtr(slot);
  if (load<u32>(p, 12) != 0) {
    ctForget(p);
    statExpired++;
  } else {
    ctCount++;
  }
  store<u32>(p, src); store<u32>(p, dst, 4); store<u32>(p, ports, 8); store<u32>(p, tag, 12);
  store<u32>(p, ndst, 16); store<u32>(p, nport, 20); store<u32>(p, ep, 24); store<u32>(p, expiry, 28);
  statInserted++;
}

/** A packet of a live connection: refresh its timeout; its second packet makes it assured. Returns the slot address. */
// @ts-ignore: decorator
@inline export function ctTouch(slot: u32): usize {
  const p = ctSlotPtr(slot);
  let t = load<u32>(p, 12);
  const pi = (t >>> 4) & 0xf;
  if ((t & CT_ASSURED) == 0) {
    t |= CT_ASSURED;
    store<u32>(p, t, 12);
    if ((t & CT_LC) != 0 && pi == 0) lcActivate((t >>> 8) - 1, load<u32>(p, 20) >>> 16, load<u32>(p, 4), load<u32>(p, 24));
  }
  store<u32>(p, nowSeconds + ctTimeout(pi, true), 28);
  return p;
}

// A slot is 32 bytes: cleared and moved with four 8-byte stores rather than memory.fill / memory.copy, which V8
// runs as calls out of the WebAssembly code (measured: a sweep of 1M slots at 69 % load, a third of them expired,
// went from 14.4–14.6 to 10.5–11.1 ms).
// @ts-ignore: decorator
@inline function clearSlot(p: usize): void {
  store<u64>(p, 0); store<u64>(p, 0, 8); store<u64>(p, 0, 16); store<u64>(p, 0, 24);
}
// @ts-ignore: decorator
@inline function moveSlot(to: usize, from: usize): void {
  store<u64>(to, load<u64>(from)); store<u64>(to, load<u64>(from, 8), 8);
  store<u64>(to, load<u64>(from, 16), 16); store<u64>(to, load<u64>(from, 24), 24);
  clearSlot(from);
}

/**
 * Removes every expired entry; returns how many. One pass in slot order, starting after an empty slot: expired
 * entries are cleared, and each live entry that now has a hole between its home slot and itself moves back to the
 * first such hole — what re-inserting it would do. Equivalent to backward-shift deletion one by one, but each slot is
 * visited once and a key is hashed only when a hole precedes it in its cluster.
 */
export function coreConntrackSweep(): u32 {
  const size = ctMask + 1;
  let start: u32 = 0;
  while (start < size && load<u32>(ctSlotPtr(start), 12) != 0) start++;
  if (start == size) return 0; // cannot happen: the table is at most ¾ full
  let removed: u32 = 0;
  let hole: i32 = -1; // first empty slot of the current cluster, -1 when none
  let i = (start + 1) & ctMask;
  for (let step: u32 = 1; step < size; step++) {
    const p = ctSlotPtr(i);
    const t = load<u32>(p, 12);
    if (t == 0) {
      hole = -1; // a cluster ends: nothing after it can move before it
    } else if (!ctLive(p)) {
      if ((t & CT_LC) != 0) ctForget(p);
      clearSlot(p);
      removed++;
      if (hole < 0) hole = <i32>i;
    } else if (hole >= 0) {
      const home = ctHomeOf(p, ctMask);
      // The entry may move to the first empty slot in [home, i): the cluster's first hole if home is not after it.
      let target: i32 = -1;
      if (((<u32>hole - home) & ctMask) < ((i - home) & ctMask)) {
        target = hole;
      } else {
        for (let j = home; j != i; j = (j + 1) & ctMask) {
          if (load<u32>(ctSlotPtr(j), 12) == 0) { target = <i32>j; break; }
        }
      }
      if (target >= 0) {
        moveSlot(ctSlotPtr(<u32>target), p);
        if (<u32>target == <u32>hole) {
          // Next hole: the first empty slot after the one just filled (slot i is empty now, so the scan stops).
          let j = (<u32>hole + 1) & ctMask;
          while (load<u32>(ctSlotPtr(j), 12) != 0) j = (j + 1) & ctMask;
          hole = <i32>j;
        }
      }
    }
    i = (i + 1) & ctMask;
  }
  ctCount -= removed;
  statExpired += removed;
  return removed;
}

/** Drops every entry (a conntrack flush). */
export function coreConntrackFlush(): void {
  for (let i: u32 = 0; i <= ctMask; i++) {
    const p = ctSlotPtr(i);
    if (load<u32>(p, 12) != 0) ctForget(p);
  }
  memory.fill(ctPtr, 0, <usize>(ctMask + 1) << 5);
  ctCount = 0;
}

/** Statistics: 0 entries (incl. expired not yet swept), 1 max, 2 slots, 3 inserted, 4 early drops, 5 drops, 6 expired removed, 7 bytes. */
export function coreConntrackStat(which: u32): u32 {
  switch (which) {
    case 0: return ctCount;
    case 1: return ctMax;
    case 2: return ctMask + 1;
    case 3: return statInserted;
    case 4: return statEarlyDrops;
    case 5: return statDrops;
    case 6: return statExpired;
    case 7: return (ctMask + 1) * 32;
    default: return 0;
  }
}
