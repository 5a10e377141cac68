// A counted set of IPv4 addresses: how many table entries stand on each address, so an address leaves the set with
// its last entry. Open addressing (linear probing, backward-shift deletion), 8-byte slots (count, address; count 0 =
// empty), grown at half load. The ClusterIP set (nftables' @cluster-ips) and the service addresses ipvs mode binds
// to kube-ipvs0 (KUBE-IPVS-IPS) are two of these. A set is a 12-byte descriptor: table address, mask, addresses held.
import { allocZeroed } from './core-state';
import { rehash, deleteShift, firstEmpty } from './open-addressing';

/** Slot size 1 << 3 bytes: word 0 the count, word 1 the address (read by the TypeScript kernel). */
const SHIFT: u32 = 3;

// @ts-ignore: decorator
@inline function ipSetHash(ip: u32): u32 {
  const h = ip * 0x9e3779b1;
  return h ^ (h >>> 16);
}
function ipSetHomeOf(p: usize, mask: u32): u32 { return ipSetHash(load<u32>(p, 4)) & mask; }

// @ts-ignore: decorator
@inline export function ipSetPtr(set: usize): usize { return <usize>load<u32>(set); }
// @ts-ignore: decorator
@inline export function ipSetMask(set: usize): u32 { return load<u32>(set, 4); }

/** An empty set in the descriptor at `set`. */
export function ipSetInit(set: usize): void {
  store<u32>(set, <u32>allocZeroed(64 << SHIFT));
  store<u32>(set, 63, 4);
  store<u32>(set, 0, 8);
}

/** Whether some entry stands on `ip`. */
export function ipSetHas(set: usize, ip: u32): bool {
  const ptr = ipSetPtr(set);
  const mask = ipSetMask(set);
  let i = ipSetHash(ip) & mask;
  while (true) {
    const p = ptr + (<usize>i << SHIFT);
    if (load<u32>(p) == 0) return false;
    if (load<u32>(p, 4) == ip) return true;
    i = (i + 1) & mask;
  }
}

/** One more (delta 1) or one less (−1) entry on `ip`. */
export function ipSetCount(set: usize, ip: u32, delta: i32): void {
  let ptr = ipSetPtr(set);
  let mask = ipSetMask(set);
  let i = ipSetHash(ip) & mask;
  while (true) {
    const p = ptr + (<usize>i << SHIFT);
    const refs = <i32>load<u32>(p);
    if (refs == 0) break;
    if (load<u32>(p, 4) == ip) {
      if (refs + delta > 0) store<u32>(p, <u32>(refs + delta));
      else {
        deleteShift(ptr, mask, SHIFT, 0, i, ipSetHomeOf);
        store<u32>(set, load<u32>(set, 8) - 1, 8);
      }
      return;
    }
    i = (i + 1) & mask;
  }
  if (delta <= 0) return;
  const count = load<u32>(set, 8);
  if ((count + 1) * 2 > mask + 1) {
    const oldSize = mask + 1;
    mask = oldSize * 2 - 1;
    ptr = rehash(ptr, oldSize, SHIFT, 0, oldSize * 2, ipSetHomeOf);
    store<u32>(set, <u32>ptr);
    store<u32>(set, mask, 4);
  }
  const p = ptr + (<usize>firstEmpty(ptr, mask, SHIFT, 0, ipSetHash(ip) & mask) << SHIFT);
  store<u32>(p, <u32>delta);
  store<u32>(p, ip, 4);
  store<u32>(set, count + 1, 8);
}
