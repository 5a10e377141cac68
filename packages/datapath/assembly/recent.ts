// Session affinity of the iptables and nftables modes: one list of clients per (node, service-port, endpoint), as
// the `recent` match keeps one per KUBE-SEP chain (`--set` in the SEP chain, `--rcheck --seconds T` in the service
// chain, endpoint by endpoint in rule order) and nftables one `affinity-*` set per endpoint chain. iptables' lists
// hold at most `ip_list_tot` = 100 clients and evict the least recently seen; nftables' sets are not bounded here.
// A list is [count, capacity, capacity × (client, last seen)] in least-recently-seen order.
import { allocZeroed, nowSeconds } from './core-state';
import { rehash, deleteShift, firstEmpty } from './open-addressing';

/** xt_recent's default ip_list_tot. */
export const RECENT_LIST_MAX: u32 = 100;

// 32-byte slots: node + 1 (0 = empty), service-port, endpoint IP, endpoint port, list address, 0, 0, 0.
let tablePtr: usize = 0;
let tableMask: u32 = 0;
let tableCount: u32 = 0;

export function initRecent(): void {
  tableMask = 255;
  tablePtr = allocZeroed(<usize>(tableMask + 1) << 5);
  tableCount = 0;
}

// @ts-ignore: decorator
@inline function recentHash(tag: u32, sp: u32, ip: u32, port: u32): u32 {
  let h = (ip * 0x9e3779b1) ^ (tag * 0x85ebca6b) ^ (sp * 0xc2b2ae35) ^ port;
  h ^= h >>> 16;
  h *= 0x7feb352d;
  return h ^ (h >>> 15);
}
function recentHomeOf(p: usize, mask: u32): u32 {
  return recentHash(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12)) & mask;
}

/** The list of (node, sp, endpoint), or 0. */
function findList(node: u32, sp: u32, ip: u32, port: u32): usize {
  const tag = node + 1;
  let i = recentHash(tag, sp, ip, port) & tableMask;
  while (true) {
    const p = tablePtr + (<usize>i << 5);
    const t = load<u32>(p);
    if (t == 0) return 0;
    if (t == tag && load<u32>(p, 4) == sp && load<u32>(p, 8) == ip && load<u32>(p, 12) == port) return <usize>load<u32>(p, 16);
    i = (i + 1) & tableMask;
  }
}

/** The slot holding (node, sp, endpoint)'s list, created empty when absent. */
function listSlot(node: u32, sp: u32, ip: u32, port: u32): usize {
  const tag = node + 1;
  let i = recentHash(tag, sp, ip, port) & tableMask;
  while (true) {
    const p = tablePtr + (<usize>i << 5);
    const t = load<u32>(p);
    if (t == 0) break;
    if (t == tag && load<u32>(p, 4) == sp && load<u32>(p, 8) == ip && load<u32>(p, 12) == port) return p;
    i = (i + 1) & tableMask;
  }
  if ((tableCount + 1) * 2 > tableMask + 1) {
    const oldSize = tableMask + 1;
    tableMask = oldSize * 2 - 1;
    tablePtr = rehash(tablePtr, oldSize, 5, 0, oldSize * 2, recentHomeOf);
    i = firstEmpty(tablePtr, tableMask, 5, 0, recentHash(tag, sp, ip, port) & tableMask);
  }
  const p = tablePtr + (<usize>i << 5);
  const list = allocZeroed(8 + 4 * 8);
  store<u32>(list, 0);
  store<u32>(list, 4, 4);
  store<u32>(p, tag); store<u32>(p, sp, 4); store<u32>(p, ip, 8); store<u32>(p, port, 12); store<u32>(p, <u32>list, 16);
  tableCount++;
  return p;
}

/** `--rcheck --seconds timeout`: is `client` in the endpoint's list, seen within `timeout` seconds? */
export function recentCheck(node: u32, sp: u32, ip: u32, port: u32, client: u32, timeout: u32): bool {
  const list = findList(node, sp, ip, port);
  if (list == 0) return false;
  const count = load<u32>(list);
  for (let k: u32 = 0; k < count; k++) {
    const e = list + 8 + (<usize>k << 3);
    if (load<u32>(e) == client) return nowSeconds - load<u32>(e, 4) <= timeout;
  }
  return false;
}

/** `--set`: records `client` as seen now, most recent last; a full list first evicts its least recently seen. */
export function recentSet(node: u32, sp: u32, ip: u32, port: u32, client: u32, limit: u32): void {
  const slot = listSlot(node, sp, ip, port);
  let list = <usize>load<u32>(slot, 16);
  let count = load<u32>(list);
  // Remove the client if present (it moves to the end).
  for (let k: u32 = 0; k < count; k++) {
    const e = list + 8 + (<usize>k << 3);
    if (load<u32>(e) == client) {
      memory.copy(e, e + 8, <usize>(count - k - 1) << 3);
      count--;
      break;
    }
  }
  if (limit != 0 && count >= limit) {
    memory.copy(list + 8, list + 16, <usize>(count - 1) << 3);
    count--;
  }
  const capacity = load<u32>(list, 4);
  if (count == capacity) {
    const grown = allocZeroed(8 + (<usize>capacity << 4));
    memory.copy(grown + 8, list + 8, <usize>count << 3);
    heap.free(list);
    list = grown;
    store<u32>(list, capacity * 2, 4);
    store<u32>(slot, <u32>list, 16);
  }
  const e = list + 8 + (<usize>count << 3);
  store<u32>(e, client);
  store<u32>(e, nowSeconds, 4);
  store<u32>(list, count + 1);
}

/**
 * Drops the lists of a service-port's endpoints that are not among the `n` endpoint records at `records` (their
 * SEP chains, and with them the recent tables, are gone). `n` = 0 drops all of the service-port's lists.
 */
export function recentForgetRemoved(sp: u32, records: usize, n: u32): void {
  if (tableCount == 0) return;
  let i: u32 = 0;
  while (i <= tableMask) {
    const p = tablePtr + (<usize>i << 5);
    if (load<u32>(p) != 0 && load<u32>(p, 4) == sp) {
      const ip = load<u32>(p, 8);
      const port = load<u32>(p, 12);
      let kept = false;
      for (let k: u32 = 0; k < n; k++) {
        const r = records + (<usize>k << 4);
        if (load<u32>(r) == ip && (load<u32>(r, 4) & 0xffff) == port) { kept = true; break; }
      }
      if (!kept) {
        heap.free(<usize>load<u32>(p, 16));
        deleteShift(tablePtr, tableMask, 5, 0, i, recentHomeOf);
        tableCount--;
        continue; // a later entry may have moved into this slot
      }
    }
    i++;
  }
}

/** Number of (node, service-port, endpoint) lists. */
export function coreRecentListCount(): u32 { return tableCount; }
