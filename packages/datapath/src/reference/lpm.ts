import { LPM_MISS } from '../abi-tables.js';
import { type LpmEntry, type LpmTableLike, checkValue, lpmErrors } from '../lpm-table.js';
import { checkAddress, checkPrefix } from '../tables-errors.js';

/** The network address of `ip` under a prefix of `length` bits. */
function networkOf(ip: number, length: number): number {
  return length === 0 ? 0 : (ip & (0xffff_ffff << (32 - length))) >>> 0;
}

/**
 * The readable reference of {@link LpmTable}: one Map per prefix length, and a lookup that tries every length from
 * /32 down to /0. Same semantics and errors as the WebAssembly table; the differential tests hold them equal.
 */
export class ReferenceLpmTable implements LpmTableLike {
  /** byLength[L]: network address → value, for the prefixes of length L. */
  readonly #byLength: Map<number, number>[] = Array.from({ length: 33 }, () => new Map<number, number>());

  get size(): number {
    return this.#byLength.reduce((n, m) => n + m.size, 0);
  }

  add(prefix: number, length: number, value: number): void {
    checkPrefix(prefix, length);
    checkValue(value);
    const old = this.#byLength[length]!.get(prefix);
    if (old !== undefined) throw lpmErrors.exists(prefix, length, old);
    this.#byLength[length]!.set(prefix, value);
  }

  set(prefix: number, length: number, value: number): number | undefined {
    checkPrefix(prefix, length);
    checkValue(value);
    const previous = this.#byLength[length]!.get(prefix);
    this.#byLength[length]!.set(prefix, value);
    return previous;
  }

  delete(prefix: number, length: number): boolean {
    checkPrefix(prefix, length);
    return this.#byLength[length]!.delete(prefix);
  }

  get(prefix: number, length: number): number | undefined {
    checkPrefix(prefix, length);
    return this.#byLength[length]!.get(prefix);
  }

  lookup(ip: number): number | undefined {
    checkAddress('ip', ip);
    for (let length = 32; length >= 0; length--) {
      const value = this.#byLength[length]!.get(networkOf(ip, length));
      if (value !== undefined) return value;
    }
    return undefined;
  }

  lookupMany(ips: ArrayLike<number>, out: Uint32Array = new Uint32Array(ips.length)): Uint32Array {
    if (out.length < ips.length) {
      throw new RangeError(`Expected \`out\` to hold at least ${ips.length} elements; got ${out.length}`);
    }
    for (let i = 0; i < ips.length; i++) checkAddress(`ips[${i}]`, ips[i]);
    for (let i = 0; i < ips.length; i++) out[i] = this.lookup(ips[i]!) ?? LPM_MISS;
    return out;
  }

  entries(): LpmEntry[] {
    const entries: LpmEntry[] = [];
    this.#byLength.forEach((m, length) => m.forEach((value, prefix) => entries.push({ prefix, length, value })));
    return entries.sort((a, b) => a.prefix - b.prefix || a.length - b.length);
  }

  clone(): ReferenceLpmTable {
    const copy = new ReferenceLpmTable();
    for (const { prefix, length, value } of this.entries()) copy.add(prefix, length, value);
    return copy;
  }
}
