// IPVS least-connection bookkeeping: per (node, endpoint id) active and inactive connection counts, kept from the
// node's conntrack entries (IPVS's own connection table in the kernel). TCP connections count inactive until
// assured (the kernel's IP_VS_CONN_F_INACTIVE until ESTABLISHED), UDP and SCTP count active.
import { allocZeroed } from './core-state';
import { rehash, firstEmpty } from './open-addressing';

// 16-byte slots: node + 1 (0 = empty), endpoint id, active, inactive.
let lcPtr: usize = 0;
let lcMask: u32 = 0;
let lcCount: u32 = 0;

export function initLc(): void {
  lcMask = 255;
  lcPtr = allocZeroed(<usize>(lcMask + 1) << 4);
  lcCount = 0;
}

// @ts-ignore: decorator
@inline function lcHash(tag: u32, ep: u32): u32 {
  let h = (ep * 0x9e3779b1) ^ (tag * 0x85ebca6b);
  return h ^ (h >>> 15);
}
// @ts-ignore: decorator
@inline function lcHome(tag: u32, ep: u32): u32 { return lcHash(tag, ep) & lcMask; }
function lcHomeOf(p: usize, mask: u32): u32 { return lcHash(load<u32>(p), load<u32>(p, 4)) & mask; }

/** Slot address of (node, endpoint id), created at zero when absent. */
export function lcSlot(node: u32, ep: u32): usize {
  const tag = node + 1;
  let i = lcHome(tag, ep);
  while (true) {
    const p = lcPtr + (<usize>i << 4);
    const t = load<u32>(p);
    if (t == tag && load<u32>(p, 4) == ep) return p;
    if (t == 0) break;
    i = (i + 1) & lcMask;
  }
  if ((lcCount + 1) * 2 > lcMask + 1) {
    const oldSize = lcMask + 1;
    lcMask = oldSize * 2 - 1;
    lcPtr = rehash(lcPtr, oldSize, 4, 0, oldSize * 2, lcHomeOf);
    i = firstEmpty(lcPtr, lcMask, 4, 0, lcHome(tag, ep));
  }
  const p = lcPtr + (<usize>i << 4);
  store<u32>(p, tag); store<u32>(p, ep, 4); store<u32>(p, 0, 8); store<u32>(p, 0, 12);
  lcCount++;
  return p;
}

/** IPVS's overhead of a destination: activeconns × 256 + inactconns. */
export function lcOverhead(node: u32, ep: u32): u32 {
  const p = lcSlot(node, ep);
  return (load<u32>(p, 8) << 8) + load<u32>(p, 12);
}

/** A connection was bound to (node, ep). */
export function lcBind(node: u32, ep: u32, active: bool): void {
  const p = lcSlot(node, ep);
  if (active) store<u32>(p, load<u32>(p, 8) + 1, 8); else store<u32>(p, load<u32>(p, 12) + 1, 12);
}

/** An inactive TCP connection became established. */
export function lcActivate(node: u32, ep: u32): void {
  const p = lcSlot(node, ep);
  store<u32>(p, load<u32>(p, 12) - 1, 12);
  store<u32>(p, load<u32>(p, 8) + 1, 8);
}

/** A connection left the table. */
export function lcUnbind(node: u32, ep: u32, active: bool): void {
  const p = lcSlot(node, ep);
  if (active) store<u32>(p, load<u32>(p, 8) - 1, 8); else store<u32>(p, load<u32>(p, 12) - 1, 12);
}

/** Active (which = 0) or inactive (1) connections of (node, ep), for inspection. */
export function coreLcConnections(node: u32, ep: u32, which: u32): u32 {
  const p = lcSlot(node, ep);
  return which == 0 ? load<u32>(p, 8) : load<u32>(p, 12);
}
