// Experiment (AssemblyScript): the established-packet path on two conntrack layouts, to measure what a 3-entries-a-
// line table would cost before building it into the core. Not part of the datapath; see README.md.
//
// A, the core's layout: 32-byte slots, two a line, the translation (address, port | service-port, endpoint id) and
//    expiry in the slot. Power-of-two slots, linear probing.
// B, compact: 64-byte lines of three 21⅓-byte entries, struct of arrays inside the line (src×3, dst×3, ports×3,
//    tag×3, expiry×3, one word of 3 × 10 low bits of the translation id); the tag word is key21 << 11 | id >> 10.
//    The translation is interned in a table of 16-byte records (address, port | service-port, endpoint id, count).
//    Lines by multiply-shift from the hash (any count), entries probed lane by lane.

let top: usize = 0;
function bump(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 63) & ~(<usize>63);
  const p = top;
  top = (top + bytes + 63) & ~(<usize>63);
  const need = <i32>((top + 0xffff) >>> 16) - memory.size();
  if (need > 0) memory.grow(need);
  memory.fill(p, 0, bytes);
  return p;
}

// @ts-ignore: decorator
@inline function mix32(x: u32): u32 {
  x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16;
  return x;
}
// @ts-ignore: decorator
@inline function ctHash(tag: u32, src: u32, dst: u32, ports: u32): u32 {
  return mix32((src * 0x9e3779b1) ^ (dst * 0x85ebca77) ^ (ports * 0xc2b2ae3d) ^ (tag * 0x27d4eb2f));
}

const GROUP: u32 = 32;
const gHash: usize = memory.data(GROUP * 4);
const gAt: usize = memory.data(GROUP * 4);
let sink: u32 = 0;
export function getSink(): u32 { return sink; }

// ---- A ----
let aPtr: usize = 0;
let aMask: u32 = 0;
export function initA(slots: u32): void { aPtr = bump(<usize>slots << 5); aMask = slots - 1; }
export function insertA(tag: u32, src: u32, dst: u32, ports: u32, ip: u32, portSp: u32, ep: u32, expiry: u32): void {
  let i = ctHash(tag, src, dst, ports) & aMask;
  while (load<u32>(aPtr + (<usize>i << 5), 12) != 0) i = (i + 1) & aMask;
  const p = aPtr + (<usize>i << 5);
  store<u32>(p, src); store<u32>(p, dst, 4); store<u32>(p, ports, 8); store<u32>(p, tag, 12);
  store<u32>(p, ip, 16); store<u32>(p, portSp, 20); store<u32>(p, ep, 24); store<u32>(p, expiry, 28);
}
/** Packets: 16 bytes (tag, src, dst, ports); results: 16 bytes (address, port, endpoint id, hit). */
export function processA(inPtr: usize, outPtr: usize, n: u32, now: u32): u32 {
  let s: u32 = 0;
  const mask = aMask;
  const base0 = aPtr;
  for (let base: u32 = 0; base < n; base += GROUP) {
    const count = base + GROUP < n ? GROUP : n - base;
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << 4);
      store<u32>(gHash + (<usize>k << 2), ctHash(load<u32>(pk), load<u32>(pk, 4), load<u32>(pk, 8), load<u32>(pk, 12)));
    }
    for (let k: u32 = 0; k < count; k++) {
      const i = load<u32>(gHash + (<usize>k << 2)) & mask;
      s ^= load<u32>(base0 + (<usize>i << 5), 12) ^ load<u32>(base0 + (<usize>(((i | 1) + 1) & mask) << 5), 12);
    }
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << 4);
      const out = outPtr + (<usize>(base + k) << 4);
      const tag = load<u32>(pk), src = load<u32>(pk, 4), dst = load<u32>(pk, 8), ports = load<u32>(pk, 12);
      let i = load<u32>(gHash + (<usize>k << 2)) & mask;
      store<u32>(out, 0, 12);
      while (true) {
        const p = base0 + (<usize>i << 5);
        const t = load<u32>(p, 12);
        if (t == 0) break;
        if (t == tag && load<u32>(p) == src && load<u32>(p, 4) == dst && load<u32>(p, 8) == ports) {
          if (load<u32>(p, 28) > now) {
            store<u32>(p, now + 432000, 28);
            const ps = load<u32>(p, 20);
            store<u32>(out, load<u32>(p, 16)); store<u32>(out, ps & 0xffff, 4); store<u32>(out, load<u32>(p, 24), 8); store<u32>(out, 1, 12);
          }
          break;
        }
        i = (i + 1) & mask;
      }
    }
  }
  sink ^= s;
  return n;
}

// ---- B ----
let bPtr: usize = 0;
let bLines: u32 = 0;
let xPtr: usize = 0;
export function initB(lines: u32, translations: u32): void { bPtr = bump(<usize>lines << 6); bLines = lines; xPtr = bump(<usize>translations << 4); }
export function setTranslation(id: u32, ip: u32, portSp: u32, ep: u32): void {
  const x = xPtr + (<usize>id << 4);
  store<u32>(x, ip); store<u32>(x, portSp, 4); store<u32>(x, ep, 8); store<u32>(x, load<u32>(x, 12) + 1, 12);
}
// @ts-ignore: decorator
@inline function homeB(h: u32): u32 {
  // line from the high bits (multiply-shift over any line count), lane from the low bits: slot = line × 3 + lane
  const line = <u32>((<u64>h * <u64>bLines) >>> 32);
  return line * 3 + (((h & 0xffff) * 3) >>> 16);
}
// @ts-ignore: decorator
@inline function linePtr(slot: u32): usize { return bPtr + (<usize>(slot / 3) << 6); }
export function insertB(key21: u32, src: u32, dst: u32, ports: u32, xid: u32, expiry: u32): void {
  const slots = bLines * 3;
  let s = homeB(ctHash(key21, src, dst, ports));
  while (true) {
    const lane = s % 3;
    if (load<u32>(linePtr(s) + 36 + (<usize>lane << 2)) == 0) break;
    s = s + 1 == slots ? 0 : s + 1;
  }
  const lane = <usize>(s % 3);
  const p = linePtr(s);
  store<u32>(p + (lane << 2), src); store<u32>(p + 12 + (lane << 2), dst); store<u32>(p + 24 + (lane << 2), ports);
  store<u32>(p + 36 + (lane << 2), (key21 << 11) | (xid >>> 10)); store<u32>(p + 48 + (lane << 2), expiry);
  store<u32>(p, (load<u32>(p, 60) & ~(<u32>0x3ff << (<u32>lane * 10))) | ((xid & 0x3ff) << (<u32>lane * 10)), 60);
}
export function processB(inPtr: usize, outPtr: usize, n: u32, now: u32, touchNext: u32): u32 {
  let s: u32 = 0;
  const slots = bLines * 3;
  const base0 = bPtr;
  const x0 = xPtr;
  for (let base: u32 = 0; base < n; base += GROUP) {
    const count = base + GROUP < n ? GROUP : n - base;
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << 4);
      store<u32>(gHash + (<usize>k << 2), homeB(ctHash(load<u32>(pk), load<u32>(pk, 4), load<u32>(pk, 8), load<u32>(pk, 12))));
    }
    for (let k: u32 = 0; k < count; k++) {
      const h = load<u32>(gHash + (<usize>k << 2));
      const line = h / 3;
      s ^= load<u32>(base0 + (<usize>line << 6), 36);
      if (touchNext != 0) s ^= load<u32>(base0 + (<usize>(line + 1 == bLines ? 0 : line + 1) << 6), 36);
    }
    // Probes: a hit leaves its translation id, a miss −1.
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << 4);
      const key21 = load<u32>(pk), src = load<u32>(pk, 4), dst = load<u32>(pk, 8), ports = load<u32>(pk, 12);
      let sl = load<u32>(gHash + (<usize>k << 2));
      let found: i32 = -1;
      while (true) {
        const lane = <usize>(sl % 3);
        const p = base0 + (<usize>(sl / 3) << 6);
        const t = load<u32>(p + 36 + (lane << 2));
        if (t == 0) break;
        if ((t >>> 11) == key21 && load<u32>(p + (lane << 2)) == src && load<u32>(p + 12 + (lane << 2)) == dst &&
          load<u32>(p + 24 + (lane << 2)) == ports) {
          if (load<u32>(p + 48 + (lane << 2)) > now) {
            store<u32>(p + 48 + (lane << 2), now + 432000);
            found = <i32>(((t & 0x7ff) << 10) | ((load<u32>(p, 60) >>> (<u32>lane * 10)) & 0x3ff));
          }
          break;
        }
        sl = sl + 1 == slots ? 0 : sl + 1;
      }
      store<i32>(gAt + (<usize>k << 2), found);
    }
    // The translations: touched for the group, then read.
    for (let k: u32 = 0; k < count; k++) {
      const id = load<i32>(gAt + (<usize>k << 2));
      if (id >= 0) s ^= load<u32>(x0 + (<usize>id << 4));
    }
    for (let k: u32 = 0; k < count; k++) {
      const out = outPtr + (<usize>(base + k) << 4);
      const id = load<i32>(gAt + (<usize>k << 2));
      if (id < 0) { store<u32>(out, 0, 12); continue; }
      const x = x0 + (<usize>id << 4);
      store<u32>(out, load<u32>(x)); store<u32>(out, load<u32>(x, 4) & 0xffff, 4); store<u32>(out, load<u32>(x, 8), 8); store<u32>(out, 1, 12);
    }
  }
  sink ^= s;
  return n;
}

export function alloc(bytes: u32): usize { return bump(bytes); }

/**
 * A with each batch format chosen: packets of 32 bytes (as processA32) or 16 bytes packed (node | arrival << 16 |
 * protocol << 24, source, destination, source port << 16 | destination port); results of 24 bytes (as processA32) or
 * 16 bytes packed (verdict | flags << 8 | port << 16, address, endpoint id, service-port).
 */
// @ts-ignore: decorator
@inline function processFormats(inPtr: usize, outPtr: usize, n: u32, now: u32, nodes: u32, packedIn: bool, packedOut: bool): u32 {
  let s: u32 = 0;
  const mask = aMask;
  const base0 = aPtr;
  const inShift: usize = packedIn ? 4 : 5;
  for (let base: u32 = 0; base < n; base += GROUP) {
    const count = base + GROUP < n ? GROUP : n - base;
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << inShift);
      let node: u32, arrival: u32, proto: u32, src: u32, dst: u32, ports: u32;
      if (packedIn) {
        const w = load<u32>(pk);
        node = w & 0xffff; arrival = (w >>> 16) & 0xff; proto = w >>> 24;
        src = load<u32>(pk, 4); dst = load<u32>(pk, 8); ports = load<u32>(pk, 12);
      } else {
        node = load<u32>(pk); arrival = load<u32>(pk, 4); proto = load<u32>(pk, 8);
        src = load<u32>(pk, 12); dst = load<u32>(pk, 20);
        ports = ((load<u32>(pk, 16) & 0xffff) << 16) | (load<u32>(pk, 24) & 0xffff);
      }
      const pi: u32 = proto == 6 ? 0 : proto == 17 ? 1 : 2;
      const valid = (proto == 6 || proto == 17 || proto == 132) && arrival <= 2 && node < nodes;
      const tag = valid ? ((node + 1) << 8) | (pi << 4) : 0;
      store<u32>(gAt + (<usize>k << 2), tag);
      store<u32>(gHash + (<usize>k << 2), ctHash(tag, src, dst, ports));
    }
    for (let k: u32 = 0; k < count; k++) {
      const i = load<u32>(gHash + (<usize>k << 2)) & mask;
      s ^= load<u32>(base0 + (<usize>i << 5), 12) ^ load<u32>(base0 + (<usize>(((i | 1) + 1) & mask) << 5), 12);
    }
    for (let k: u32 = 0; k < count; k++) {
      const pk = inPtr + (<usize>(base + k) << inShift);
      const out = outPtr + <usize>(base + k) * (packedOut ? 16 : 24);
      const tag = load<u32>(gAt + (<usize>k << 2));
      let src: u32, dst: u32, ports: u32;
      if (packedIn) { src = load<u32>(pk, 4); dst = load<u32>(pk, 8); ports = load<u32>(pk, 12); } else {
        src = load<u32>(pk, 12); dst = load<u32>(pk, 20);
        ports = ((load<u32>(pk, 16) & 0xffff) << 16) | (load<u32>(pk, 24) & 0xffff);
      }
      let i = load<u32>(gHash + (<usize>k << 2)) & mask;
      store<u32>(out, 0);
      while (true) {
        const p = base0 + (<usize>i << 5);
        const t = load<u32>(p, 12);
        if (t == 0) break;
        if ((t & ~0xf) == tag && load<u32>(p) == src && load<u32>(p, 4) == dst && load<u32>(p, 8) == ports) {
          if (load<u32>(p, 28) > now) {
            store<u32>(p, now + 432000, 28);
            const ps = load<u32>(p, 20);
            if (packedOut) {
              store<u32>(out, 1 | (4 << 8) | (ps << 16)); store<u32>(out, load<u32>(p, 16), 4);
              store<u32>(out, load<u32>(p, 24), 8); store<u32>(out, ps >>> 16, 12);
            } else {
              store<u32>(out, 1); store<u32>(out, 4, 4); store<u32>(out, load<u32>(p, 16), 8); store<u32>(out, ps & 0xffff, 12);
              store<u32>(out, load<u32>(p, 24), 16); store<u32>(out, ps >>> 16, 20);
            }
          }
          break;
        }
        i = (i + 1) & mask;
      }
    }
  }
  sink ^= s;
  return n;
}
export function processIn16Out24(inPtr: usize, outPtr: usize, n: u32, now: u32, nodes: u32): u32 { return processFormats(inPtr, outPtr, n, now, nodes, true, false); }
export function processIn32Out16(inPtr: usize, outPtr: usize, n: u32, now: u32, nodes: u32): u32 { return processFormats(inPtr, outPtr, n, now, nodes, false, true); }
export function processIn16Out16(inPtr: usize, outPtr: usize, n: u32, now: u32, nodes: u32): u32 { return processFormats(inPtr, outPtr, n, now, nodes, true, true); }
export function processIn32Out24(inPtr: usize, outPtr: usize, n: u32, now: u32, nodes: u32): u32 { return processFormats(inPtr, outPtr, n, now, nodes, false, false); }
