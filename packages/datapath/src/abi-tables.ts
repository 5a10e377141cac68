/**
 * The WebAssembly exports of the LPM tables and IP slot pools (`assembly/lpm.ts`, `assembly/ip-pool.ts`,
 * `assembly/tables-handles.ts`), typed. Every argument and result is a flat number: i32/u32 in wasm, `number` here
 * (u32 results arrive as signed i32 and are read back with `>>> 0`). A table or pool is a handle (an i32 > 0)
 * naming a struct in linear memory; many coexist in one instance. Functions that return a status return 0 for ok;
 * functions that return a value leave their status in `tablesLastStatus()`.
 */
export interface TablesExports {
  /** Status of the last call that returned a value rather than a status. */
  tablesLastStatus(): number;
  /** Allocates `bytes` (zeroed) of linear memory for batch views; returns the byte offset (0 if `bytes` is 0). */
  tablesAlloc(bytes: number): number;
  /** Frees memory from `tablesAlloc`. */
  tablesFree(ptr: number): void;

  /** New empty LPM table with room for `capacity` entries before it grows; handle, or 0 (status BAD_CAPACITY). */
  lpmCreate(capacity: number): number;
  /** Copy of a table (new handle), or 0 (status BAD_HANDLE). */
  lpmClone(handle: number): number;
  lpmFree(handle: number): number;
  /** Entries, or −BAD_HANDLE. */
  lpmSize(handle: number): number;
  /** Bytes of linear memory held (header + slots), or −BAD_HANDLE. */
  lpmBytes(handle: number): number;
  /** Adds prefix/length → value (status EXISTS if that exact prefix is present). */
  lpmAdd(handle: number, prefix: number, length: number, value: number): number;
  /** Replaces the value of a present prefix (status NOT_FOUND if absent). */
  lpmReplace(handle: number, prefix: number, length: number, value: number): number;
  /** Removes a prefix (status NOT_FOUND if absent). */
  lpmRemove(handle: number, prefix: number, length: number): number;
  /** Value stored for exactly prefix/length, or LPM_MISS with the status in tablesLastStatus(). */
  lpmGet(handle: number, prefix: number, length: number): number;
  /** Value of the longest prefix containing `ip`, or LPM_MISS. */
  lpmLookup(handle: number, ip: number): number;
  /** Looks up `count` u32 addresses at byte offset `ipsPtr`, writes u32 values (or LPM_MISS) at `outPtr`. */
  lpmLookupBatch(handle: number, ipsPtr: number, outPtr: number, count: number): number;
  /** Number of slots, for listing with lpmEntryAt; −BAD_HANDLE. */
  lpmSlotCount(handle: number): number;
  /** Length of the entry in slot `slot` (prefix and value via the two getters below), −1 if empty, or −status. */
  lpmEntryAt(handle: number, slot: number): number;
  lpmEntryPrefix(): number;
  lpmEntryValue(): number;

  /** New pool of `slots` free slots with a release cooldown in seconds; handle, or 0 (status BAD_CAPACITY). */
  ipPoolCreate(slots: number, cooldownSeconds: number): number;
  ipPoolClone(handle: number): number;
  ipPoolFree(handle: number): number;
  /** Adds a free slot at the lowest absent index; returns it, or −status. */
  ipPoolAddSlot(handle: number): number;
  /** Removes an unassigned slot, cooling or not. Status. */
  ipPoolRemoveSlot(handle: number, slot: number): number;
  /** Assigns the lowest free slot not cooling at `now`; returns it, or −POOL_EXHAUSTED / −status. */
  ipPoolAllocate(handle: number, now: number): number;
  /** Assigns up to `count` slots, writing u32 indices at `outPtr`; returns how many, or −status. */
  ipPoolAllocateMany(handle: number, count: number, now: number, outPtr: number): number;
  /** Assigns the lowest aligned block of `blockSize` (power of two, 1..32) free, cooled slots; first slot, or −status. */
  ipPoolAllocateAligned(handle: number, blockSize: number, now: number): number;
  /** Aligned blocks of `blockSize` that ipPoolAllocateAligned could take at `now`, or −status. */
  ipPoolCountAligned(handle: number, blockSize: number, now: number): number;
  /** Assigns a given free slot (cooling or not). Status. */
  ipPoolClaim(handle: number, slot: number): number;
  /** Releases an assigned slot into cooldown until now + cooldown. Status. */
  ipPoolRelease(handle: number, slot: number, now: number): number;
  /** Releases `count` assigned slots from `first` on, all or none. Status. */
  ipPoolReleaseRange(handle: number, first: number, count: number, now: number): number;
  /** 0 absent, 1 free, 2 assigned, 3 cooling (at `now`), or −status. */
  ipPoolSlotState(handle: number, slot: number, now: number): number;
  /** Release time + cooldown of a present slot (0 if never released); status in tablesLastStatus(). */
  ipPoolFreeableAt(handle: number, slot: number): number;
  /** `which`: 0 present, 1 assigned, 2 cooling, 3 free and not cooling (at `now`); or −status. */
  ipPoolCount(handle: number, which: number, now: number): number;
  /** Every present slot index is below this; −BAD_HANDLE. */
  ipPoolExtent(handle: number): number;
  /** The pool's cooldown in seconds; status in tablesLastStatus(). */
  ipPoolCooldown(handle: number): number;
  /**
   * Releases the `count` u32 slot indices at `slotsPtr` as ipPoolRelease one after another, all or none; on a
   * refusal, ipPoolBatchFailedAt() is the refusing slot's position. Status.
   */
  ipPoolReleaseMany(handle: number, slotsPtr: number, count: number, now: number): number;
  /**
   * Cross-pool batch: pool i (u32 handle at `handlesPtr`) assigns up to counts[i] slots into its region of `slotsPtr`
   * (regions consecutive in pool order, counts[i] long) and writes how many at `takenPtr`; `capacity` = u32 room at
   * `slotsPtr`. Total assigned, or −status with nothing changed.
   */
  ipPoolAllocateBatch(handlesPtr: number, countsPtr: number, takenPtr: number, pools: number, slotsPtr: number, capacity: number, now: number): number;
  /** Cross-pool batch: pool i releases the counts[i] slots of its region, the whole batch all or none. Status. */
  ipPoolReleaseBatch(handlesPtr: number, countsPtr: number, pools: number, slotsPtr: number, capacity: number, now: number): number;
  /** Position of the element that refused the last refused batch call (into the slots, or the pools for BAD_HANDLE). */
  ipPoolBatchFailedAt(): number;
}

/** Status codes of the table exports (assembly/tables-handles.ts). */
export const TableStatus = {
  OK: 0,
  BAD_HANDLE: 1,
  BAD_LENGTH: 2,
  HOST_BITS: 3,
  EXISTS: 4,
  NOT_FOUND: 5,
  BAD_VALUE: 6,
  BAD_RANGE: 7,
  BAD_SLOT: 8,
  SLOT_ASSIGNED: 9,
  SLOT_NOT_ASSIGNED: 10,
  POOL_FULL: 11,
  POOL_EXHAUSTED: 12,
  TIME_OVERFLOW: 13,
  BAD_CAPACITY: 14,
} as const;

/** The lookup result (u32) for an address no prefix matches; it cannot be stored as a value. */
export const LPM_MISS = 0xffff_ffff;

/** Most entries an LPM table can hold (its slot array is capped at 2^26 slots at load factor ½). */
export const LPM_MAX_ENTRIES = 1 << 25;

/** Most slots an IP pool can hold (a /16 worth of addresses). */
export const IP_POOL_MAX_SLOTS = 1 << 16;

/** ipPoolSlotState results. */
export const SlotStateCode = { absent: 0, free: 1, assigned: 2, cooling: 3 } as const;
