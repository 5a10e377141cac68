// Longest-prefix-match tables over IPv4: (prefix, length 0..32) → value u32, with incremental add and remove.
//
// Structure: one open-addressed hash table per LPM table holding every (prefix, length) entry, probed
// longest-length-first over only the lengths present (a 33-bit mask kept from per-length counts). Ownership
// tables hold a handful of lengths (VPC /16, subnet /19, ENI /28 prefix, pod and ENI /32): a lookup is a few
// hash probes, adding or removing a prefix touches one slot and never rebuilds the table (growth doubles it,
// amortised). docs/tables.md has the measurement against the alternatives.
//
// Table header (HEADER bytes):
//   [0] slots pointer  [4] slot mask (capacity − 1)  [8] entry count  [16] present-length mask (u64, bit L = /L)
//   [24] u32 counts[33]: entries per prefix length (keeps the mask right on removal)
// Slot (16 bytes, 4 per 64-byte line, none straddles a line; array of structs because a probe reads every field):
//   [0] prefix  [4] length + 1 (0 = empty)  [8] value  [12] unused
// Linear probing with backward-shift deletion (open-addressing.ts, shared with the core's tables): no tombstones,
// so a miss stops at the first empty slot.

import {
  KIND_LPM, STATUS_BAD_CAPACITY, STATUS_BAD_HANDLE, STATUS_BAD_LENGTH, STATUS_BAD_RANGE, STATUS_BAD_VALUE,
  STATUS_EXISTS, STATUS_HOST_BITS, STATUS_NOT_FOUND, STATUS_OK, handleNew, handleRelease, handleResolve, inMemory,
  setStatus,
} from './tables-handles';
import { allocZeroed } from './core-state';
import { deleteShift, firstEmpty, rehash } from './open-addressing';

export { tablesAlloc, tablesFree, tablesLastStatus } from './tables-handles';

/** Lookup result when no prefix matches (so 0xFFFFFFFF cannot be stored as a value). Mirrored in src/abi-tables.ts. */
const LPM_MISS: u32 = 0xffffffff;

const HEADER: usize = 160;
const SLOT: usize = 16;
const SLOT_SHIFT: u32 = 4;
/** Byte offset of the occupancy word (length + 1) in a slot. */
const TAG: u32 = 4;
const MIN_CAPACITY: u32 = 16;
const MAX_CAPACITY: u32 = 1 << 26;

// @ts-ignore: decorator
@inline function netmask(length: u32): u32 {
  // length 0 would shift by 32, which wasm takes mod 32: special-case it.
  return length == 0 ? 0 : <u32>0xffffffff << (32 - length);
}

// @ts-ignore: decorator
@inline function hashKey(prefix: u32, length: u32): u32 {
  let h = (prefix ^ (length * 0x9e3779b1)) * 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** Home slot of the entry stored at `s` (for the shared rehash and backward-shift deletion). */
function homeOf(s: usize, mask: u32): u32 {
  return hashKey(load<u32>(s), load<u32>(s, TAG) - 1) & mask;
}

function capacityFor(entries: u32): u32 {
  // Load factor ≤ 1/2: most probes in an LPM lookup are misses, and a miss under linear probing scans
  // ≈ (1 + 1/(1−α)²)/2 slots.
  let cap = MIN_CAPACITY;
  while (cap < MAX_CAPACITY && (cap >> 1) < entries) cap <<= 1;
  return cap;
}

/** Slot address of (prefix, length), or 0 when absent. */
// @ts-ignore: decorator
@inline function findSlot(t: usize, prefix: u32, length: u32): usize {
  const slots = <usize>load<u32>(t);
  const mask = load<u32>(t, 4);
  const tag = length + 1;
  let i = hashKey(prefix, length) & mask;
  while (true) {
    const s = slots + <usize>i * SLOT;
    const st = load<u32>(s, 4);
    if (st == 0) return 0;
    if (st == tag && load<u32>(s) == prefix) return s;
    i = (i + 1) & mask;
  }
}

/** Inserts an entry known to be absent into a table with room. */
function placeNew(slots: usize, mask: u32, prefix: u32, length: u32, value: u32): void {
  const s = slots + (<usize>firstEmpty(slots, mask, SLOT_SHIFT, TAG, hashKey(prefix, length) & mask) << SLOT_SHIFT);
  store<u32>(s, prefix);
  store<u32>(s, length + 1, TAG);
  store<u32>(s, value, 8);
}

function grow(t: usize): void {
  const oldCap = load<u32>(t, 4) + 1;
  store<u32>(t, <u32>rehash(<usize>load<u32>(t), oldCap, SLOT_SHIFT, TAG, oldCap << 1, homeOf));
  store<u32>(t, (oldCap << 1) - 1, 4);
}

/** The longest-prefix match of `ip` in table `t`, or LPM_MISS. */
// @ts-ignore: decorator
@inline function lookupIn(t: usize, ip: u32): u32 {
  const slots = <usize>load<u32>(t);
  const mask = load<u32>(t, 4);
  let present = load<u64>(t, 16);
  while (present != 0) {
    const length = <u32>(63 - clz<u64>(present));
    const prefix = ip & netmask(length);
    const tag = length + 1;
    let i = hashKey(prefix, length) & mask;
    while (true) {
      const s = slots + <usize>i * SLOT;
      const st = load<u32>(s, 4);
      if (st == 0) break;
      if (st == tag && load<u32>(s) == prefix) return load<u32>(s, 8);
      i = (i + 1) & mask;
    }
    present &= ~(<u64>1 << length);
  }
  return LPM_MISS;
}

// @ts-ignore: decorator
@inline function checkPrefix(prefix: u32, length: u32): i32 {
  if (length > 32) return STATUS_BAD_LENGTH;
  if ((prefix & ~netmask(length)) != 0) return STATUS_HOST_BITS;
  return STATUS_OK;
}

/**
 * Creates an empty table with room for `capacity` entries before it first grows.
 * Returns the handle (> 0), or 0 with tablesLastStatus() = BAD_CAPACITY.
 */
export function lpmCreate(capacity: u32): i32 {
  if (capacity > (MAX_CAPACITY >> 1)) { setStatus(STATUS_BAD_CAPACITY); return 0; }
  const t = allocZeroed(HEADER);
  const cap = capacityFor(capacity);
  store<u32>(t, <u32>allocZeroed(<usize>cap << SLOT_SHIFT));
  store<u32>(t, cap - 1, 4);
  const handle = handleNew(KIND_LPM, t);
  if (handle == 0) { heap.free(<usize>load<u32>(t)); heap.free(t); setStatus(STATUS_BAD_CAPACITY); return 0; }
  setStatus(STATUS_OK);
  return handle;
}

/** A new table with the same entries as `handle` (for a caller's rollback copy); 0 + BAD_HANDLE if not live. */
export function lpmClone(handle: i32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) { setStatus(STATUS_BAD_HANDLE); return 0; }
  const copy = heap.alloc(HEADER);
  memory.copy(copy, t, HEADER);
  const bytes = <usize>(load<u32>(t, 4) + 1) * SLOT;
  const slots = heap.alloc(bytes);
  memory.copy(slots, <usize>load<u32>(t), bytes);
  store<u32>(copy, <u32>slots);
  const h = handleNew(KIND_LPM, copy);
  if (h == 0) { heap.free(slots); heap.free(copy); setStatus(STATUS_BAD_CAPACITY); return 0; }
  setStatus(STATUS_OK);
  return h;
}

/** Frees a table; its handle becomes invalid. Status. */
export function lpmFree(handle: i32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return STATUS_BAD_HANDLE;
  heap.free(<usize>load<u32>(t));
  heap.free(t);
  handleRelease(handle);
  return STATUS_OK;
}

/** Number of entries, or −BAD_HANDLE. */
export function lpmSize(handle: i32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return -STATUS_BAD_HANDLE;
  return <i32>load<u32>(t, 8);
}

/** Bytes of linear memory the table holds (header + slots), or −BAD_HANDLE. */
export function lpmBytes(handle: i32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return -STATUS_BAD_HANDLE;
  return <i32>(HEADER + <usize>(load<u32>(t, 4) + 1) * SLOT);
}

/** Adds prefix/length → value. EXISTS if that exact prefix is present (use lpmReplace). Status. */
export function lpmAdd(handle: i32, prefix: u32, length: u32, value: u32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return STATUS_BAD_HANDLE;
  const bad = checkPrefix(prefix, length);
  if (bad != STATUS_OK) return bad;
  if (value == LPM_MISS) return STATUS_BAD_VALUE;
  if (findSlot(t, prefix, length) != 0) return STATUS_EXISTS;
  const count = load<u32>(t, 8) + 1;
  if (count > ((load<u32>(t, 4) + 1) >> 1)) {
    if (load<u32>(t, 4) + 1 >= MAX_CAPACITY) return STATUS_BAD_CAPACITY;
    grow(t);
  }
  placeNew(<usize>load<u32>(t), load<u32>(t, 4), prefix, length, value);
  store<u32>(t, count, 8);
  const counter = t + 24 + (<usize>length << 2);
  store<u32>(counter, load<u32>(counter) + 1);
  store<u64>(t, load<u64>(t, 16) | (<u64>1 << length), 16);
  return STATUS_OK;
}

/** Replaces the value of an existing prefix/length. NOT_FOUND if absent. Status. */
export function lpmReplace(handle: i32, prefix: u32, length: u32, value: u32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return STATUS_BAD_HANDLE;
  const bad = checkPrefix(prefix, length);
  if (bad != STATUS_OK) return bad;
  if (value == LPM_MISS) return STATUS_BAD_VALUE;
  const s = findSlot(t, prefix, length);
  if (s == 0) return STATUS_NOT_FOUND;
  store<u32>(s, value, 8);
  return STATUS_OK;
}

/** Removes prefix/length; shorter covering prefixes match again. NOT_FOUND if absent. Status. */
export function lpmRemove(handle: i32, prefix: u32, length: u32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return STATUS_BAD_HANDLE;
  const bad = checkPrefix(prefix, length);
  if (bad != STATUS_OK) return bad;
  const s = findSlot(t, prefix, length);
  if (s == 0) return STATUS_NOT_FOUND;
  const slots = <usize>load<u32>(t);
  deleteShift(slots, load<u32>(t, 4), SLOT_SHIFT, TAG, <u32>((s - slots) >> SLOT_SHIFT), homeOf);
  store<u32>(t, load<u32>(t, 8) - 1, 8);
  const counter = t + 24 + (<usize>length << 2);
  const left = load<u32>(counter) - 1;
  store<u32>(counter, left);
  if (left == 0) store<u64>(t, load<u64>(t, 16) & ~(<u64>1 << length), 16);
  return STATUS_OK;
}

/** The value stored for exactly prefix/length, or LPM_MISS with tablesLastStatus() = NOT_FOUND / error. */
export function lpmGet(handle: i32, prefix: u32, length: u32): u32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) { setStatus(STATUS_BAD_HANDLE); return LPM_MISS; }
  const bad = checkPrefix(prefix, length);
  if (bad != STATUS_OK) { setStatus(bad); return LPM_MISS; }
  const s = findSlot(t, prefix, length);
  if (s == 0) { setStatus(STATUS_NOT_FOUND); return LPM_MISS; }
  setStatus(STATUS_OK);
  return load<u32>(s, 8);
}

/** The value of the longest prefix containing `ip`, or LPM_MISS (tablesLastStatus() tells a miss from an error). */
export function lpmLookup(handle: i32, ip: u32): u32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) { setStatus(STATUS_BAD_HANDLE); return LPM_MISS; }
  setStatus(STATUS_OK);
  return lookupIn(t, ip);
}

/**
 * Batch lookup: reads `count` IPv4 addresses (u32) at `ipsPtr`, writes each one's value (or LPM_MISS) as u32 at
 * `outPtr`. The two ranges may be the same (in-place). Status (BAD_RANGE if a range leaves linear memory).
 */
export function lpmLookupBatch(handle: i32, ipsPtr: usize, outPtr: usize, count: u32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return STATUS_BAD_HANDLE;
  const bytes = <u64>count << 2;
  if (!inMemory(ipsPtr, bytes) || !inMemory(outPtr, bytes)) return STATUS_BAD_RANGE;
  for (let k: usize = 0, n = <usize>count << 2; k < n; k += 4) {
    store<u32>(outPtr + k, lookupIn(t, load<u32>(ipsPtr + k)));
  }
  return STATUS_OK;
}

/**
 * Entry at slot index `slot` (0 ≤ slot < lpmSlotCount) for listing a table: returns the length (0..32) and sets
 * lpmEntryPrefix/lpmEntryValue, or −1 if the slot is empty; −BAD_HANDLE / −BAD_RANGE on bad arguments.
 */
export function lpmEntryAt(handle: i32, slot: u32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return -STATUS_BAD_HANDLE;
  if (slot > load<u32>(t, 4)) return -STATUS_BAD_RANGE;
  const s = <usize>load<u32>(t) + <usize>slot * SLOT;
  const st = load<u32>(s, 4);
  if (st == 0) return -1;
  entryPrefix = load<u32>(s);
  entryValue = load<u32>(s, 8);
  return <i32>(st - 1);
}

let entryPrefix: u32 = 0;
let entryValue: u32 = 0;

/** Prefix of the entry last read by lpmEntryAt. */
export function lpmEntryPrefix(): u32 { return entryPrefix; }
/** Value of the entry last read by lpmEntryAt. */
export function lpmEntryValue(): u32 { return entryValue; }

/** Number of slots (capacity) of the table, for lpmEntryAt; −BAD_HANDLE. */
export function lpmSlotCount(handle: i32): i32 {
  const t = handleResolve(handle, KIND_LPM);
  if (t == 0) return -STATUS_BAD_HANDLE;
  return <i32>(load<u32>(t, 4) + 1);
}
