// ipvs mode's filter-table chain KUBE-IPVS-FILTER (hooked from INPUT), for a new connection that met no virtual
// server: RETURN for the health-check node ports (ipset KUBE-HEALTH-CHECK-NODE-PORT, bitmap:port — the port alone,
// any address and protocol), else REJECT when the destination is in KUBE-IPVS-IPS, the addresses bound to the dummy
// interface kube-ipvs0 (every ClusterIP, external IP and load-balancer IP that is not one of the node's own).
// The (ip, proto:port) RETURN rules before them are the virtual servers the batch already found.
import { allocZeroed, fail, ST_OK, ST_BAD_ARGUMENT } from './core-state';
import { rehash, deleteShift, firstEmpty } from './open-addressing';
import { localAddressFlags, ADDR_KUBE_IPVS0 } from './nodes';

// Addresses of every service-address entry, of any kind: 8-byte slots (entries on the address, IPv4); an entry
// count of 0 is an empty slot.
let addrSetPtr: usize = 0;
let addrSetMask: u32 = 0;
let addrSetCount: u32 = 0;

// KUBE-HEALTH-CHECK-NODE-PORT: one bit per port.
let healthCheckPorts: usize = 0;

export function initIpvsFilter(): void {
  addrSetMask = 63;
  addrSetPtr = allocZeroed(<usize>(addrSetMask + 1) << 3);
  addrSetCount = 0;
  healthCheckPorts = allocZeroed(65536 >>> 3);
}

// @ts-ignore: decorator
@inline function addrSetHash(ip: u32): u32 {
  let h = ip * 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}
function addrSetHomeOf(p: usize, mask: u32): u32 { return addrSetHash(load<u32>(p, 4)) & mask; }

/** Whether some service-address entry (ClusterIP, external IP or load-balancer IP, any port) is on `ip`. */
export function isServiceAddress(ip: u32): bool {
  let i = addrSetHash(ip) & addrSetMask;
  while (true) {
    const p = addrSetPtr + (<usize>i << 3);
    if (load<u32>(p) == 0) return false;
    if (load<u32>(p, 4) == ip) return true;
    i = (i + 1) & addrSetMask;
  }
}

/** One more (delta 1) or one less (−1) service-address entry on `ip`. */
export function serviceAddressRef(ip: u32, delta: i32): void {
  let i = addrSetHash(ip) & addrSetMask;
  while (true) {
    const p = addrSetPtr + (<usize>i << 3);
    const refs = <i32>load<u32>(p);
    if (refs == 0) break;
    if (load<u32>(p, 4) == ip) {
      if (refs + delta > 0) store<u32>(p, <u32>(refs + delta));
      else { deleteShift(addrSetPtr, addrSetMask, 3, 0, i, addrSetHomeOf); addrSetCount--; }
      return;
    }
    i = (i + 1) & addrSetMask;
  }
  if (delta <= 0) return;
  if ((addrSetCount + 1) * 2 > addrSetMask + 1) {
    const oldSize = addrSetMask + 1;
    addrSetMask = oldSize * 2 - 1;
    addrSetPtr = rehash(addrSetPtr, oldSize, 3, 0, oldSize * 2, addrSetHomeOf);
  }
  const p = addrSetPtr + (<usize>firstEmpty(addrSetPtr, addrSetMask, 3, 0, addrSetHash(ip) & addrSetMask) << 3);
  store<u32>(p, <u32>delta); store<u32>(p, ip, 4);
  addrSetCount++;
}

/** Whether `port` is in KUBE-HEALTH-CHECK-NODE-PORT. */
// @ts-ignore: decorator
@inline export function isHealthCheckNodePort(port: u32): bool {
  return (load<u8>(healthCheckPorts + <usize>((port & 0xffff) >>> 3)) & (1 << (port & 7))) != 0;
}

/** Adds (on ≠ 0) or removes `port` (1…65535) from KUBE-HEALTH-CHECK-NODE-PORT. Status. */
export function coreSetHealthCheckNodePort(port: u32, on: u32): i32 {
  if (port == 0 || port > 65535) return fail(ST_BAD_ARGUMENT, 1);
  const p = healthCheckPorts + <usize>(port >>> 3);
  const cur = <u32>load<u8>(p);
  const bit: u32 = 1 << (port & 7);
  store<u8>(p, on != 0 ? cur | bit : cur & ~bit);
  return ST_OK;
}

/**
 * KUBE-IPVS-FILTER's verdict on a new connection to `dst`:`dport` on an ipvs node that found no virtual server:
 * true to REJECT. `dst` is on kube-ipvs0 when it is a service address that is not an address of the node's own: not
 * local on `node`, or local as bound to kube-ipvs0 (kube-proxy binds no external or load-balancer IP that some other
 * interface of the node has).
 */
export function ipvsFilterRejects(node: u32, dst: u32, dport: u32): bool {
  if (isHealthCheckNodePort(dport) || !isServiceAddress(dst)) return false;
  const flags = localAddressFlags(node, dst);
  return flags == 0 || (flags & ADDR_KUBE_IPVS0) != 0;
}
