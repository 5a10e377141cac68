// Endpoints per service-port, replaceable one service-port at a time. Each service-port owns one block:
//   raw endpoints  n × 16 B  (IPv4, port | conditions << 16, node, endpoint id)   in rule order
//   local groups   g × 8 B   (node, start u16, count u16) sorted by node: that node's usable local endpoints
//   cluster list   n × u16   indices of the usable cluster endpoints (ready, else serving ∧ terminating)
//   local list     n × u16   indices referenced by the groups
// Selection reads the raw record of one chosen index, so a choice touches the list and one 16-byte record.
import { fail, ST_OK, ST_BAD_SERVICE_PORT, ST_TOO_LARGE } from './core-state';
import { spAt, spDefined } from './services';
import { recentForgetRemoved } from './recent';

export const COND_READY: u32 = 1 << 16;
export const COND_SERVING: u32 = 1 << 17;
export const COND_TERMINATING: u32 = 1 << 18;
export const EP_MAX: u32 = 65535;

// @ts-ignore: decorator
@inline export function epBlock(sp: usize): usize { return <usize>load<u32>(sp, 8); }
// @ts-ignore: decorator
@inline export function epCount(sp: usize): u32 { return load<u32>(sp, 12); }
// @ts-ignore: decorator
@inline export function clusterCount(sp: usize): u32 { return load<u32>(sp, 16); }
// @ts-ignore: decorator
@inline export function groupCount(sp: usize): u32 { return load<u32>(sp, 24); }
// @ts-ignore: decorator
@inline export function groupsPtr(block: usize, n: u32): usize { return block + (<usize>n << 4); }
// @ts-ignore: decorator
@inline export function clusterListPtr(block: usize, n: u32, g: u32): usize { return block + (<usize>n << 4) + (<usize>g << 3); }
// @ts-ignore: decorator
@inline export function localListPtr(block: usize, n: u32, g: u32): usize { return block + (<usize>n << 4) + (<usize>g << 3) + (<usize>n << 1); }

/** Frees a service-port's endpoint block and its cached Maglev tables. */
export function releaseEndpoints(id: u32): void {
  const sp = spAt(id);
  const block = epBlock(sp);
  if (block != 0) heap.free(block);
  const mh = <usize>load<u32>(sp, 20);
  if (mh != 0) {
    const slots = groupCount(sp) + 1;
    for (let i: u32 = 0; i < slots; i++) {
      const table = <usize>load<u32>(mh + (<usize>i << 2));
      if (table != 0) heap.free(table);
    }
    heap.free(mh);
  }
  store<u32>(sp, 0, 8); store<u32>(sp, 0, 12); store<u32>(sp, 0, 16); store<u32>(sp, 0, 20); store<u32>(sp, 0, 24);
}

// @ts-ignore: decorator
@inline function usable(cond: u32, readyPass: bool): bool {
  return readyPass ? (cond & COND_READY) != 0 : (cond & (COND_SERVING | COND_TERMINATING)) == (COND_SERVING | COND_TERMINATING);
}

/** Shell sort of u64 keys (node << 16 | index): no allocation beyond the array itself. */
function sortKeys(keys: usize, n: u32): void {
  let gap = n >>> 1;
  while (gap > 0) {
    for (let i = gap; i < n; i++) {
      const v = load<u64>(keys + (<usize>i << 3));
      let j = i;
      while (j >= gap && load<u64>(keys + (<usize>(j - gap) << 3)) > v) {
        store<u64>(keys + (<usize>j << 3), load<u64>(keys + (<usize>(j - gap) << 3)));
        j -= gap;
      }
      store<u64>(keys + (<usize>j << 3), v);
    }
    gap = gap == 2 ? 1 : <u32>(<f64>gap / 2.2);
  }
}

/**
 * Replaces the endpoints of one service-port with `n` records at `src` (16 bytes each: IPv4, port | conditions,
 * node, endpoint id), in rule order. Builds the cluster list and per-node local lists with kube-proxy's fallback to
 * serving-and-terminating endpoints, decided separately for each. Other service-ports are untouched. Status.
 */
export function coreSetEndpoints(id: u32, src: usize, n: u32): i32 {
  if (!spDefined(id)) return fail(ST_BAD_SERVICE_PORT, <i32>id);
  if (n > EP_MAX) return fail(ST_TOO_LARGE, <i32>n);
  recentForgetRemoved(id, src, n);
  releaseEndpoints(id);
  if (n == 0) return ST_OK;
  const sp = spAt(id);

  // Local groups: sort (node, index) and walk each node's run twice (ready pass, then fallback pass).
  const keys = heap.alloc(<usize>n << 3);
  for (let i: u32 = 0; i < n; i++) {
    store<u64>(keys + (<usize>i << 3), ((<u64>load<u32>(src + (<usize>i << 4), 8)) << 16) | <u64>i);
  }
  sortKeys(keys, n);
  let g: u32 = 0;
  let prev: u64 = 0xffffffffffffffff;
  for (let i: u32 = 0; i < n; i++) {
    const node = load<u64>(keys + (<usize>i << 3)) >>> 16;
    if (node != prev) { g++; prev = node; }
  }
  const bytes = (<usize>n << 4) + (<usize>g << 3) + (<usize>n << 2);
  const block = heap.alloc(bytes);
  memory.copy(block, src, <usize>n << 4);
  const groups = groupsPtr(block, n);
  const cl = clusterListPtr(block, n, g);
  const ll = localListPtr(block, n, g);

  // Cluster list.
  let m: u32 = 0;
  for (let pass = 0; pass < 2 && m == 0; pass++) {
    for (let i: u32 = 0; i < n; i++) {
      if (usable(load<u32>(block + (<usize>i << 4), 4), pass == 0)) { store<u16>(cl + (<usize>m << 1), <u16>i); m++; }
    }
  }

  // Local lists, one group per node that has any endpoint (count 0 when none is usable).
  let gi: u32 = 0;
  let l: u32 = 0;
  let runStart: u32 = 0;
  while (runStart < n) {
    const node = load<u64>(keys + (<usize>runStart << 3)) >>> 16;
    let runEnd = runStart;
    while (runEnd < n && (load<u64>(keys + (<usize>runEnd << 3)) >>> 16) == node) runEnd++;
    const start = l;
    for (let pass = 0; pass < 2 && l == start; pass++) {
      for (let k = runStart; k < runEnd; k++) {
        const idx = <u32>(load<u64>(keys + (<usize>k << 3)) & 0xffff);
        if (usable(load<u32>(block + (<usize>idx << 4), 4), pass == 0)) { store<u16>(ll + (<usize>l << 1), <u16>idx); l++; }
      }
    }
    const gp = groups + (<usize>gi << 3);
    store<u32>(gp, <u32>node);
    store<u16>(gp, <u16>start, 4);
    store<u16>(gp, <u16>(l - start), 6);
    gi++;
    runStart = runEnd;
  }
  heap.free(keys);

  store<u32>(sp, <u32>block, 8);
  store<u32>(sp, n, 12);
  store<u32>(sp, m, 16);
  store<u32>(sp, g, 24);
  return ST_OK;
}

/**
 * Where the Maglev table (ipvs `mh`) of one endpoint list is cached: slot 0 for the cluster list, slot 1 + g for node
 * group g's local list. A table depends only on its list, so it is built once per endpoint change, not per
 * connection; the slots (allocated on first use) are freed with the endpoints. `node` must have a local group when
 * `isCluster` is false.
 */
export function maglevSlot(sp: usize, node: u32, isCluster: bool): usize {
  const g = groupCount(sp);
  let mh = <usize>load<u32>(sp, 20);
  if (mh == 0) {
    mh = heap.alloc(<usize>(g + 1) << 2);
    memory.fill(mh, 0, <usize>(g + 1) << 2);
    store<u32>(sp, <u32>mh, 20);
  }
  if (isCluster) return mh;
  const groups = groupsPtr(epBlock(sp), epCount(sp));
  let lo: u32 = 0;
  let hi: u32 = g;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<u32>(groups + (<usize>mid << 3)) < node) lo = mid + 1; else hi = mid;
  }
  return mh + (<usize>(lo + 1) << 2);
}

/**
 * The usable local endpoints of a service-port on `node`: writes the list pointer and count into the two out-words
 * at `out`. Binary search over the groups (sorted by node).
 */
// @ts-ignore: decorator
@inline export function localList(sp: usize, node: u32, out: usize): void {
  const block = epBlock(sp);
  const n = epCount(sp);
  const g = groupCount(sp);
  const groups = groupsPtr(block, n);
  let lo: u32 = 0;
  let hi: u32 = g;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = load<u32>(groups + (<usize>mid << 3));
    if (v < node) lo = mid + 1; else hi = mid;
  }
  if (lo < g && load<u32>(groups + (<usize>lo << 3)) == node) {
    const gp = groups + (<usize>lo << 3);
    store<u32>(out, <u32>(localListPtr(block, n, g) + (<usize>load<u16>(gp, 4) << 1)));
    store<u32>(out, <u32>load<u16>(gp, 6), 4);
  } else {
    store<u32>(out, 0);
    store<u32>(out, 0, 4);
  }
}

export function coreEndpointCount(id: u32): i32 {
  if (!spDefined(id)) return -fail(ST_BAD_SERVICE_PORT, <i32>id);
  return <i32>epCount(spAt(id));
}
export function coreClusterEndpointCount(id: u32): i32 {
  if (!spDefined(id)) return -fail(ST_BAD_SERVICE_PORT, <i32>id);
  return <i32>clusterCount(spAt(id));
}

/** Bytes of linear memory a service-port's endpoints take (block; the allocator adds a few bytes of header). */
export function coreEndpointBlockBytes(id: u32): i32 {
  if (!spDefined(id)) return -fail(ST_BAD_SERVICE_PORT, <i32>id);
  const sp = spAt(id);
  const n = epCount(sp);
  return <i32>((n << 4) + (groupCount(sp) << 3) + (n << 2));
}
