// Endpoint selection as each data plane does it, and ClientIP session affinity.
//   iptables  `-m statistic --mode random --probability p` per rule; the kernel tests (rand & 0x7FFFFFFF) < p·2^31
//             with p·2^31 rounded by iptables from the 10-decimal string kube-proxy printed (table from TypeScript)
//   nftables  `numgen random mod n` = ⌊r·n / 2^32⌋
//   ipvs      rr (one cycle per virtual server per node), lc (activeconns·256 + inactconns, first minimum),
//             sh (256-bucket table, bucket i → destination i mod n), mh (Maglev, 4093 entries, ip_vs_mh's hsiphash keys)
import { allocZeroed, nowSeconds, seed, fail, ST_OK, ST_TOO_LARGE } from './core-state';
import { mix32, hash32, hsiphash32 } from './hash';
import { SCHED_RR, SCHED_LC, SCHED_SH, SCHED_MH, MODE_IPTABLES, MODE_NFTABLES, MODE_IPVS } from './nodes';
import { recentCheck, recentSet, RECENT_LIST_MAX } from './recent';
import { lcOverhead } from './ipvs-lc';
import { maglevSlot } from './endpoints';
import { rehash, firstEmpty } from './open-addressing';

// Statistic thresholds: u32 per k = number of remaining endpoints (index 0 unused).
let statPtr: usize = 0;
let statLen: u32 = 0;

/** Reserves the threshold table for k < `len`; TypeScript fills it (returns its address, 0 if too large). */
export function coreStatisticTable(len: u32): usize {
  if (len > 65536) { fail(ST_TOO_LARGE, <i32>len); return 0; }
  if (len > statLen) {
    if (statPtr != 0) heap.free(statPtr);
    statPtr = allocZeroed(<usize>len << 2);
    statLen = len;
  }
  return statPtr;
}
export function coreStatisticTableLength(): u32 { return statLen; }

// mix32(seed + (k + 1)·φ) for the first draws, so a draw costs one mix (draw() in hash.ts, same value).
const SEED_MIXES: u32 = 64;
const seedMixPtr: usize = memory.data(SEED_MIXES * 4);

// @ts-ignore: decorator
@inline function seedMix(k: u32): u32 {
  if (k < SEED_MIXES) return load<u32>(seedMixPtr + (<usize>k << 2));
  return mix32(seed + (k + 1) * 0x9e3779b9);
}

function prepareSeedMixes(): void {
  for (let k: u32 = 0; k < SEED_MIXES; k++) store<u32>(seedMixPtr + (<usize>k << 2), mix32(seed + (k + 1) * 0x9e3779b9));
}

/** Set when the last selection reused a session-affinity entry. */
export let affinityHit: bool = false;

// ---- round robin state: 16-byte slots (node + 1, service-port, virtual-server address, next index) ----
let rrPtr: usize = 0;
let rrMask: u32 = 0;
let rrCount: u32 = 0;
// ---- IPVS persistence templates: 32-byte slots (node + 1, sp, vs tag, client, endpoint IP, endpoint port, endpoint id, last seen) ----
let afPtr: usize = 0;
let afMask: u32 = 0;
let afCount: u32 = 0;
// ---- Maglev table building (tables are cached per endpoint list: see maglevSlot) ----
export const MH_SIZE: u32 = 4093;
let mhSetup: usize = 0;
let mhSetupCap: u32 = 0;
let mhUsed: usize = 0;

export function initSelect(): void {
  prepareSeedMixes();
  rrMask = 255;
  rrPtr = allocZeroed(<usize>(rrMask + 1) << 4);
  rrCount = 0;
  afMask = 255;
  afPtr = allocZeroed(<usize>(afMask + 1) << 5);
  afCount = 0;
  mhUsed = allocZeroed(<usize>MH_SIZE);
}

// @ts-ignore: decorator
@inline function home3(a: u32, b: u32, c: u32, d: u32, mask: u32): u32 {
  let h = (a * 0x9e3779b1) ^ (b * 0x85ebca6b) ^ (c * 0xc2b2ae35) ^ d;
  h ^= h >>> 16;
  h *= 0x7feb352d;
  h ^= h >>> 15;
  return h & mask;
}
function rrHomeOf(p: usize, mask: u32): u32 { return home3(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), 0, mask); }
function afHomeOf(p: usize, mask: u32): u32 { return home3(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12), mask); }

/** The rr counter slot of (node, service-port, virtual server). */
function rrSlot(node: u32, sp: u32, vs: u32): usize {
  const tag = node + 1;
  let i = home3(tag, sp, vs, 0, rrMask);
  while (true) {
    const p = rrPtr + (<usize>i << 4);
    const t = load<u32>(p);
    if (t == 0) break;
    if (t == tag && load<u32>(p, 4) == sp && load<u32>(p, 8) == vs) return p;
    i = (i + 1) & rrMask;
  }
  if ((rrCount + 1) * 2 > rrMask + 1) {
    const oldSize = rrMask + 1;
    rrMask = oldSize * 2 - 1;
    rrPtr = rehash(rrPtr, oldSize, 4, 0, oldSize * 2, rrHomeOf);
    i = firstEmpty(rrPtr, rrMask, 4, 0, home3(tag, sp, vs, 0, rrMask));
  }
  const p = rrPtr + (<usize>i << 4);
  store<u32>(p, tag); store<u32>(p, sp, 4); store<u32>(p, vs, 8); store<u32>(p, 0, 12);
  rrCount++;
  return p;
}

/** Builds ip_vs_mh's lookup table for the endpoints at list positions 0..m-1 into `table` (u16 list positions). */
function buildMaglev(block: usize, list: usize, m: u32, table: usize): void {
  if (m > mhSetupCap) {
    if (mhSetup != 0) heap.free(mhSetup);
    mhSetupCap = m;
    mhSetup = heap.alloc(<usize>m << 3);
  }
  for (let d: u32 = 0; d < m; d++) {
    const rec = block + (<usize>load<u16>(list + (<usize>d << 1)) << 4);
    const v = load<u32>(rec) + (load<u32>(rec, 4) & 0xffff);
    const offset = hsiphash32(v, 2654435761) % MH_SIZE;
    const skip = hsiphash32(v, 2654446892) % (MH_SIZE - 1) + 1;
    store<u32>(mhSetup + (<usize>d << 3), offset);     // perm starts at offset
    store<u32>(mhSetup + (<usize>d << 3), skip, 4);
  }
  memory.fill(mhUsed, 0, MH_SIZE);
  let n: u32 = 0;
  while (n < MH_SIZE) {
    for (let d: u32 = 0; d < m; d++) {
      const s = mhSetup + (<usize>d << 3);
      let c = load<u32>(s);
      const skip = load<u32>(s, 4);
      while (load<u8>(mhUsed + c) != 0) {
        c += skip;
        if (c >= MH_SIZE) c -= MH_SIZE;
      }
      store<u32>(s, c);
      store<u8>(mhUsed + c, 1);
      store<u16>(table + (<usize>c << 1), <u16>d);
      if (++n == MH_SIZE) return;
    }
  }
}

/**
 * The random choice among m endpoints of iptables mode (the statistic rules in order, the last unconditional) or
 * nftables mode (numgen random mod m) for a flow: stateless, so the batch can compute it ahead to touch the record.
 */
// @ts-ignore: decorator
@inline export function randomPick(mode: u32, m: u32, flow: u32): u32 {
  if (mode == MODE_NFTABLES) return <u32>((<u64>mix32(flow ^ seedMix(0)) * <u64>m) >>> 32);
  let pos = m - 1;
  for (let i: u32 = 0; i + 1 < m; i++) {
    const r = mix32(flow ^ seedMix(i)) & 0x7fffffff;
    if (r < load<u32>(statPtr + (<usize>(m - i) << 2))) { pos = i; break; }
  }
  return pos;
}

// @ts-ignore: decorator
@inline function epRec(block: usize, list: usize, pos: u32): usize {
  return block + (<usize>load<u16>(list + (<usize>pos << 1)) << 4);
}

/**
 * Chooses a position in `list` (m ≥ 1 u16 indices into the raw endpoints at `block`) for a new connection.
 * `isCluster` says whether `list` is the service-port's cluster list (its Maglev table is cached). `pickHint` is
 * randomPick's answer for this flow and list when the batch already computed it, else −1.
 */
export function choose(mode: u32, sched: u32, node: u32, spId: u32, sp: usize, block: usize, list: usize, m: u32,
  flow: u32, src: u32, vs: u32, isCluster: bool, affinity: bool, pickHint: i32): u32 {
  affinityHit = false;
  let af: usize = 0;
  const usesRecent = mode != MODE_IPVS;
  if (affinity && usesRecent) {
    // The service chain's `--rcheck` rules, one per endpoint in rule order.
    const timeout = load<u32>(sp, 4);
    for (let pos: u32 = 0; pos < m; pos++) {
      const rec = epRec(block, list, pos);
      if (recentCheck(node, spId, load<u32>(rec), load<u32>(rec, 4) & 0xffff, src, timeout)) {
        affinityHit = true;
        recentSet(node, spId, load<u32>(rec), load<u32>(rec, 4) & 0xffff, src, mode == MODE_IPTABLES ? RECENT_LIST_MAX : 0);
        return pos;
      }
    }
  } else if (affinity) {
    // IPVS persistence: one template per (virtual server, client).
    af = affinitySlot(node, spId, vs, src);
    if (load<u32>(af) != 0 && nowSeconds - load<u32>(af, 28) <= load<u32>(sp, 4)) {
      const ip = load<u32>(af, 16);
      const port = load<u32>(af, 20);
      for (let pos: u32 = 0; pos < m; pos++) {
        const rec = epRec(block, list, pos);
        if (load<u32>(rec) == ip && (load<u32>(rec, 4) & 0xffff) == port) {
          affinityHit = true;
          store<u32>(af, nowSeconds, 28);
          return pos;
        }
      }
    }
  }
  let pos: u32 = 0;
  if (mode != MODE_IPVS) {
    pos = pickHint >= 0 ? <u32>pickHint : randomPick(mode, m, flow);
  } else if (sched == SCHED_RR) {
    const p = rrSlot(node, spId, vs);
    const c = load<u32>(p, 12);
    pos = c % m;
    store<u32>(p, pos + 1, 12);
  } else if (sched == SCHED_LC) {
    let best: u32 = 0xffffffff;
    for (let i: u32 = 0; i < m; i++) {
      const o = lcOverhead(node, spId, vs, load<u32>(epRec(block, list, i), 12));
      if (o < best) { best = o; pos = i; }
    }
  } else if (sched == SCHED_SH) {
    pos = hash32(src, 8) % m;
  } else {
    // SCHED_MH
    if (m > MH_SIZE) m = MH_SIZE;
    const slot = maglevSlot(sp, node, isCluster);
    let table = <usize>load<u32>(slot);
    if (table == 0) {
      table = heap.alloc(<usize>MH_SIZE << 1);
      buildMaglev(block, list, m, table);
      store<u32>(slot, <u32>table);
    }
    pos = <u32>load<u16>(table + (<usize>(hsiphash32(src, 2654435761) % MH_SIZE) << 1));
  }
  if (affinity && usesRecent) {
    const rec = epRec(block, list, pos);
    recentSet(node, spId, load<u32>(rec), load<u32>(rec, 4) & 0xffff, src, mode == MODE_IPTABLES ? RECENT_LIST_MAX : 0);
  } else if (affinity) {
    const rec = epRec(block, list, pos);
    if (load<u32>(af) == 0) afCount++;
    store<u32>(af, node + 1); store<u32>(af, spId, 4); store<u32>(af, vs, 8); store<u32>(af, src, 12);
    store<u32>(af, load<u32>(rec), 16); store<u32>(af, load<u32>(rec, 4) & 0xffff, 20);
    store<u32>(af, load<u32>(rec, 12), 24); store<u32>(af, nowSeconds, 28);
  }
  return pos;
}

/** The affinity slot of (node, sp, vs, client): the existing entry, or an empty slot to fill (table grown first). */
function affinitySlot(node: u32, sp: u32, vs: u32, client: u32): usize {
  if ((afCount + 1) * 2 > afMask + 1) {
    const oldSize = afMask + 1;
    afMask = oldSize * 2 - 1;
    afPtr = rehash(afPtr, oldSize, 5, 0, oldSize * 2, afHomeOf);
  }
  const tag = node + 1;
  let i = home3(tag, sp, vs, client, afMask);
  while (true) {
    const p = afPtr + (<usize>i << 5);
    const t = load<u32>(p);
    if (t == 0) return p;
    if (t == tag && load<u32>(p, 4) == sp && load<u32>(p, 8) == vs && load<u32>(p, 12) == client) return p;
    i = (i + 1) & afMask;
  }
}

/** Forgets affinity entries older than their service-port's timeout (`timeoutOf` reads it). Returns how many. */
export function affinitySweep(spPtrBase: usize, spSize: u32, spCap: u32): u32 {
  // Rebuild: simpler than backward-shift over a table keyed by four words, and sweeps are rare.
  const oldPtr = afPtr;
  const oldSize = afMask + 1;
  afPtr = allocZeroed(<usize>oldSize << 5);
  let kept: u32 = 0;
  let removed: u32 = 0;
  for (let k: u32 = 0; k < oldSize; k++) {
    const q = oldPtr + (<usize>k << 5);
    if (load<u32>(q) == 0) continue;
    const sp = load<u32>(q, 4);
    const timeout = sp < spCap ? load<u32>(spPtrBase + <usize>sp * spSize, 4) : 0;
    if (nowSeconds - load<u32>(q, 28) > timeout) { removed++; continue; }
    memory.copy(afPtr + (<usize>firstEmpty(afPtr, afMask, 5, 0, afHomeOf(q, afMask)) << 5), q, 32);
    kept++;
  }
  heap.free(oldPtr);
  afCount = kept;
  return removed;
}

export function coreAffinityCount(): u32 { return afCount; }
export function selectOk(): i32 { return ST_OK; }
export function statisticTablePtr(): usize { return statPtr; }
