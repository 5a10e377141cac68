/**
 * The core's new-connection and established paths written in TypeScript over the same typed arrays: it reads the
 * service, NodePort, local-address and endpoint tables straight out of a Datapath's linear memory and keeps its own
 * conntrack arena with the core's slot layout. It exists to measure what WebAssembly buys over well-written
 * JavaScript on the same data structures (a benchmark baseline), and is checked against the core in the tests.
 * Covers iptables and nftables nodes without session affinity; anything else throws. It does not model
 * loadBalancerSourceRanges (the range lists hang off word 7 of the core's service slots and allow-from-node needs the
 * core's node IPs): compare it with the core only where no load-balancer IP has ranges (its test uses none).
 */
import { ArrivalCode, Layout, PACKET_WORDS, RESULT_WORDS, ResultFlag, Verdict } from '../abi.js';
import type { Datapath } from '../datapath.js';
import type { PacketBatch } from '../packet-batch.js';
import { ctHash, draw } from './hash.js';

const NONE = 0xffffffff;
const CT_ASSURED = 1;
const CT_SNAT = 2;
const TIMEOUTS = [120, 432000, 30, 120, 3, 210];

/** Writes result record `o` (word offset) as the core packs it. */
function put(out: Uint32Array, o: number, verdict: number, flags: number, dst: number, port: number, ep: number, sp: number): void {
  out[o] = verdict | (flags << 8);
  out[o + 1] = dst;
  out[o + 2] = ep;
  out[o + 3] = (port | (sp << 16)) >>> 0;
}

export interface TypedArrayKernelOptions {
  /** Same meaning as the core's nf_conntrack_max. */
  conntrackMax: number;
  /**
   * Optional list of (protocol number, IPv4, port, service-port) rules walked in order instead of the hash table:
   * the O(n) cost of iptables' KUBE-SERVICES chain, for the "literal rule walk" baseline.
   */
  linearRules?: Uint32Array;
}

export class TypedArrayKernel {
  readonly ct: Uint32Array;
  readonly ctMask: number;
  readonly ctMax: number;
  ctCount = 0;
  drops = 0;
  earlyDrops = 0;
  now = 0;
  readonly #dp: Datapath;
  readonly #rules: Uint32Array | undefined;

  constructor(dp: Datapath, options: TypedArrayKernelOptions) {
    this.#dp = dp;
    this.#rules = options.linearRules;
    this.ctMax = options.conntrackMax;
    let slots = 64;
    while (slots < Math.ceil((options.conntrackMax * 4 + 2) / 3)) slots *= 2;
    this.ctMask = slots - 1;
    this.ct = new Uint32Array(slots * 8);
  }

  /** Processes `count` packets of `batch`, writing the same result records as the core. */
  processBatch(batch: PacketBatch, count = batch.capacity): void {
    const ex = this.#dp.exports;
    const L = (k: number) => ex.coreLayout(k) >>> 0;
    const mem = new Uint32Array(this.#dp.memory.buffer);
    const mem16 = new Uint16Array(this.#dp.memory.buffer);
    const spBase = L(Layout.spPtr) >>> 2;
    const svcBase = L(Layout.svcPtr) >>> 2;
    const svcMask = L(Layout.svcMask);
    const statBase = L(Layout.statPtr) >>> 2;
    const nodesBase = L(Layout.nodesPtr) >>> 2;
    const nodeCount = L(Layout.nodeCount);
    const npBase = L(Layout.nodePortPtr) >>> 2;
    const addrBase = L(Layout.addrPtr) >>> 2;
    const addrMask = L(Layout.addrMask);
    const cipBase = L(Layout.clusterIPsPtr) >>> 2;
    const cipMask = L(Layout.clusterIPsMask);
    const seed = L(Layout.seed);
    const rules = this.#rules;
    const ct = this.ct;
    const ctMask = this.ctMask;
    const now = this.now;
    const inW = batch.packets;
    const out = batch.results;

    for (let k = 0; k < count; k++) {
      const pi4 = k * PACKET_WORDS;
      const o = k * RESULT_WORDS;
      const head = inW[pi4]!;
      const node = head & 0xffff;
      const arrival = (head >>> 16) & 0xff;
      const proto = head >>> 24;
      const src = inW[pi4 + 1]!;
      const dst = inW[pi4 + 2]!;
      const ports = inW[pi4 + 3]!;
      const dport = ports & 0xffff;
      const pi = proto === 6 ? 0 : proto === 17 ? 1 : proto === 132 ? 2 : 3;
      const nb = nodesBase + node * 8;
      if (pi === 3 || arrival > ArrivalCode.external || node >= nodeCount || (mem[nb]! & 1) === 0) {
        put(out, o, Verdict.INVALID, 0, dst, dport, NONE, NONE);
        continue;
      }
      const tagKey = (((node + 1) << 8) | (pi << 4)) >>> 0;
      const h = ctHash(tagKey, src, dst, ports);

      // Conntrack lookup (linear probing over 8-word slots).
      let i = h & ctMask;
      let pos = -1;
      for (;;) {
        const s = i * 8;
        const t = ct[s + 3]!;
        if (t === 0) { pos = -i - 1; break; }
        if (((t & ~0xf) >>> 0) === tagKey && ct[s] === src && ct[s + 1] === dst && ct[s + 2] === ports) {
          pos = ct[s + 7]! > now ? i : -i - 1;
          break;
        }
        i = (i + 1) & ctMask;
      }
      if (pos >= 0) {
        const s = pos * 8;
        ct[s + 3] = ct[s + 3]! | CT_ASSURED;
        ct[s + 7] = now + TIMEOUTS[pi * 2 + 1]!;
        const nport = ct[s + 5]!;
        put(out, o, Verdict.DNAT, ResultFlag.CONNTRACK_HIT | ((ct[s + 3]! & CT_SNAT) !== 0 ? ResultFlag.SNAT : 0),
          ct[s + 4]!, nport & 0xffff, ct[s + 6]!, nport >>> 16);
        continue;
      }

      // Service lookup: the hash table, or the literal rule walk.
      let spId = -1;
      let external = false;
      let flags = 0;
      const nflags = mem[nb]!;
      if (rules) {
        for (let r = 0; r < rules.length; r += 4) {
          if (rules[r] === proto && rules[r + 1] === dst && rules[r + 2] === dport) { spId = rules[r + 3]!; break; }
        }
      } else {
        const key = ((dport << 16) | (pi << 8) | 4) >>> 0;
        let hh = (Math.imul(dst, 0x9e3779b1) ^ Math.imul(key, 0x85ebca6b)) >>> 0;
        hh ^= hh >>> 16;
        hh = Math.imul(hh, 0x7feb352d) >>> 0;
        hh ^= hh >>> 15;
        let j = hh & svcMask;
        for (;;) {
          const s = svcBase + j * 8;
          const kk = mem[s]!;
          if (kk === 0) break;
          if (kk === key && mem[s + 1] === dst) { spId = mem[s + 5]!; external = mem[s + 6] !== 0; break; }
          j = (j + 1) & svcMask;
        }
      }
      if (spId < 0) {
        const np = mem[npBase + ((pi << 16) | dport)]! - 1;
        if (np >= 0) {
          const flagsAddr = localAddressFlags(mem, addrBase, addrMask, node, dst);
          if ((flagsAddr & 2) !== 0 || ((nflags & 4) !== 0 && dst >>> 24 === 127 && arrival === ArrivalCode.host)) {
            spId = np; external = true; flags = ResultFlag.NODEPORT;
          }
        }
      }
      if (spId < 0) {
        let verdict: number = Verdict.PASS;
        if (mem[nb + 1] === 2) throw new TypeError('The typed-array kernel does not model IPVS');
        if (mem[nb + 1] === 1) {
          // nftables: ClusterIP on an unknown port → REJECT; unallocated service-CIDR address → DROP.
          let hh = Math.imul(dst, 0x9e3779b1) >>> 0;
          hh ^= hh >>> 16;
          for (let j = hh & cipMask; mem[cipBase + j * 2] !== 0; j = (j + 1) & cipMask) { // 8-byte slots: count, address
            if (mem[cipBase + j * 2 + 1] === dst) { verdict = Verdict.REJECT; break; }
          }
          if (verdict === Verdict.PASS && (nflags & 16) !== 0 && ((dst & mem[nb + 6]!) >>> 0) === mem[nb + 5]) verdict = Verdict.DROP;
        }
        put(out, o, verdict, 0, dst, dport, NONE, NONE);
        continue;
      }
      const sb = spBase + spId * 8;

      // Room in conntrack (same eviction rule as the core).
      let wslot = -pos - 1;
      if (ct[wslot * 8 + 3] === 0 && this.ctCount >= this.ctMax) {
        wslot = this.#evict(h);
        if (wslot < 0) {
          this.drops++;
          put(out, o, Verdict.DROP_CONNTRACK_FULL, flags, dst, dport, NONE, spId);
          continue;
        }
        flags |= ResultFlag.EARLY_DROP;
      }

      const m = mem[sb + 4]!;
      if (m === 0) {
        // iptables: KUBE-EXTERNAL-SERVICES' REJECT is reached from INPUT and FORWARD only — a host process's packet
        // to an external or LB IP that is not local leaves the node.
        const leaves = external && arrival === ArrivalCode.host && (flags & ResultFlag.NODEPORT) === 0 && mem[nb + 1] === 0
          && localAddressFlags(mem, addrBase, addrMask, node, dst) === 0;
        put(out, o, leaves ? Verdict.PASS : Verdict.REJECT, flags, dst, dport, NONE, spId);
        continue;
      }
      const spFlags = mem[sb]!;
      if ((spFlags & 8) !== 0) throw new TypeError('The typed-array kernel does not model session affinity');
      const mode = mem[nb + 1]!;
      if (mode === 2) throw new TypeError('The typed-array kernel does not model IPVS');
      const hasDetector = (nflags & 8) !== 0;
      const fromPod = hasDetector && ((src & mem[nb + 4]!) >>> 0) === mem[nb + 3];
      let masq = false;
      let useLocal = false;
      if (!external) {
        masq = (nflags & 2) !== 0 || (hasDetector && !fromPod);
        useLocal = (spFlags & 2) !== 0;
      } else if ((spFlags & 4) === 0) masq = true;
      else if (fromPod) { /* short-circuit */ }
      else if (arrival === ArrivalCode.host) masq = true;
      else useLocal = true;

      const block = mem[sb + 2]!;
      const n = mem[sb + 3]!;
      const g = mem[sb + 6]!;
      let list16: number; // u16 index of the list
      let lm = m;
      if (useLocal) {
        flags |= ResultFlag.LOCAL_POLICY;
        const groups = (block + n * 16) >>> 2;
        let lo = 0;
        let hi = g;
        while (lo < hi) { const mid = (lo + hi) >>> 1; if (mem[groups + mid * 2]! < node) lo = mid + 1; else hi = mid; }
        lm = lo < g && mem[groups + lo * 2] === node ? mem16[((block + n * 16 + lo * 8) >>> 1) + 3]! : 0;
        if (lm === 0) {
          put(out, o, Verdict.DROP, flags, dst, dport, NONE, spId);
          continue;
        }
        list16 = ((block + n * 16 + g * 8 + n * 2) >>> 1) + mem16[((block + n * 16 + lo * 8) >>> 1) + 2]!;
      } else {
        list16 = (block + n * 16 + g * 8) >>> 1;
      }
      const flow = h; // the flow hash is the conntrack key hash
      let chosen: number;
      if (mode === 0) {
        chosen = lm - 1;
        for (let r = 0; r + 1 < lm; r++) {
          if ((draw(flow, seed, r) & 0x7fffffff) < mem[statBase + lm - r]!) { chosen = r; break; }
        }
      } else {
        chosen = Math.floor((draw(flow, seed, 0) * lm) / 4294967296);
      }
      const rec = (block >>> 2) + mem16[list16 + chosen]! * 4;
      const epIp = mem[rec]!;
      const epPort = mem[rec + 1]! & 0xffff;
      const epId = mem[rec + 3]!;
      if (epIp === src) masq = true;
      if (masq) flags |= ResultFlag.MASQUERADE | ResultFlag.SNAT;
      const s = wslot * 8;
      if (ct[s + 3] === 0) this.ctCount++;
      ct[s] = src; ct[s + 1] = dst; ct[s + 2] = ports; ct[s + 3] = tagKey | (masq ? CT_SNAT : 0);
      ct[s + 4] = epIp; ct[s + 5] = (epPort | (spId << 16)) >>> 0; ct[s + 6] = epId; ct[s + 7] = now + TIMEOUTS[pi * 2]!;
      put(out, o, Verdict.DNAT, flags, epIp, epPort, epId, spId);
    }
  }

  #home(s: number): number {
    return ctHash((this.ct[s + 3]! & ~0xf) >>> 0, this.ct[s]!, this.ct[s + 1]!, this.ct[s + 2]!) & this.ctMask;
  }

  #deleteAt(slot: number): void {
    const ct = this.ct;
    const mask = this.ctMask;
    let hole = slot;
    let j = (slot + 1) & mask;
    while (ct[j * 8 + 3] !== 0) {
      const home = this.#home(j * 8);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        ct.copyWithin(hole * 8, j * 8, j * 8 + 8);
        hole = j;
      }
      j = (j + 1) & mask;
    }
    ct.fill(0, hole * 8, hole * 8 + 8);
    this.ctCount--;
  }

  /** The core's early drop: evict an expired or unassured entry within 8 slots; the new key's slot, or −1. */
  #evict(h: number): number {
    let i = h & this.ctMask;
    for (let k = 0; k < 8; k++) {
      const t = this.ct[i * 8 + 3]!;
      if (t !== 0 && (this.ct[i * 8 + 7]! <= this.now || (t & CT_ASSURED) === 0)) {
        this.#deleteAt(i);
        this.earlyDrops++;
        let j = h & this.ctMask;
        while (this.ct[j * 8 + 3] !== 0) j = (j + 1) & this.ctMask;
        return j;
      }
      i = (i + 1) & this.ctMask;
    }
    return -1;
  }

  /** Removes expired entries; returns how many. */
  sweep(): number {
    const size = this.ctMask + 1;
    let start = 0;
    while (start < size && this.ct[start * 8 + 3] !== 0) start++;
    let removed = 0;
    let i = (start + 1) & this.ctMask;
    for (let step = 0; step < size; step++) {
      const s = i * 8;
      if (this.ct[s + 3] !== 0 && this.ct[s + 7]! <= this.now) {
        this.#deleteAt(i);
        removed++;
        step--;
        continue;
      }
      i = (i + 1) & this.ctMask;
    }
    return removed;
  }
}

/** The core's local-address flags of (node, ip): 0 when the address is not local on that node. */
function localAddressFlags(mem: Uint32Array, addrBase: number, addrMask: number, node: number, ip: number): number {
  let hh = Math.imul(ip ^ Math.imul(node, 0x9e3779b9), 0x85ebca6b) >>> 0;
  hh ^= hh >>> 15;
  for (let j = hh & addrMask; ; j = (j + 1) & addrMask) {
    const s = addrBase + j * 4;
    const t = mem[s]!;
    if (t === 0) return 0;
    if (t === node + 1 && mem[s + 1] === ip) return mem[s + 2]!;
  }
}
