import { hsiphash32 } from './hash.js';

/** IPVS mh's table size (primes[IP_VS_MH_TAB_INDEX], default index 12). */
export const MAGLEV_TABLE_SIZE = 4093;
/** ip_vs_mh's generate_hash_secret: fixed keys, so every kernel builds the same table. */
export const MH_HASH1 = 2654435761;
export const MH_HASH2 = 2654446892;

/**
 * ip_vs_mh_populate for destinations of weight 1, in list order: each destination's permutation starts at
 * hash1(addr + port) mod M and steps by hash2(addr + port) mod (M − 1) + 1; destinations take turns claiming their
 * next free entry. Returns, per entry, the destination's position in `destinations`.
 */
export function buildMaglevTable(destinations: readonly { ip: number; port: number }[]): Uint16Array {
  const m = MAGLEV_TABLE_SIZE;
  const table = new Uint16Array(m);
  const taken = new Uint8Array(m);
  const perm = destinations.slice(0, m).map((d) => {
    const v = (d.ip + d.port) >>> 0;
    return { next: hsiphash32(v, MH_HASH1) % m, skip: (hsiphash32(v, MH_HASH2) % (m - 1)) + 1 };
  });
  let filled = 0;
  while (filled < m) {
    for (let d = 0; d < perm.length; d++) {
      const p = perm[d]!;
      while (taken[p.next]) {
        p.next += p.skip;
        if (p.next >= m) p.next -= m;
      }
      taken[p.next] = 1;
      table[p.next] = d;
      if (++filled === m) return table;
    }
  }
  return table;
}

/** The destination position IPVS mh picks for a source address (source port not hashed). */
export function maglevLookup(table: Uint16Array, srcIP: number): number {
  return table[hsiphash32(srcIP, MH_HASH1) % MAGLEV_TABLE_SIZE]!;
}
