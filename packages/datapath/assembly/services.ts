// The shared service tables: (protocol, address, port) → service-port id (open addressing, key with room for IPv6),
// (protocol, NodePort) → service-port id (direct-indexed), and the per-service-port policy structs.
import { allocZeroed, growZeroed, fail, ST_OK, ST_BAD_SERVICE_PORT, ST_BAD_PROTOCOL, ST_BAD_ARGUMENT, ST_NOT_FOUND, ST_CONFLICT, protoIndex } from './core-state';
import { releaseEndpoints } from './endpoints';
import { recentForgetRemoved } from './recent';
import { rehash, deleteShift, firstEmpty } from './open-addressing';
import { initIpvsFilter, serviceAddressRef } from './ipvs-filter';
import { ipSetInit, ipSetHas, ipSetCount, ipSetPtr, ipSetMask } from './ip-set';

/** Address kinds of a service address entry (how kube-proxy reached the Service through it). */
export const KIND_CLUSTER_IP: u32 = 0;
export const KIND_EXTERNAL_IP: u32 = 1;
export const KIND_LOAD_BALANCER_IP: u32 = 2;

/** Service-port flags. */
export const SP_DEFINED: u32 = 1;
export const SP_INTERNAL_LOCAL: u32 = 2;
export const SP_EXTERNAL_LOCAL: u32 = 4;
export const SP_AFFINITY: u32 = 8;
/** The Service has a NodePort, external IP or LB IP: kube-proxy computes its cluster endpoints even under iTP Local. */
export const SP_EXTERNALLY_ACCESSIBLE: u32 = 16;

// Service-port struct, 32 bytes:
//   0 flags · 4 affinity timeout (s) · 8 endpoint block · 12 endpoint count · 16 cluster-list count
//   20 Maglev tables (lazy: cluster list, then one per node group; see maglevSlot) · 24 local-group count · 28 unused
export const SP_SIZE: u32 = 32;
export let spPtr: usize = 0;
export let spCapacity: u32 = 0;
export const SP_MAX: u32 = 65535;

// Service-address table, 32-byte slots (two per cache line):
//   0 key word: port << 16 | protocol index << 8 | family (4; 0 = empty) · 4..19 address (IPv4 in the first word,
//   the other three zero: room for IPv6) · 20 service-port id · 24 kind · 28 source-range list of a load-balancer IP
//   (source-ranges.ts; 0 = none)
let svcPtr: usize = 0;
let svcMask: u32 = 0;
let svcCount: u32 = 0;

// NodePort table: u32 per (protocol index, port), value spId + 1 (0 = none).
let nodePortPtr: usize = 0;

/** The ClusterIPs (nftables' @cluster-ips), counted by entry. */
const clusterIPs: usize = memory.data(12);

export function initServices(spCap: u32, addrCap: u32): void {
  spCapacity = spCap < 1 ? 1 : spCap;
  spPtr = allocZeroed(<usize>spCapacity * SP_SIZE);
  let size: u32 = 64;
  while (size < addrCap * 2) size <<= 1;
  svcMask = size - 1;
  svcPtr = allocZeroed(<usize>size * 32);
  svcCount = 0;
  nodePortPtr = allocZeroed(3 * 65536 * 4);
  ipSetInit(clusterIPs);
  initIpvsFilter();
}

/** Whether `ip` is some service-port's ClusterIP (on any port or protocol). */
export function isClusterIP(ip: u32): bool { return ipSetHas(clusterIPs, ip); }

// @ts-ignore: decorator
@inline export function spAt(id: u32): usize { return spPtr + <usize>id * SP_SIZE; }

// @ts-ignore: decorator
@inline export function spDefined(id: u32): bool {
  return id < spCapacity && (load<u32>(spAt(id)) & SP_DEFINED) != 0;
}

/** Defines or updates a service-port's policy. Endpoints are kept. Grows the array when `id` is beyond it. Status. */
export function coreSetServicePort(id: u32, flags: u32, affinityTimeout: u32): i32 {
  if (id >= SP_MAX) return fail(ST_BAD_SERVICE_PORT, <i32>id);
  if (id >= spCapacity) {
    let next = spCapacity * 2;
    while (next <= id) next *= 2;
    if (next > SP_MAX) next = SP_MAX;
    spPtr = growZeroed(spPtr, <usize>spCapacity * SP_SIZE, <usize>next * SP_SIZE);
    spCapacity = next;
  }
  const p = spAt(id);
  store<u32>(p, (flags & (SP_INTERNAL_LOCAL | SP_EXTERNAL_LOCAL | SP_AFFINITY | SP_EXTERNALLY_ACCESSIBLE)) | SP_DEFINED);
  store<u32>(p, affinityTimeout, 4);
  return ST_OK;
}

/** Removes a service-port with its endpoints, addresses and NodePorts. Status. */
export function coreRemoveServicePort(id: u32): i32 {
  if (!spDefined(id)) return fail(ST_BAD_SERVICE_PORT, <i32>id);
  recentForgetRemoved(id, 0, 0);
  releaseEndpoints(id);
  // Drop every address and NodePort entry naming it.
  let i: u32 = 0;
  while (i <= svcMask) {
    const p = svcPtr + (<usize>i << 5);
    if (load<u32>(p) != 0 && load<u32>(p, 20) == id) {
      svcDeleteAt(i);
      continue; // the slot now holds a shifted entry: look again
    }
    i++;
  }
  for (let k: u32 = 0; k < 3 * 65536; k++) {
    const q = nodePortPtr + (<usize>k << 2);
    if (load<u32>(q) == id + 1) store<u32>(q, 0);
  }
  memory.fill(spAt(id), 0, SP_SIZE);
  return ST_OK;
}

// @ts-ignore: decorator
@inline function svcKey(pi: u32, port: u32): u32 { return (port << 16) | (pi << 8) | 4; }

// @ts-ignore: decorator
@inline function svcHash(key: u32, ip: u32): u32 {
  let h = (ip * 0x9e3779b1) ^ (key * 0x85ebca6b);
  h ^= h >>> 16;
  h *= 0x7feb352d;
  return h ^ (h >>> 15);
}
// @ts-ignore: decorator
@inline function svcHome(key: u32, ip: u32): u32 { return svcHash(key, ip) & svcMask; }
function svcHomeOf(p: usize, mask: u32): u32 { return svcHash(load<u32>(p), load<u32>(p, 4)) & mask; }

/** Slot of (protocol index, IPv4, port), or -1. */
// @ts-ignore: decorator
@inline export function findServiceSlot(pi: u32, ip: u32, port: u32): i32 {
  const key = svcKey(pi, port);
  let i = svcHome(key, ip);
  while (true) {
    const p = svcPtr + (<usize>i << 5);
    const k = load<u32>(p);
    if (k == 0) return -1;
    if (k == key && load<u32>(p, 4) == ip) return <i32>i;
    i = (i + 1) & svcMask;
  }
}

/** Address of the home slot of (protocol index, IPv4, port): where findServiceSlot starts (for touching it early). */
// @ts-ignore: decorator
@inline export function serviceHomeSlotPtr(pi: u32, ip: u32, port: u32): usize {
  return svcPtr + (<usize>svcHome(svcKey(pi, port), ip) << 5);
}

/** Service-port id at a slot returned by findServiceSlot. */
// @ts-ignore: decorator
@inline export function serviceSlotSp(slot: i32): u32 { return load<u32>(svcPtr + (<usize>slot << 5), 20); }
// @ts-ignore: decorator
@inline export function serviceSlotKind(slot: i32): u32 { return load<u32>(svcPtr + (<usize>slot << 5), 24); }
/** Source-range list of the address at a slot (loadBalancerSourceRanges; 0 = none). */
// @ts-ignore: decorator
@inline export function serviceSlotRanges(slot: i32): usize { return <usize>load<u32>(svcPtr + (<usize>slot << 5), 28); }
export function setServiceSlotRanges(slot: i32, list: usize): void { store<u32>(svcPtr + (<usize>slot << 5), <u32>list, 28); }

function svcInsert(key: u32, ip: u32, sp: u32, kind: u32): void {
  if (kind == KIND_CLUSTER_IP) ipSetCount(clusterIPs, ip, 1);
  serviceAddressRef(ip, 1);
  const p = svcPtr + (<usize>firstEmpty(svcPtr, svcMask, 5, 0, svcHome(key, ip)) << 5);
  store<u32>(p, key); store<u32>(p, ip, 4); store<u32>(p, sp, 20); store<u32>(p, kind, 24);
  svcCount++;
}

function svcDeleteAt(slot: u32): void {
  const p = svcPtr + (<usize>slot << 5);
  if (load<u32>(p, 24) == KIND_CLUSTER_IP) ipSetCount(clusterIPs, load<u32>(p, 4), -1);
  serviceAddressRef(load<u32>(p, 4), -1);
  const ranges = load<u32>(p, 28);
  if (ranges != 0) heap.free(<usize>ranges);
  deleteShift(svcPtr, svcMask, 5, 0, slot, svcHomeOf);
  svcCount--;
}

/**
 * Maps (protocol, IPv4 address, port) to a service-port: a ClusterIP, external IP or load-balancer IP. An existing
 * entry for the same key and service-port is updated; one for another service-port is a conflict (status CONFLICT,
 * detail the other id), never overwritten. Grows the table at load ½. Status.
 */
export function coreAddServiceAddress(proto: u32, ip: u32, port: u32, sp: u32, kind: u32): i32 {
  const pi = protoIndex(proto);
  if (pi < 0) return fail(ST_BAD_PROTOCOL, <i32>proto);
  if (port > 65535) return fail(ST_BAD_ARGUMENT, 3);
  if (kind > KIND_LOAD_BALANCER_IP) return fail(ST_BAD_ARGUMENT, 5);
  if (!spDefined(sp)) return fail(ST_BAD_SERVICE_PORT, <i32>sp);
  const found = findServiceSlot(<u32>pi, ip, port);
  if (found >= 0) {
    const other = serviceSlotSp(found);
    if (other != sp) return fail(ST_CONFLICT, <i32>other);
    const was = serviceSlotKind(found);
    if (was != kind && was == KIND_CLUSTER_IP) ipSetCount(clusterIPs, ip, -1);
    if (was != kind && kind == KIND_CLUSTER_IP) ipSetCount(clusterIPs, ip, 1);
    // Source ranges belong to load-balancer IPs only.
    if (kind != KIND_LOAD_BALANCER_IP && serviceSlotRanges(found) != 0) {
      heap.free(serviceSlotRanges(found));
      setServiceSlotRanges(found, 0);
    }
    store<u32>(svcPtr + (<usize>found << 5), kind, 24);
    return ST_OK;
  }
  if ((svcCount + 1) * 2 > svcMask + 1) {
    const oldSize = svcMask + 1;
    svcMask = oldSize * 2 - 1;
    svcPtr = rehash(svcPtr, oldSize, 5, 0, oldSize * 2, svcHomeOf);
  }
  svcInsert(svcKey(<u32>pi, port), ip, sp, kind);
  return ST_OK;
}

/** Removes a service address. Status (NOT_FOUND if absent). */
export function coreRemoveServiceAddress(proto: u32, ip: u32, port: u32): i32 {
  const pi = protoIndex(proto);
  if (pi < 0) return fail(ST_BAD_PROTOCOL, <i32>proto);
  const found = findServiceSlot(<u32>pi, ip, port);
  if (found < 0) return fail(ST_NOT_FOUND, <i32>ip);
  svcDeleteAt(<u32>found);
  return ST_OK;
}

export function coreServiceAddressCount(): u32 { return svcCount; }
export function coreServiceTableBytes(): u32 { return (svcMask + 1) * 32; }

/** Service-port of (protocol index, NodePort), or -1. */
// @ts-ignore: decorator
@inline export function nodePortSp(pi: u32, port: u32): i32 {
  return <i32>load<u32>(nodePortPtr + ((<usize>pi << 18) | (<usize>(port & 0xffff) << 2))) - 1;
}

/** Sets (sp ≥ 0) or clears (sp = 0xFFFFFFFF) a NodePort. Another service-port on it is a CONFLICT. Status. */
export function coreSetNodePort(proto: u32, port: u32, sp: u32): i32 {
  const pi = protoIndex(proto);
  if (pi < 0) return fail(ST_BAD_PROTOCOL, <i32>proto);
  if (port == 0 || port > 65535) return fail(ST_BAD_ARGUMENT, 3);
  const q = nodePortPtr + ((<usize>pi << 18) | (<usize>port << 2));
  if (sp == 0xffffffff) { store<u32>(q, 0); return ST_OK; }
  if (!spDefined(sp)) return fail(ST_BAD_SERVICE_PORT, <i32>sp);
  const cur = load<u32>(q);
  if (cur != 0 && cur != sp + 1) return fail(ST_CONFLICT, <i32>(cur - 1));
  store<u32>(q, sp + 1);
  return ST_OK;
}

/** 0: service table address, 1: its mask, 2: NodePort table address, 3: ClusterIP set address, 4: its mask. */
export function svcTableLayout(which: u32): u32 {
  switch (which) {
    case 0: return <u32>svcPtr;
    case 1: return svcMask;
    case 2: return <u32>nodePortPtr;
    case 3: return <u32>ipSetPtr(clusterIPs);
    default: return ipSetMask(clusterIPs);
  }
}
