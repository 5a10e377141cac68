// IPVS least-connection bookkeeping: per (node, virtual server, destination) active and inactive connection counts,
// kept from the node's conntrack entries (IPVS's own connection table in the kernel). A virtual server is a
// (service-port, address) pair: the ClusterIP, or one node address with the NodePort. TCP connections count inactive until
// assured (the kernel's IP_VS_CONN_F_INACTIVE until ESTABLISHED), UDP and SCTP count active.
import { allocZeroed } from './core-state';
import { rehash, firstEmpty } from './open-addressing';

// 32-byte slots: node + 1 (0 = empty), service-port, virtual-server address, endpoint id, active, inactive, 0, 0.
let lcPtr: usize = 0;
let lcMask: u32 = 0;
let lcCount: u32 = 0;

export function initLc(): void {
  lcMask = 255;
  lcPtr = allocZeroed(<usize>(lcMask + 1) << 5);
  lcCount = 0;
}

// @ts-ignore: decorator
@inline function lcHash(tag: u32, sp: u32, vs: u32, ep: u32): u32 {
  let h = (ep * 0x9e3779b1) ^ (tag * 0x85ebca6b) ^ (sp * 0xc2b2ae35) ^ vs;
  h ^= h >>> 16;
  h *= 0x7feb352d;
  return h ^ (h >>> 15);
}
function lcHomeOf(p: usize, mask: u32): u32 { return lcHash(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12)) & mask; }

/** Slot address of (node, service-port, virtual-server address, endpoint id), created at zero when absent. */
export function lcSlot(node: u32, sp: u32, vs: u32, ep: u32): usize {
  const tag = node + 1;
  let i = lcHash(tag, sp, vs, ep) & lcMask;
  while (true) {
    const p = lcPtr + (<usize>i << 5);
    const t = load<u32>(p);
    if (t == tag && load<u32>(p, 4) == sp && load<u32>(p, 8) == vs && load<u32>(p, 12) == ep) return p;
    if (t == 0) break;
    i = (i + 1) & lcMask;
  }
  if ((lcCount + 1) * 2 > lcMask + 1) {
    const oldSize = lcMask + 1;
    lcMask = oldSize * 2 - 1;
    lcPtr = rehash(lcPtr, oldSize, 5, 0, oldSize * 2, lcHomeOf);
    i = firstEmpty(lcPtr, lcMask, 5, 0, lcHash(tag, sp, vs, ep) & lcMask);
  }
  const p = lcPtr + (<usize>i << 5);
  store<u32>(p, tag); store<u32>(p, sp, 4); store<u32>(p, vs, 8); store<u32>(p, ep, 12);
  store<u32>(p, 0, 16); store<u32>(p, 0, 20);
  lcCount++;
  return p;
}

/** IPVS's overhead of a destination: activeconns × 256 + inactconns. */
export function lcOverhead(node: u32, sp: u32, vs: u32, ep: u32): u32 {
  const p = lcSlot(node, sp, vs, ep);
  return (load<u32>(p, 16) << 8) + load<u32>(p, 20);
}

/** A connection was bound to a destination. */
export function lcBind(node: u32, sp: u32, vs: u32, ep: u32, active: bool): void {
  const p = lcSlot(node, sp, vs, ep);
  if (active) store<u32>(p, load<u32>(p, 16) + 1, 16); else store<u32>(p, load<u32>(p, 20) + 1, 20);
}

/** An inactive TCP connection became established. */
export function lcActivate(node: u32, sp: u32, vs: u32, ep: u32): void {
  const p = lcSlot(node, sp, vs, ep);
  store<u32>(p, load<u32>(p, 20) - 1, 20);
  store<u32>(p, load<u32>(p, 16) + 1, 16);
}

/** A connection left the table. */
export function lcUnbind(node: u32, sp: u32, vs: u32, ep: u32, active: bool): void {
  const p = lcSlot(node, sp, vs, ep);
  if (active) store<u32>(p, load<u32>(p, 16) - 1, 16); else store<u32>(p, load<u32>(p, 20) - 1, 20);
}

/** Active (which = 0) or inactive (1) connections of a destination, for inspection. */
export function coreLcConnections(node: u32, sp: u32, vs: u32, ep: u32, which: u32): u32 {
  const p = lcSlot(node, sp, vs, ep);
  return which == 0 ? load<u32>(p, 16) : load<u32>(p, 20);
}
