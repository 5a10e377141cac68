/**
 * Address ownership as a longest-prefix-match table: `(prefix, length) → owner id`. The VPC CNI keeps subnets,
 * ENI addresses, /28 prefixes and pod /32s in one, so `lookup(ip)` answers "whose is this address" with the most
 * specific owner. The interface is the part of the datapath's `LpmTableLike` the CNI uses, so the WASM table
 * can stand in for the TypeScript one. Addresses are IPv4 as unsigned 32-bit integers.
 */
export interface OwnershipIndex {
  /** Adds or replaces `prefix/length → value`; returns the previous value, if any. */
  set(prefix: number, length: number, value: number): number | undefined;
  /** Removes exactly `prefix/length`; false if it was absent. */
  delete(prefix: number, length: number): boolean;
  /** The value stored for exactly `prefix/length`. */
  get(prefix: number, length: number): number | undefined;
  /** The value of the longest prefix containing `ip`. */
  lookup(ip: number): number | undefined;
  /** `lookup` of every address at once; `out[i]` is the value or {@link OWNER_MISS}. Returns `out` (new if not given). */
  lookupMany(ips: ArrayLike<number>, out?: Uint32Array): Uint32Array;
  clone(): OwnershipIndex;
}

/** What `lookupMany` writes for an address no prefix covers (the datapath's `LPM_MISS`). */
export const OWNER_MISS = 0xffffffff;

function mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** The plain TypeScript `OwnershipIndex`: one hash map per prefix length, searched longest first. */
export class MapOwnershipIndex implements OwnershipIndex {
  private readonly byLength: Map<number, number>[];

  constructor(byLength?: Map<number, number>[]) {
    this.byLength = byLength ?? Array.from({ length: 33 }, () => new Map<number, number>());
  }

  set(prefix: number, length: number, value: number): number | undefined {
    const key = (prefix & mask(length)) >>> 0;
    const table = this.byLength[length]!;
    const previous = table.get(key);
    table.set(key, value);
    return previous;
  }

  delete(prefix: number, length: number): boolean {
    return this.byLength[length]!.delete((prefix & mask(length)) >>> 0);
  }

  get(prefix: number, length: number): number | undefined {
    return this.byLength[length]!.get((prefix & mask(length)) >>> 0);
  }

  lookup(ip: number): number | undefined {
    for (let length = 32; length >= 0; length--) {
      const table = this.byLength[length]!;
      if (table.size === 0) continue;
      const v = table.get((ip & mask(length)) >>> 0);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  lookupMany(ips: ArrayLike<number>, out: Uint32Array = new Uint32Array(ips.length)): Uint32Array {
    for (let i = 0; i < ips.length; i++) out[i] = this.lookup(ips[i]!) ?? OWNER_MISS;
    return out;
  }

  clone(): MapOwnershipIndex {
    return new MapOwnershipIndex(this.byLength.map((m) => new Map(m)));
  }
}
