// Instance-wide state of the datapath core: simulated clock, seed, last error, and the raw-memory helpers every
// table uses. Integers and linear memory only; no managed objects (runtime "minimal").

/** Status codes returned by the core's exports (0 = ok). Mirrored in src/abi.ts. */
export const ST_OK: i32 = 0;
export const ST_BAD_NODE: i32 = 1;
export const ST_BAD_SERVICE_PORT: i32 = 2;
export const ST_BAD_PROTOCOL: i32 = 3;
export const ST_BAD_ARGUMENT: i32 = 4;
export const ST_NOT_FOUND: i32 = 5;
export const ST_CONFLICT: i32 = 6;
export const ST_TOO_LARGE: i32 = 7;
export const ST_NOT_INITIALIZED: i32 = 8;

/** Simulated time in whole seconds. Only advances (setTime refuses to go back). */
export let nowSeconds: u32 = 0;
/** Seed of every random draw (counter-based, see hash.ts). */
export let seed: u32 = 0;
export let initialized: bool = false;
let lastError: i32 = 0;
let lastErrorDetail: i32 = 0;

export function setNow(t: u32): void { nowSeconds = t; }
export function setSeed(s: u32): void { seed = s; }
export function markInitialized(): void { initialized = true; }

/** Records a failure and returns its code, so callers write `return fail(ST_X, detail)`. */
export function fail(code: i32, detail: i32): i32 {
  lastError = code;
  lastErrorDetail = detail;
  return code;
}

export function coreLastError(): i32 { return lastError; }
/** Argument-specific detail of the last error (e.g. the offending id or the capacity reached). */
export function coreLastErrorDetail(): i32 { return lastErrorDetail; }

/** Zeroed allocation. */
export function allocZeroed(bytes: usize): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

/** Reallocates an array to `newBytes`, keeping the first `oldBytes` and zeroing the rest. */
export function growZeroed(ptr: usize, oldBytes: usize, newBytes: usize): usize {
  const p = heap.alloc(newBytes);
  if (oldBytes > 0) memory.copy(p, ptr, oldBytes);
  memory.fill(p + oldBytes, 0, newBytes - oldBytes);
  if (ptr != 0) heap.free(ptr);
  return p;
}

/** Smallest power of two ≥ x (x ≥ 1). */
export function nextPow2(x: u32): u32 {
  if (x <= 1) return 1;
  return (1 as u32) << (32 - clz<u32>(x - 1));
}

/** IANA protocol number → internal index (0 TCP, 1 UDP, 2 SCTP), or -1. */
export function protoIndex(proto: u32): i32 {
  if (proto == 6) return 0;
  if (proto == 17) return 1;
  if (proto == 132) return 2;
  return -1;
}
