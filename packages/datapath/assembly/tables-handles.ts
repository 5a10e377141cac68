// Handles for the tables (LPM tables and IP slot pools): a handle is an i32 naming a struct in linear memory
// through a registry, so a freed or foreign handle is detected (status BAD_HANDLE) instead of reading freed memory.
//
// handle = generation << 24 | index. Index 0 is never used, so every valid handle is > 0. The generation (7 bits)
// changes each time an index is freed, so a stale handle is caught until the same index has been reused 127 times.
// Registry entry (8 bytes): [0] struct pointer (or, when free, the next free index), [4] generation << 8 | kind.

import { allocZeroed } from './core-state';

/** Status codes of the table exports (0 = ok). Mirrored in src/abi-tables.ts. */
export const STATUS_OK: i32 = 0;
export const STATUS_BAD_HANDLE: i32 = 1;
export const STATUS_BAD_LENGTH: i32 = 2;
export const STATUS_HOST_BITS: i32 = 3;
export const STATUS_EXISTS: i32 = 4;
export const STATUS_NOT_FOUND: i32 = 5;
export const STATUS_BAD_VALUE: i32 = 6;
export const STATUS_BAD_RANGE: i32 = 7;
export const STATUS_BAD_SLOT: i32 = 8;
export const STATUS_SLOT_ASSIGNED: i32 = 9;
export const STATUS_SLOT_NOT_ASSIGNED: i32 = 10;
export const STATUS_POOL_FULL: i32 = 11;
export const STATUS_POOL_EXHAUSTED: i32 = 12;
export const STATUS_TIME_OVERFLOW: i32 = 13;
export const STATUS_BAD_CAPACITY: i32 = 14;

export const KIND_LPM: u32 = 1;
export const KIND_POOL: u32 = 2;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u32 = 0x7f;

let registry: usize = 0;
let registryCap: u32 = 0;
let registryLen: u32 = 1;
let freeHead: u32 = 0;

/** Last status set by an export whose return value is not a status (lookups, allocations). */
let lastStatus: i32 = STATUS_OK;

// @ts-ignore: decorator
@inline export function setStatus(status: i32): void { lastStatus = status; }

/** The status of the last table call that returned a value rather than a status (0 = ok). */
export function tablesLastStatus(): i32 { return lastStatus; }

export function handleNew(kind: u32, ptr: usize): i32 {
  let index: u32;
  if (freeHead != 0) {
    index = freeHead;
    freeHead = load<u32>(registry + (<usize>index << 3));
  } else {
    if (registryLen > INDEX_MASK) return 0;
    if (registryLen >= registryCap) {
      const cap: u32 = registryCap == 0 ? 64 : registryCap << 1;
      registry = registry == 0 ? heap.alloc(<usize>cap << 3) : heap.realloc(registry, <usize>cap << 3);
      memory.fill(registry + (<usize>registryCap << 3), 0, <usize>(cap - registryCap) << 3);
      registryCap = cap;
    }
    index = registryLen++;
  }
  const entry = registry + (<usize>index << 3);
  const gen = (load<u32>(entry, 4) >> 8) & GEN_MASK;
  const g: u32 = gen == 0 ? 1 : gen;
  store<u32>(entry, <u32>ptr);
  store<u32>(entry, (g << 8) | kind, 4);
  return <i32>((g << INDEX_BITS) | index);
}

/** The struct pointer behind `handle` if it is live and of `kind`, else 0. */
// @ts-ignore: decorator
@inline export function handleResolve(handle: i32, kind: u32): usize {
  const h = <u32>handle;
  const index = h & INDEX_MASK;
  if (handle <= 0 || index == 0 || index >= registryLen) return 0;
  const entry = registry + (<usize>index << 3);
  const meta = load<u32>(entry, 4);
  if ((meta & 0xff) != kind || (meta >> 8) != (h >> INDEX_BITS)) return 0;
  return <usize>load<u32>(entry);
}

/** Points a live handle at a new struct (after the struct moved). */
export function handleRepoint(handle: i32, ptr: usize): void {
  store<u32>(registry + (<usize>(<u32>handle & INDEX_MASK) << 3), <u32>ptr);
}

/** Frees the registry entry of a live handle; the next handle at this index gets another generation. */
export function handleRelease(handle: i32): void {
  const index = <u32>handle & INDEX_MASK;
  const entry = registry + (<usize>index << 3);
  const gen = (load<u32>(entry, 4) >> 8) & GEN_MASK;
  let next = (gen + 1) & GEN_MASK;
  if (next == 0) next = 1;
  store<u32>(entry, freeHead);
  store<u32>(entry, next << 8, 4);
  freeHead = index;
}

/** True when [ptr, ptr + bytes) lies inside linear memory. */
// @ts-ignore: decorator
@inline export function inMemory(ptr: usize, bytes: u64): bool {
  return <u64>ptr + bytes <= (<u64>memory.size() << 16);
}

/** Allocates `bytes` of linear memory for batch views (IPs in, values or slots out); 0 if `bytes` is 0. */
export function tablesAlloc(bytes: u32): usize {
  return bytes == 0 ? 0 : allocZeroed(<usize>bytes);
}

/** Frees memory from `tablesAlloc`. */
export function tablesFree(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}
