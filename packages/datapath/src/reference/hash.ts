/**
 * The hash functions of the datapath in plain TypeScript: the counter-based draws, the flow hash, and the kernel's
 * hash_32 and (64-bit) hsiphash. Same results as assembly/hash.ts, bit for bit.
 */

/** Integer finalizer ("lowbias32"), a bijection on u32. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hash of a flow's conntrack key (tag = (node + 1) << 8 | protocol index << 4, addresses, sport << 16 | dport): it
 * places the entry in the core's table and keys the flow's random draws.
 */
export function ctHash(tagKey: number, src: number, dst: number, ports: number): number {
  return mix32(Math.imul(src, 0x9e3779b1) ^ Math.imul(dst, 0x85ebca77) ^ Math.imul(ports, 0xc2b2ae3d) ^ Math.imul(tagKey, 0x27d4eb2f));
}

/** ctHash from a packet's fields (protocol as index 0 TCP, 1 UDP, 2 SCTP). */
export function flowHash(node: number, protoIndex: number, src: number, sport: number, dst: number, dport: number): number {
  return ctHash((((node + 1) << 8) | (protoIndex << 4)) >>> 0, src, dst, ((sport << 16) | (dport & 0xffff)) >>> 0);
}

/** The k-th random draw of a flow: a function of seed, flow and k only. */
export function draw(flow: number, seed: number, k: number): number {
  return mix32(flow ^ mix32((seed + Math.imul(k + 1, 0x9e3779b9)) >>> 0));
}

/** The kernel's hash_32(val, bits) with GOLDEN_RATIO_32. */
export function hash32(value: number, bits: number): number {
  return Math.imul(value, 0x61c88647) >>> (32 - bits);
}

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

/** Linux's 64-bit hsiphash of one u32 (SipHash-1-3, both key words = key), as `hsiphash(&v, 4, key)` returns it. */
export function hsiphash32(value: number, key: number): number {
  const k = BigInt(key);
  let v0 = 0x736f6d6570736575n ^ k;
  let v1 = 0x646f72616e646f6dn ^ k;
  let v2 = 0x6c7967656e657261n ^ k;
  let v3 = 0x7465646279746573n ^ k;
  const round = (): void => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(value >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}
