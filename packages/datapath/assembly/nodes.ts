// Per-node configuration (how that node's kube-proxy runs) and per-node local-address sets (the `--dst-type LOCAL`
// question). Node structs are an array indexed by node id; local addresses share one open-addressing table keyed by
// (node, IPv4).
import { allocZeroed, growZeroed, fail, ST_OK, ST_BAD_NODE, ST_BAD_ARGUMENT, ST_NOT_FOUND, ST_TOO_LARGE } from './core-state';
import { rehash, deleteShift } from './open-addressing';

/** Proxy modes. */
export const MODE_IPTABLES: u32 = 0;
export const MODE_NFTABLES: u32 = 1;
export const MODE_IPVS: u32 = 2;
/** IPVS schedulers. */
export const SCHED_RR: u32 = 0;
export const SCHED_LC: u32 = 1;
export const SCHED_SH: u32 = 2;
export const SCHED_MH: u32 = 3;

/** Node flags. */
export const NODE_DEFINED: u32 = 1;
export const NODE_MASQUERADE_ALL: u32 = 2;
export const NODE_LOCALHOST_NODEPORTS: u32 = 4;
export const NODE_HAS_DETECTOR: u32 = 8;
export const NODE_HAS_SERVICE_CIDR: u32 = 16;

/** Local-address flags. */
export const ADDR_LOCAL: u32 = 1;
export const ADDR_NODEPORT: u32 = 2;
/** ipvs mode: bound to kube-ipvs0 by kube-proxy (a Service's address), not one of the node's own (ipvs-filter.ts). */
export const ADDR_KUBE_IPVS0: u32 = 4;

// Node struct, 32 bytes: flags, mode, scheduler, detector base, detector mask, service CIDR base, service CIDR mask.
export const NODE_SIZE: u32 = 32;
/** Most nodes per instance: a packet record names its node in 16 bits (ids 0…65,534). */
export const NODE_MAX: u32 = 65535;
export let nodesPtr: usize = 0;
export let nodeCapacity: u32 = 0;
export let nodeCount: u32 = 0;

// Local-address table: 16-byte slots (node + 1, ip, flags, unused); 0 in the first word is empty.
let addrPtr: usize = 0;
let addrMask: u32 = 0;
let addrCount: u32 = 0;

export function initNodes(capacity: u32): void {
  nodeCapacity = capacity < 1 ? 1 : capacity;
  nodesPtr = allocZeroed(<usize>nodeCapacity * NODE_SIZE);
  nodeCount = 0;
  addrMask = 63;
  addrPtr = allocZeroed(<usize>(addrMask + 1) * 16);
  addrCount = 0;
}

// @ts-ignore: decorator
@inline export function nodeAt(node: u32): usize { return nodesPtr + <usize>node * NODE_SIZE; }

// @ts-ignore: decorator
@inline export function nodeDefined(node: u32): bool {
  return node < nodeCount && (load<u32>(nodeAt(node)) & NODE_DEFINED) != 0;
}

/** Checks node arguments; 0 or the failing status. */
function checkNodeArguments(mode: u32, scheduler: u32, detectorPrefix: u32, serviceCidrPrefix: u32): i32 {
  if (mode > MODE_IPVS) return fail(ST_BAD_ARGUMENT, 1);
  if (scheduler > SCHED_MH) return fail(ST_BAD_ARGUMENT, 2);
  if (detectorPrefix > 32) return fail(ST_BAD_ARGUMENT, 4);
  if (serviceCidrPrefix > 32) return fail(ST_BAD_ARGUMENT, 6);
  return ST_OK;
}

// @ts-ignore: decorator
@inline function prefixMask(prefix: u32): u32 { return prefix == 0 ? 0 : (0xffffffff << (32 - prefix)); }

function writeNode(node: u32, mode: u32, scheduler: u32, flags: u32, detectorBase: u32, detectorPrefix: u32,
  serviceCidrBase: u32, serviceCidrPrefix: u32): void {
  const p = nodeAt(node);
  const mask = prefixMask(detectorPrefix);
  const smask = prefixMask(serviceCidrPrefix);
  store<u32>(p, (flags & (NODE_MASQUERADE_ALL | NODE_LOCALHOST_NODEPORTS | NODE_HAS_DETECTOR | NODE_HAS_SERVICE_CIDR)) | NODE_DEFINED, 0);
  store<u32>(p, mode, 4);
  store<u32>(p, scheduler, 8);
  store<u32>(p, detectorBase & mask, 12);
  store<u32>(p, mask, 16);
  store<u32>(p, serviceCidrBase & smask, 20);
  store<u32>(p, smask, 24);
}

/** Adds a node; returns its id (≥ 0) or −status. Grows the node array as needed. */
export function coreAddNode(mode: u32, scheduler: u32, flags: u32, detectorBase: u32, detectorPrefix: u32,
  serviceCidrBase: u32, serviceCidrPrefix: u32): i32 {
  const status = checkNodeArguments(mode, scheduler, detectorPrefix, serviceCidrPrefix);
  if (status != ST_OK) return -status;
  // Conntrack tags hold node + 1 in 24 bits.
  if (nodeCount >= NODE_MAX) return -fail(ST_TOO_LARGE, <i32>nodeCount);
  if (nodeCount == nodeCapacity) {
    const next = nodeCapacity * 2;
    nodesPtr = growZeroed(nodesPtr, <usize>nodeCapacity * NODE_SIZE, <usize>next * NODE_SIZE);
    nodeCapacity = next;
  }
  const id = nodeCount++;
  writeNode(id, mode, scheduler, flags, detectorBase, detectorPrefix, serviceCidrBase, serviceCidrPrefix);
  return <i32>id;
}

/** Reconfigures a node in place (a kube-proxy restart with new flags). Status. */
export function coreConfigureNode(node: u32, mode: u32, scheduler: u32, flags: u32, detectorBase: u32, detectorPrefix: u32,
  serviceCidrBase: u32, serviceCidrPrefix: u32): i32 {
  if (!nodeDefined(node)) return fail(ST_BAD_NODE, <i32>node);
  const status = checkNodeArguments(mode, scheduler, detectorPrefix, serviceCidrPrefix);
  if (status != ST_OK) return status;
  writeNode(node, mode, scheduler, flags, detectorBase, detectorPrefix, serviceCidrBase, serviceCidrPrefix);
  return ST_OK;
}

// @ts-ignore: decorator
@inline function addrHash(node: u32, ip: u32): u32 {
  let h = (ip ^ (node * 0x9e3779b9)) * 0x85ebca6b;
  return h ^ (h >>> 15);
}
// @ts-ignore: decorator
@inline function addrSlot(node: u32, ip: u32): u32 { return addrHash(node, ip) & addrMask; }
function addrHomeOf(p: usize, mask: u32): u32 { return addrHash(load<u32>(p) - 1, load<u32>(p, 4)) & mask; }

/** Flags of `ip` on `node` (0 when the address is not local). */
export function localAddressFlags(node: u32, ip: u32): u32 {
  let i = addrSlot(node, ip);
  const tag = node + 1;
  while (true) {
    const p = addrPtr + (<usize>i << 4);
    const t = load<u32>(p);
    if (t == 0) return 0;
    if (t == tag && load<u32>(p, 4) == ip) return load<u32>(p, 8);
    i = (i + 1) & addrMask;
  }
}

function addrInsert(tag: u32, ip: u32, flags: u32): void {
  let i = addrSlot(tag - 1, ip);
  while (true) {
    const p = addrPtr + (<usize>i << 4);
    const t = load<u32>(p);
    if (t == 0 || (t == tag && load<u32>(p, 4) == ip)) {
      if (t == 0) addrCount++;
      store<u32>(p, tag); store<u32>(p, ip, 4); store<u32>(p, flags, 8);
      return;
    }
    i = (i + 1) & addrMask;
  }
}

/**
 * Marks `ip` as local on `node`; flags bit 1 also accepts NodePorts on it, bit 2 says kube-proxy bound it to
 * kube-ipvs0. Replaces earlier flags. Status.
 */
export function coreSetLocalAddress(node: u32, ip: u32, flags: u32): i32 {
  if (!nodeDefined(node)) return fail(ST_BAD_NODE, <i32>node);
  if ((addrCount + 1) * 2 > addrMask + 1) {
    const oldSize = addrMask + 1;
    addrMask = oldSize * 2 - 1;
    addrPtr = rehash(addrPtr, oldSize, 4, 0, oldSize * 2, addrHomeOf);
  }
  addrInsert(node + 1, ip, (flags & (ADDR_NODEPORT | ADDR_KUBE_IPVS0)) | ADDR_LOCAL);
  return ST_OK;
}

/** Removes a local address (backward-shift deletion keeps probe chains intact). Status. */
export function coreRemoveLocalAddress(node: u32, ip: u32): i32 {
  if (!nodeDefined(node)) return fail(ST_BAD_NODE, <i32>node);
  const tag = node + 1;
  let i = addrSlot(node, ip);
  while (true) {
    const p = addrPtr + (<usize>i << 4);
    const t = load<u32>(p);
    if (t == 0) return fail(ST_NOT_FOUND, <i32>ip);
    if (t == tag && load<u32>(p, 4) == ip) break;
    i = (i + 1) & addrMask;
  }
  deleteShift(addrPtr, addrMask, 4, 0, i, addrHomeOf);
  addrCount--;
  return ST_OK;
}

/** 0: local-address table address, 1: its mask (for the TypeScript typed-array kernel). */
export function addrTableLayout(which: u32): u32 { return which == 0 ? <u32>addrPtr : addrMask; }
