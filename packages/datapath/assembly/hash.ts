// Hashing: the counter-based random draws, the flow hash that places conntrack entries, and the kernel's own hash
// functions where a data plane's choice depends on them (hash_32 for IPVS sh, hsiphash for IPVS mh).

/** Integer finalizer ("lowbias32"): a bijection on u32 with good avalanche. */
// @ts-ignore: decorator
@inline export function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

/**
 * Hash of a flow as one node sees it: its conntrack key (tag = (node + 1) << 8 | protocol index << 4, addresses,
 * ports << 16 | port). It places the conntrack entry and keys the flow's random draws; one mix, so established
 * packets and sweeps stay cheap.
 */
// @ts-ignore: decorator
@inline export function ctHash(tagKey: u32, src: u32, dst: u32, ports: u32): u32 {
  return mix32((src * 0x9e3779b1) ^ (dst * 0x85ebca77) ^ (ports * 0xc2b2ae3d) ^ (tagKey * 0x27d4eb2f));
}

/** ctHash from the packet's fields (protocol as index 0 TCP, 1 UDP, 2 SCTP). */
// @ts-ignore: decorator
@inline export function flowHash(node: u32, proto: u32, src: u32, sport: u32, dst: u32, dport: u32): u32 {
  return ctHash(((node + 1) << 8) | (proto << 4), src, dst, (sport << 16) | (dport & 0xffff));
}

/** The k-th random draw (k = 0, 1, …) of a flow: depends only on seed, flow and k, never on batching or time. */
// @ts-ignore: decorator
@inline export function draw(flow: u32, seed: u32, k: u32): u32 {
  return mix32(flow ^ mix32(seed + (k + 1) * 0x9e3779b9));
}

/** The kernel's hash_32(val, bits) with GOLDEN_RATIO_32. */
// @ts-ignore: decorator
@inline export function hash32(val: u32, bits: u32): u32 {
  return (val * 0x61c88647) >>> (32 - bits);
}

// @ts-ignore: decorator
@inline function rotl(x: u64, b: u64): u64 { return (x << b) | (x >>> (64 - b)); }

/**
 * Linux's hsiphash of one u32 on a 64-bit kernel (SipHash-1-3, both key words equal to `key`), truncated to u32 as
 * `hsiphash()` returns it. IPVS mh calls it with fixed keys, so its tables are the same on every machine.
 */
export function hsiphash32(value: u32, key: u64): u32 {
  let v0: u64 = 0x736f6d6570736575 ^ key;
  let v1: u64 = 0x646f72616e646f6d ^ key;
  let v2: u64 = 0x6c7967656e657261 ^ key;
  let v3: u64 = 0x7465646279746573 ^ key;
  const b: u64 = ((4 as u64) << 56) | (value as u64);
  v3 ^= b;
  // one SipRound
  v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
  v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  v0 ^= b;
  v2 ^= 0xff;
  for (let i = 0; i < 3; i++) {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  return <u32>((v0 ^ v1) ^ (v2 ^ v3));
}

/** Exported for known-vector tests against the TypeScript port. */
export function coreHsiphash32(value: u32, keyLo: u32, keyHi: u32): u32 {
  return hsiphash32(value, ((keyHi as u64) << 32) | (keyLo as u64));
}
export function coreDraw(flow: u32, s: u32, k: u32): u32 { return draw(flow, s, k); }
export function coreCtHash(tagKey: u32, src: u32, dst: u32, ports: u32): u32 { return ctHash(tagKey, src, dst, ports); }
export function coreFlowHash(node: u32, proto: u32, src: u32, sport: u32, dst: u32, dport: u32): u32 {
  return flowHash(node, proto, src, sport, dst, dport);
}
