// The batch entry point: N packets in, N results out, one call. Each packet names its node and how it arrived.
import { nowSeconds } from './core-state';
import { ctHash } from './hash';
import { nodeCount, nodeDefined, nodeAt, localAddressFlags, NODE_MASQUERADE_ALL, NODE_LOCALHOST_NODEPORTS, NODE_HAS_DETECTOR,
  ADDR_NODEPORT, MODE_IPTABLES, MODE_IPVS, MODE_NFTABLES, SCHED_LC, NODE_HAS_SERVICE_CIDR } from './nodes';
import { findServiceSlot, serviceHomeSlotPtr, isClusterIP, serviceSlotSp, serviceSlotKind, serviceSlotRanges, nodePortSp, spAt, KIND_CLUSTER_IP, SP_INTERNAL_LOCAL,
  SP_EXTERNAL_LOCAL, SP_AFFINITY, SP_EXTERNALLY_ACCESSIBLE } from './services';
import { epBlock, epCount, clusterCount, groupCount, clusterListPtr, localList } from './endpoints';
import { ctFind, ctSlotHolds, ctReserve, ctWrite, ctTouch, ctTimeout, ctEvicted, ctSlotPtr, ctPtr, ctMask, ctCount, ctMax, CT_SNAT, CT_LC, CT_ASSURED, CT_FLAGS_MASK } from './conntrack';
import { choose, affinityHit, randomPick } from './select';
import { lcBind } from './ipvs-lc';
import { sourceRangesAllow } from './source-ranges';
import { ipvsFilterRejects } from './ipvs-filter';

/**
 * Packet record, 16 bytes: node | arrival << 16 | protocol << 24 · source IPv4 · destination IPv4 · source port << 16
 * | destination port. Packed so that a record is a quarter line and the last word is conntrack's port key as it is.
 */
export const PACKET_SIZE: u32 = 16;
/**
 * Result record, 16 bytes: verdict | flags << 8 · destination IPv4 · endpoint id · destination port | service-port
 * id << 16 (0xffff: none). With the 16-byte packets, against 32 / 24-byte records: established +10–18 % at 64k
 * flows, +4–8 % at 1M (same-process A/B; docs/core.md, third pass).
 */
export const RESULT_SIZE: u32 = 16;

export const ARRIVAL_POD: u32 = 0;
export const ARRIVAL_HOST: u32 = 1;
export const ARRIVAL_EXTERNAL: u32 = 2;

export const V_PASS: u32 = 0;
export const V_DNAT: u32 = 1;
export const V_REJECT: u32 = 2;
export const V_DROP: u32 = 3;
export const V_DROP_CONNTRACK_FULL: u32 = 4;
export const V_INVALID: u32 = 5;

export const F_MASQUERADE: u32 = 1;
export const F_SNAT: u32 = 2;
export const F_CONNTRACK_HIT: u32 = 4;
export const F_AFFINITY: u32 = 8;
export const F_EARLY_DROP: u32 = 16;
export const F_NODEPORT: u32 = 32;
export const F_LOCAL_POLICY: u32 = 64;
/** Dropped by the Service's loadBalancerSourceRanges firewall. */
export const F_SOURCE_RANGES: u32 = 128;

const NONE: u32 = 0xffffffff;
// A conntrack hit copies the entry's SNAT bit into the result flags as it is.
assert(CT_SNAT == F_SNAT);
const localOut: usize = memory.data(8);

// @ts-ignore: decorator
@inline function put(out: usize, verdict: u32, flags: u32, dst: u32, port: u32, ep: u32, sp: u32): void {
  store<u32>(out, verdict | (flags << 8)); store<u32>(out, dst, 4); store<u32>(out, ep, 8);
  store<u32>(out, port | (sp << 16), 12);
}

/**
 * Packets per prefetch group: hashes and first touches of a group are issued before any lookup depends on them.
 * 32 (the pending set is a u32 bitmask, so at most 32): against 16, same-process A/B medians +11 % established at 1M
 * flows, +5–11 % new connections, +1–9 % at 64k flows; 8 was 5–15 % slower than 16.
 */
const GROUP: u32 = 32;
const groupHashes: usize = memory.data(GROUP * 4);
/** Pass 1's conntrack tag per packet of the group (0 for an invalid record; the other key words are the packet's). */
const groupTags: usize = memory.data(GROUP * 4);
/** Per packet of the group that pass 2 leaves to pass 3: conntrack hint (live slot, or −(slot + 1) where a miss
 * ended), service slot (or −1), the next line pass 2b touches for it (8 bytes; 0 for none), randomPick's answer when
 * pass 2b could compute it (−1 otherwise); and where an unresolved probe stopped. */
const groupCt: usize = memory.data(GROUP * 4);
const groupSvc: usize = memory.data(GROUP * 4);
const groupLine: usize = memory.data(GROUP * 8);
const groupPick: usize = memory.data(GROUP * 4);
const groupProbe: usize = memory.data(GROUP * 4);
/** Keeps the touching loads alive (the optimizer may not drop a load whose value reaches memory). */
let prefetchSink: u32 = 0;

const PROBE_DONE: i32 = 0;
const PROBE_PENDING: i32 = 1;
const PROBE_UNRESOLVED: i32 = 2;
/** New connections (misses) met so far in the group's pass 2, and probes left unresolved (possibly new ones). */
let probeMisses: u32 = 0;
let probeDeferred: u32 = 0;

/**
 * Probes conntrack for packet k of the group from slot `i` up to slot `limit` (exclusive; the first slot of a line
 * not yet touched). A live hit is finished at once when no earlier packet of the group can change it: an assured
 * entry cannot be evicted, an unassured one only by a new connection finding the table full (counted: the misses
 * and unresolved probes met so far); and IPVS lc's activation of an unassured entry must wait for earlier packets'
 * lc choices. Otherwise the packet is pending, with its hint (and, for a miss, its service home slot to touch), or
 * unresolved at `limit` (kept in groupProbe).
 */
// @ts-ignore: decorator
@inline function ctProbe(pk: usize, out: usize, k: u32, i: u32, limit: u32, now: u32): i32 {
  const q = <usize>k << 2;
  const tagKey = load<u32>(groupTags + q);
  const src = load<u32>(pk, 4);
  const dst = load<u32>(pk, 8);
  const ports = load<u32>(pk, 12);
  const ctBase = ctPtr;
  const mask = ctMask;
  let ct: i32 = 0;
  // `i` is never `limit` on entry (a probe starts inside the lines touched for it), so the bound is tested after each
  // step only: a hit in the home slot, the common case, meets no test of it.
  while (true) {
    const p = ctBase + (<usize>i << 5);
    const t = load<u32>(p, 12);
    if (t == 0) { ct = -(<i32>i) - 1; break; }
    if ((t & ~CT_FLAGS_MASK) == tagKey && load<u32>(p) == src && load<u32>(p, 4) == dst && load<u32>(p, 8) == ports) {
      if (load<u32>(p, 28) <= now) { ct = -(<i32>i) - 1; break; }
      if ((t & CT_ASSURED) == 0 && ((t & CT_LC) != 0 || ctCount + probeMisses + probeDeferred > ctMax)) { ct = <i32>i; break; }
      // ctTouch's work for an entry that activates nothing: assured, timeout refreshed.
      store<u32>(p, t | CT_ASSURED, 12);
      store<u32>(p, now + ctTimeout((t >>> 4) & 0xf, true), 28);
      const nport = load<u32>(p, 20);
      put(out, V_DNAT, F_CONNTRACK_HIT | (t & CT_SNAT), load<u32>(p, 16), nport & 0xffff, load<u32>(p, 24), nport >>> 16);
      return PROBE_DONE;
    }
    i = (i + 1) & mask;
    if (i == limit) {
      store<u32>(groupProbe + q, i);
      probeDeferred++;
      return PROBE_UNRESOLVED;
    }
  }
  store<i32>(groupCt + q, ct);
  store<i32>(groupSvc + q, -1);
  store<i32>(groupPick + q, -1);
  if (ct < 0) {
    store<usize>(groupLine + (q << 1), serviceHomeSlotPtr(tagKey == 0 ? 0 : (tagKey >>> 4) & 0xf, dst, ports & 0xffff));
    probeMisses++;
  } else {
    store<usize>(groupLine + (q << 1), 0);
  }
  return PROBE_PENDING;
}

/** Loads the line each pending packet's `groupLine` points at (0: none), in a tight loop; returns the loads' XOR. */
// @ts-ignore: decorator
@inline function touchLines(pending: u32): u32 {
  let sink: u32 = 0;
  let m = pending;
  while (m != 0) {
    const k = ctz(m);
    m &= m - 1;
    const a = load<usize>(groupLine + (<usize>k << 3));
    if (a != 0) sink ^= load<u32>(a);
  }
  return sink;
}

/**
 * Processes `n` packets at `inPtr`, writing `n` results at `outPtr`. Returns n. Packets go in groups of 32 so that
 * the group's cache misses overlap: every packet's flow hash first, touching its conntrack lines; then the conntrack
 * lookups, finishing the hits that no earlier packet of the group can change; for the new connections, the service,
 * service-port and endpoint lines touched level by level; then the rest in order with the sequential semantics.
 * Results do not depend on the grouping (tests compare every batch size with packets sent one by one).
 */
export function coreProcessBatch(inPtr: usize, outPtr: usize, n: u32): u32 {
  let sink: u32 = 0;
  const nodes = nodeCount;
  for (let base: u32 = 0; base < n; base += GROUP) {
    const end = base + GROUP < n ? base + GROUP : n;
    const count = end - base;
    // Pass 1: each packet's conntrack key (tag 0 for a record that cannot be valid: it matches no entry) and hash.
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << 4);
      const g = <usize>k << 2;
      const head = load<u32>(pk);
      const proto = head >>> 24;
      const pi: u32 = proto == 6 ? 0 : proto == 17 ? 1 : 2;
      const node = head & 0xffff;
      const valid = (proto == 6 || proto == 17 || proto == 132) && ((head >>> 16) & 0xff) <= ARRIVAL_EXTERNAL && node < nodes;
      const tagKey = valid ? ((node + 1) << 8) | (pi << 4) : 0;
      store<u32>(groupTags + g, tagKey);
      store<u32>(groupHashes + g, ctHash(tagKey, load<u32>(pk, 4), load<u32>(pk, 8), load<u32>(pk, 12)));
    }
    // The touches in a tight loop of their own, after the hashing: all the group's misses fit the reorder window
    // together instead of one per packet's worth of hashing. The next line too: a new connection's probe usually runs
    // into it at 50–75 % load (two slots a line), and measured, it helps established packets at 1M flows as well.
    const ctBase = ctPtr;
    const mask = ctMask;
    for (let k: u32 = 0; k < count; k++) {
      const i = load<u32>(groupHashes + (<usize>k << 2)) & mask;
      sink ^= load<u32>(ctBase + (<usize>i << 5), 12) ^ load<u32>(ctBase + (<usize>(((i | 1) + 1) & mask) << 5), 12);
    }
    // Pass 2: the conntrack lookups. A live hit is finished here when no earlier packet of the group can change it
    // (see ctProbe); the others wait for pass 3 with a hint: the live slot, or −(slot + 1) where the miss ended. A
    // probe that runs past the lines touched so far stops there; those lines are then touched for all such probes at
    // once and the probes resumed, so that a new connection's long probe does not stall the group line by line.
    probeMisses = 0;
    probeDeferred = 0;
    let pending: u32 = 0;
    let unresolved: u32 = 0;
    const now = nowSeconds;
    for (let k: u32 = 0; k < count; k++) {
      const home = load<u32>(groupHashes + (<usize>k << 2)) & mask;
      // Up to the first slot after the two lines pass 1 touched.
      const r = ctProbe(inPtr + (<usize>(base + k) << 4), outPtr + (<usize>(base + k) << 4), k, home, ((home | 1) + 3) & mask, now);
      if (r == PROBE_DONE) continue;
      if (r == PROBE_UNRESOLVED) unresolved |= 1 << k;
      else pending |= 1 << k;
    }
    while (unresolved != 0) {
      let m = unresolved;
      while (m != 0) {
        const k = ctz(m);
        m &= m - 1;
        sink ^= load<u32>(ctBase + (<usize>load<u32>(groupProbe + (<usize>k << 2)) << 5), 12);
      }
      m = unresolved;
      unresolved = 0;
      while (m != 0) {
        const k = ctz(m);
        m &= m - 1;
        const at = load<u32>(groupProbe + (<usize>k << 2));
        const r = ctProbe(inPtr + (<usize>(base + k) << 4), outPtr + (<usize>(base + k) << 4), k, at, ((at | 1) + 1) & mask, now);
        if (r == PROBE_DONE) continue;
        if (r == PROBE_UNRESOLVED) unresolved |= 1 << k;
        else pending |= 1 << k;
      }
    }
    if (pending == 0) continue;
    const misses = probeMisses;
    // Pass 2b, for new connections only: each level of the chain a new connection needs (service slot, service-port,
    // endpoint block) is touched for all of them in a tight loop before the next level reads it, so a level's misses
    // overlap. Service tables do not change during a batch: the slots found here are exact.
    if (misses != 0) {
      sink ^= touchLines(pending);
      let m = pending;
      while (m != 0) {
        const k = ctz(m);
        m &= m - 1;
        const q = <usize>k << 2;
        if (load<usize>(groupLine + (q << 1)) == 0) continue;
        const pk = inPtr + (<usize>(base + k) << 4);
        const proto = load<u32>(pk) >>> 24;
        const slot = findServiceSlot(proto == 6 ? 0 : proto == 17 ? 1 : 2, load<u32>(pk, 8), load<u32>(pk, 12) & 0xffff);
        store<i32>(groupSvc + q, slot);
        store<usize>(groupLine + (q << 1), slot >= 0 ? spAt(serviceSlotSp(slot)) : 0);
      }
      sink ^= touchLines(pending);
      // The endpoint level in two loops, so that the touches again sit in a tight loop of their own: first what to
      // touch (computing the pick where it is known ahead), then the touches.
      m = pending;
      while (m != 0) {
        const k = ctz(m);
        m &= m - 1;
        const q = <usize>k << 2;
        const sp = load<usize>(groupLine + (q << 1));
        if (sp == 0) continue;
        const block = epBlock(sp);
        store<usize>(groupLine + (q << 1), block);
        if (block == 0) continue;
        const n = epCount(sp);
        const tagKey = load<u32>(groupTags + q);
        // iptables and nftables choose among the cluster list by the flow's draws alone: with every endpoint in it
        // (the list is then the identity) and no affinity or local policy, the chosen record is known now.
        if (tagKey != 0 && clusterCount(sp) == n && (load<u32>(sp) & (SP_AFFINITY | SP_INTERNAL_LOCAL | SP_EXTERNAL_LOCAL)) == 0) {
          const mode = load<u32>(nodeAt((tagKey >>> 8) - 1), 4);
          if (mode != MODE_IPVS) {
            const pos = randomPick(mode, n, load<u32>(groupHashes + q));
            store<i32>(groupPick + q, <i32>pos);
            store<usize>(groupLine + (q << 1), block + (<usize>pos << 4));
            continue;
          }
        }
        // Otherwise the records (up to four lines) and the cluster list.
        const bytes = n << 4;
        for (let off: u32 = 64; off < bytes && off < 256; off += 64) sink ^= load<u32>(block + off);
        sink ^= load<u32>(clusterListPtr(block, n, groupCount(sp)));
      }
      sink ^= touchLines(pending);
    }
    // Pass 3: the rest in order, with the sequential semantics (re-checking each hint).
    const noEviction = ctCount + GROUP <= ctMax;
    let m = pending;
    while (m != 0) {
      const k = ctz(m);
      m &= m - 1;
      const q = <usize>k << 2;
      processOne(inPtr + (<usize>(base + k) << 4), outPtr + (<usize>(base + k) << 4), load<u32>(groupHashes + q),
        load<i32>(groupCt + q), load<i32>(groupSvc + q), load<i32>(groupPick + q), noEviction);
    }
  }
  prefetchSink ^= sink;
  return n;
}

function processOne(pk: usize, out: usize, hGroup: u32, ctHint: i32, svcHint: i32, pickHint: i32, noEviction: bool): void {
  {
    const head = load<u32>(pk);
    const node = head & 0xffff;
    const arrival = (head >>> 16) & 0xff;
    const proto = head >>> 24;
    const src = load<u32>(pk, 4);
    const dst = load<u32>(pk, 8);
    const ports = load<u32>(pk, 12);
    const dport = ports & 0xffff;
    const pi: u32 = proto == 6 ? 0 : proto == 17 ? 1 : proto == 132 ? 2 : 3;
    if (pi == 3 || arrival > ARRIVAL_EXTERNAL || !nodeDefined(node)) {
      put(out, V_INVALID, 0, dst, dport, NONE, NONE);
      return;
    }
    const h = hGroup; // ctHash of the key, from pass 1
    const tagKey = ((node + 1) << 8) | (pi << 4);
    // The pass-2 slot still holds this live flow unless an earlier packet evicted it: check the key, else search.
    // A pass-2 miss ending at a slot still empty is still a miss there: since pass 2 the slots before it were only
    // filled or refreshed (no eviction in the group), and this key, had an earlier packet inserted it, would be in it.
    let pos: i32 = -1;
    if (ctHint >= 0 && ctSlotHolds(<u32>ctHint, tagKey, src, dst, ports)) pos = ctHint;
    else if (ctHint < 0 && noEviction && load<u32>(ctSlotPtr(<u32>(-ctHint - 1)), 12) == 0) pos = ctHint;
    else pos = ctFind(h, tagKey, src, dst, ports);
    if (pos >= 0) {
      const c = ctTouch(<u32>pos);
      const nport = load<u32>(c, 20);
      put(out, V_DNAT, F_CONNTRACK_HIT | ((load<u32>(c, 12) & CT_SNAT) != 0 ? F_SNAT : 0),
        load<u32>(c, 16), nport & 0xffff, load<u32>(c, 24), nport >>> 16);
      return;
    }

    // Which service-port, and through which kind of address.
    let spId: i32 = -1;
    let external = false;
    let flags: u32 = 0;
    // Service tables do not change during a batch: the pass-2 slot is exact when it was computed.
    const slot = ctHint < 0 ? svcHint : findServiceSlot(pi, dst, dport);
    const np = nodeAt(node);
    const nflags = load<u32>(np);
    if (slot >= 0) {
      spId = <i32>serviceSlotSp(slot);
      external = serviceSlotKind(slot) != KIND_CLUSTER_IP;
    } else {
      const npSp = nodePortSp(pi, dport);
      if (npSp >= 0) {
        const viaAddress = (localAddressFlags(node, dst) & ADDR_NODEPORT) != 0;
        const viaLocalhost = (nflags & NODE_LOCALHOST_NODEPORTS) != 0 && (dst >>> 24) == 127 && arrival == ARRIVAL_HOST;
        if (viaAddress || viaLocalhost) {
          spId = npSp;
          external = true;
          flags = F_NODEPORT;
        }
      }
    }
    if (spId < 0) {
      // nftables' cluster-ips-check: a ClusterIP on a port no Service has is rejected, an unallocated address of
      // the service CIDR dropped (iptables lets both through). ipvs: every address bound to kube-ipvs0 is local, so
      // the packet meets KUBE-IPVS-FILTER on INPUT (a host process's too, over lo), which rejects it unless the port
      // is a health-check node port; then the node's own server answers. An unallocated address passes.
      const nodeMode = load<u32>(np, 4);
      if (nodeMode == MODE_IPVS) {
        put(out, ipvsFilterRejects(node, dst, dport) ? V_REJECT : V_PASS, 0, dst, dport, NONE, NONE);
        return;
      }
      if (nodeMode == MODE_NFTABLES && isClusterIP(dst)) { put(out, V_REJECT, 0, dst, dport, NONE, NONE); return; }
      if (nodeMode == MODE_NFTABLES && (nflags & NODE_HAS_SERVICE_CIDR) != 0 && (dst & load<u32>(np, 24)) == load<u32>(np, 20)) {
        put(out, V_DROP, 0, dst, dport, NONE, NONE);
        return;
      }
      put(out, V_PASS, 0, dst, dport, NONE, NONE);
      return;
    }
    const sp = spAt(<u32>spId);

    // The kernel allocates the conntrack entry (priority −200) before the nat and filter tables run: a full table
    // drops here, and making room evicts, whatever the firewall then decides.
    const wslot = ctReserve(h, tagKey, src, dst, ports, pos);
    if (wslot < 0) {
      put(out, V_DROP_CONNTRACK_FULL, flags, dst, dport, NONE, <u32>spId);
      return;
    }
    if (ctEvicted) flags |= F_EARLY_DROP;

    // loadBalancerSourceRanges: only a load-balancer address entry carries a range list. A dropped packet's entry
    // is never confirmed: the reserved slot stays free (an eviction made for it stands).
    if (slot >= 0) {
      const ranges = serviceSlotRanges(slot);
      if (ranges != 0 && !sourceRangesAllow(ranges, load<u32>(np, 4), node, arrival == ARRIVAL_HOST, src, dst, pi, dport, <u32>spId, clusterCount(sp))) {
        put(out, V_DROP, flags | F_SOURCE_RANGES, dst, dport, NONE, <u32>spId);
        return;
      }
    }

    const m = clusterCount(sp);
    if (m == 0) {
      // iptables: an external IP's or LB IP's "has no endpoints" REJECT is in KUBE-EXTERNAL-SERVICES, reached from
      // INPUT and FORWARD only, so a host process's packet to such an address that is not local leaves the node.
      const leaves = external && arrival == ARRIVAL_HOST && (flags & F_NODEPORT) == 0 && load<u32>(np, 4) == MODE_IPTABLES
        && localAddressFlags(node, dst) == 0;
      put(out, leaves ? V_PASS : V_REJECT, flags, dst, dport, NONE, <u32>spId);
      return;
    }
    const spFlags = load<u32>(sp);
    const mode = load<u32>(np, 4);
    const hasDetector = (nflags & NODE_HAS_DETECTOR) != 0;
    const fromPodCidr = hasDetector && (src & load<u32>(np, 16)) == load<u32>(np, 12);
    let masq = false;
    let useLocal = false;
    if (!external) {
      masq = (nflags & NODE_MASQUERADE_ALL) != 0 || (hasDetector && !fromPodCidr);
      useLocal = (spFlags & SP_INTERNAL_LOCAL) != 0;
    } else if (mode == MODE_IPVS) {
      // ipvs: KUBE-LOAD-BALANCER-LOCAL / KUBE-NODE-PORT-LOCAL-* RETURN before KUBE-MARK-MASQ whatever the source;
      // no pod short-circuit, the virtual server holds the local endpoints.
      useLocal = (spFlags & SP_EXTERNAL_LOCAL) != 0;
      masq = !useLocal;
    } else if ((spFlags & SP_EXTERNAL_LOCAL) == 0) {
      masq = true;
    } else if (fromPodCidr) {
      // "pod traffic for <spn> external destinations": short-circuit to all endpoints, source kept.
    } else if (arrival == ARRIVAL_HOST) {
      masq = true; // "masquerade LOCAL traffic", then all endpoints
    } else {
      useLocal = true;
    }

    const block = epBlock(sp);
    const n = epCount(sp);
    let list: usize;
    let lm: u32;
    if (useLocal) {
      localList(sp, node, localOut);
      list = <usize>load<u32>(localOut);
      lm = load<u32>(localOut, 4);
      flags |= F_LOCAL_POLICY;
      if (lm == 0 && mode != MODE_IPVS) {
        put(out, V_DROP, flags, dst, dport, NONE, <u32>spId);
        return;
      }
      if (lm == 0) {
        // ipvs (kubernetes#97081): no local endpoint, so the virtual server holds the cluster endpoints — which
        // kube-proxy does not compute for iTP Local without NodePort/external/LB IP: no real server, REJECT.
        if ((spFlags & (SP_INTERNAL_LOCAL | SP_EXTERNALLY_ACCESSIBLE)) == SP_INTERNAL_LOCAL) {
          put(out, V_REJECT, flags, dst, dport, NONE, <u32>spId);
          return;
        }
        flags &= ~F_LOCAL_POLICY;
        useLocal = false;
        list = clusterListPtr(block, n, groupCount(sp));
        lm = m;
      }
    } else {
      list = clusterListPtr(block, n, groupCount(sp));
      lm = m;
    }

    const sched = load<u32>(np, 8);
    const chosen = choose(mode, sched, node, <u32>spId, sp, block, list, lm, h, src, dst, !useLocal,
      (spFlags & SP_AFFINITY) != 0, useLocal ? -1 : pickHint);
    if (affinityHit) flags |= F_AFFINITY;
    // A pick hint means the cluster list is every endpoint in order (the identity): skip reading it.
    const rec = block + (<usize>(pickHint >= 0 && !useLocal ? chosen : <u32>load<u16>(list + (<usize>chosen << 1))) << 4);
    const epIp = load<u32>(rec);
    const epPort = load<u32>(rec, 4) & 0xffff;
    const epId = load<u32>(rec, 12);
    if (epIp == src) masq = true; // hairpin: the SEP chain's "-s <endpoint> -j KUBE-MARK-MASQ"
    if (masq) flags |= F_MASQUERADE | F_SNAT;

    let tag = tagKey | (masq ? CT_SNAT : 0);
    if (mode == MODE_IPVS && sched == SCHED_LC) {
      tag |= CT_LC;
      lcBind(node, <u32>spId, dst, epId, pi != 0);
    }
    ctWrite(<u32>wslot, tag, src, dst, ports, epIp, epPort | (<u32>spId << 16), epId, nowSeconds + ctTimeout(pi, false));
    put(out, V_DNAT, flags, epIp, epPort, epId, <u32>spId);
  }
}

