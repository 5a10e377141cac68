// spec.loadBalancerSourceRanges: the firewall kube-proxy puts in front of a Service's load-balancer IPs. Each
// load-balancer address entry with ranges points (word 28 of its service-table slot, 0 = none) at a short list of
// (base, mask) pairs; the check runs only for new connections to such an entry, so every other packet pays one
// load from a line it has already read. "Allow from node" depends on the node's primary IP, kept per node here.
import { fail, ST_OK, ST_BAD_NODE, ST_BAD_PROTOCOL, ST_BAD_ARGUMENT, ST_NOT_FOUND, ST_TOO_LARGE, protoIndex, allocZeroed, growZeroed } from './core-state';
import { nodeDefined, MODE_IPTABLES, MODE_IPVS } from './nodes';
import { findServiceSlot, serviceSlotSp, serviceSlotKind, serviceSlotRanges, setServiceSlotRanges, KIND_LOAD_BALANCER_IP } from './services';

/** Most source ranges per load-balancer address. */
export const MAX_SOURCE_RANGES: u32 = 4096;

// Range list: count, then count × (base, mask); base already masked.
// Node IPs: 8 bytes per node id (1 = set, IPv4), grown on demand.
let nodeIPPtr: usize = 0;
let nodeIPCapacity: u32 = 0;

/**
 * Sets (has = 1) or clears (has = 0) a node's primary IP (kube-proxy's node IP): a source range containing it
 * also allows the Service's load-balancer IPs as sources on that node. Status.
 */
export function coreSetNodeIP(node: u32, ip: u32, has: u32): i32 {
  if (!nodeDefined(node)) return fail(ST_BAD_NODE, <i32>node);
  if (node >= nodeIPCapacity) {
    let next: u32 = nodeIPCapacity < 8 ? 8 : nodeIPCapacity;
    while (next <= node) next *= 2;
    nodeIPPtr = growZeroed(nodeIPPtr, <usize>nodeIPCapacity << 3, <usize>next << 3);
    nodeIPCapacity = next;
  }
  const p = nodeIPPtr + (<usize>node << 3);
  store<u32>(p, has != 0 ? 1 : 0);
  store<u32>(p, has != 0 ? ip : 0, 4);
  return ST_OK;
}

/**
 * Replaces the source ranges of the load-balancer address (protocol, IPv4, port) with `count` (base, prefix
 * length) u32 pairs at `ptr`; count 0 removes them (every source allowed). NOT_FOUND for no such address,
 * BAD_ARGUMENT (detail 3) for a port over 65535, (5) when it is not a load-balancer IP, (6) for a prefix length over
 * 32; TOO_LARGE over MAX_SOURCE_RANGES. Status.
 */
export function coreSetSourceRanges(proto: u32, ip: u32, port: u32, ptr: usize, count: u32): i32 {
  const pi = protoIndex(proto);
  if (pi < 0) return fail(ST_BAD_PROTOCOL, <i32>proto);
  if (port > 65535) return fail(ST_BAD_ARGUMENT, 3);
  const slot = findServiceSlot(<u32>pi, ip, port);
  if (slot < 0) return fail(ST_NOT_FOUND, <i32>ip);
  if (serviceSlotKind(slot) != KIND_LOAD_BALANCER_IP) return fail(ST_BAD_ARGUMENT, 5);
  if (count > MAX_SOURCE_RANGES) return fail(ST_TOO_LARGE, <i32>count);
  for (let k: u32 = 0; k < count; k++) if (load<u32>(ptr + (<usize>k << 3), 4) > 32) return fail(ST_BAD_ARGUMENT, 6);
  const old = serviceSlotRanges(slot);
  if (old != 0) heap.free(old);
  let list: usize = 0;
  if (count > 0) {
    list = allocZeroed(4 + (<usize>count << 3));
    store<u32>(list, count);
    for (let k: u32 = 0; k < count; k++) {
      const q = ptr + (<usize>k << 3);
      const prefix = load<u32>(q, 4);
      const mask: u32 = prefix == 0 ? 0 : 0xffffffff << (32 - prefix);
      store<u32>(list + 4 + (<usize>k << 3), load<u32>(q) & mask);
      store<u32>(list + 8 + (<usize>k << 3), mask);
    }
  }
  setServiceSlotRanges(slot, list);
  return ST_OK;
}

function inRanges(list: usize, ip: u32): bool {
  const n = load<u32>(list);
  for (let k: u32 = 0; k < n; k++) {
    const q = list + 4 + (<usize>k << 3);
    if ((ip & load<u32>(q, 4)) == load<u32>(q)) return true;
  }
  return false;
}

/** Whether `node`'s primary IP is in the list (kube-proxy's allowFromNode). */
function allowFromNode(list: usize, node: u32): bool {
  if (node >= nodeIPCapacity) return false;
  const p = nodeIPPtr + (<usize>node << 3);
  return load<u32>(p) != 0 && inRanges(list, load<u32>(p, 4));
}

/**
 * Whether a new connection from `src` to the load-balancer address `dst`:`dport` (service-port `sp`, range list
 * `list`) passes the node's firewall. `clusterEndpoints` is the number of usable endpoints cluster-wide.
 * - iptables: KUBE-FW-… exists only while the Service has endpoints (without, KUBE-EXTERNAL-SERVICES rejects);
 *   it accepts the ranges and, with allowFromNode, every load-balancer IP of the service-port as a source; what it
 *   does not accept stays un-DNATed and KUBE-PROXY-FIREWALL drops it (INPUT, FORWARD and OUTPUT).
 * - nftables: firewall-check runs before DNAT whatever the endpoints: `ip saddr != { ranges, [LB IPs] } drop`.
 * - ipvs: KUBE-PROXY-FIREWALL is on INPUT and FORWARD only: the ranges, or the address itself as the source with
 *   allowFromNode, return, the rest is dropped; a host process's connection (OUTPUT) meets KUBE-IPVS-OUT-FILTER
 *   instead, which drops only a source equal to the address (a process's source on kube-ipvs0) without allowFromNode.
 */
export function sourceRangesAllow(list: usize, mode: u32, node: u32, host: bool, src: u32, dst: u32, pi: u32, dport: u32, sp: u32,
  clusterEndpoints: u32): bool {
  if (mode == MODE_IPVS) {
    if (host) return src != dst || allowFromNode(list, node);
    return inRanges(list, src) || (src == dst && allowFromNode(list, node));
  }
  if (mode == MODE_IPTABLES && clusterEndpoints == 0) return true;
  if (inRanges(list, src)) return true;
  if (!allowFromNode(list, node)) return false;
  const s = findServiceSlot(pi, src, dport);
  return s >= 0 && serviceSlotSp(s) == sp && serviceSlotKind(s) == KIND_LOAD_BALANCER_IP;
}
