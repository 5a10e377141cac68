import { DatapathError } from './errors.js';
import { LPM_MAX_ENTRIES, LPM_MISS, TableStatus } from './abi-tables.js';
import { checkAddress, checkInteger, checkPrefix, freedError } from './tables-errors.js';
import { formatIPv4 } from './ipv4.js';
import { DatapathTableObject, type DatapathTablesHost, WasmU32Buffer } from './tables-memory.js';

/** One entry of an LPM table. Addresses are IPv4 as unsigned 32-bit integers. */
export interface LpmEntry {
  prefix: number;
  /** Prefix length, 0..32. */
  length: number;
  value: number;
}

/** What the WebAssembly table and the TypeScript reference both do (the differential tests hold them to it). */
export interface LpmTableLike {
  /** Number of prefixes. */
  readonly size: number;
  /** Adds `prefix/length → value`; throws `E_LPM_PREFIX_EXISTS` if that exact prefix is present. */
  add(prefix: number, length: number, value: number): void;
  /** Adds or replaces; returns the previous value, if any. */
  set(prefix: number, length: number, value: number): number | undefined;
  /** Removes exactly `prefix/length`; shorter covering prefixes match again. False if it was absent. */
  delete(prefix: number, length: number): boolean;
  /** The value stored for exactly `prefix/length`. */
  get(prefix: number, length: number): number | undefined;
  /** The value of the longest prefix containing `ip`, or undefined. */
  lookup(ip: number): number | undefined;
  /** Looks up every address; `out[i]` is the value or {@link LPM_MISS}. Returns `out` (a new array if not given). */
  lookupMany(ips: ArrayLike<number>, out?: Uint32Array): Uint32Array;
  /** Every entry, ordered by prefix then length. */
  entries(): LpmEntry[];
  /** An independent copy (for rollback). */
  clone(): LpmTableLike;
}

/** Options of {@link LpmTable}. */
export interface LpmTableOptions {
  /** Entries to hold before the table first grows (it doubles when it fills; default 8). */
  capacity?: number;
}

/** The errors both implementations raise for a state that refuses an operation (nothing changed). */
export const lpmErrors = {
  exists: (prefix: number, length: number, old: number | undefined) =>
    new DatapathError(
      'E_LPM_PREFIX_EXISTS',
      `${formatIPv4(prefix)}/${length} is already in the table (value ${old}); use set() to replace it or delete() it first`,
    ),
  full: () => new DatapathError('E_LPM_TABLE_FULL', `The LPM table holds its maximum of ${LPM_MAX_ENTRIES} prefixes`),
};

export function checkValue(value: unknown): number {
  return checkInteger('value', value, 0, LPM_MISS - 1, `a table value (${LPM_MISS} is the miss result)`);
}

/**
 * A longest-prefix-match table over IPv4 in the datapath's linear memory: `(prefix, length) → value (u32)`, with
 * incremental add and remove and overlapping prefixes (VPC /16 ⊃ subnet /19 ⊃ ENI /28 ⊃ pod /32). For ownership
 * (value = owner id) and route tables (value = route id). `free()` releases it at once; a dropped table is freed
 * when garbage-collected.
 */
export class LpmTable extends DatapathTableObject implements LpmTableLike {
  /** Creates an empty table in `datapath` (a loaded instance: `loadDatapath()`'s result or a raw instance). */
  constructor(datapath: DatapathTablesHost, options: LpmTableOptions = {}) {
    super(
      datapath,
      'LpmTable',
      (abi) => abi.lpmCreate(checkInteger('capacity', options.capacity ?? 8, 0, LPM_MAX_ENTRIES, 'a number of entries')),
      (abi, handle) => abi.lpmFree(handle),
    );
  }

  /** Same as `new LpmTable(datapath, options)`. */
  static create(datapath: DatapathTablesHost, options?: LpmTableOptions): LpmTable {
    return new LpmTable(datapath, options);
  }

  get size(): number {
    return this.abi.lpmSize(this.handle);
  }

  /** Bytes of linear memory the table holds. */
  get byteLength(): number {
    return this.abi.lpmBytes(this.handle);
  }

  add(prefix: number, length: number, value: number): void {
    checkPrefix(prefix, length);
    checkValue(value);
    const status = this.abi.lpmAdd(this.handle, prefix, length, value);
    if (status === TableStatus.EXISTS) throw lpmErrors.exists(prefix, length, this.get(prefix, length));
    if (status === TableStatus.BAD_CAPACITY) throw lpmErrors.full();
    this.#check(status);
  }

  set(prefix: number, length: number, value: number): number | undefined {
    checkPrefix(prefix, length);
    checkValue(value);
    const previous = this.get(prefix, length);
    if (previous === undefined) this.add(prefix, length, value);
    else this.#check(this.abi.lpmReplace(this.handle, prefix, length, value));
    return previous;
  }

  delete(prefix: number, length: number): boolean {
    checkPrefix(prefix, length);
    const status = this.abi.lpmRemove(this.handle, prefix, length);
    if (status === TableStatus.NOT_FOUND) return false;
    this.#check(status);
    return true;
  }

  get(prefix: number, length: number): number | undefined {
    checkPrefix(prefix, length);
    const abi = this.abi;
    const value = abi.lpmGet(this.handle, prefix, length) >>> 0;
    if (value !== LPM_MISS) return value;
    const status = abi.tablesLastStatus();
    if (status === TableStatus.NOT_FOUND) return undefined;
    this.#check(status);
    return undefined;
  }

  lookup(ip: number): number | undefined {
    checkAddress('ip', ip);
    const value = this.abi.lpmLookup(this.liveHandle, ip) >>> 0;
    if (value !== LPM_MISS) return value;
    this.#check(this.abi.tablesLastStatus());
    return undefined;
  }

  /**
   * The batch path: looks up `count` addresses from `ips` and writes each value (or {@link LPM_MISS}) to `out`,
   * in one call and without copying. `out` may be `ips` (in place).
   */
  lookupBatch(ips: WasmU32Buffer, out: WasmU32Buffer, count: number = ips.length): void {
    for (const [name, buffer] of [['ips', ips], ['out', out]] as const) {
      if (!(buffer instanceof WasmU32Buffer) || buffer.memory !== this.binding.memory) {
        throw new TypeError(`Expected \`${name}\` to be a WasmU32Buffer created on this table's datapath instance`);
      }
    }
    checkInteger('count', count, 0, Math.min(ips.length, out.length), 'the number of addresses to look up');
    this.#check(this.abi.lpmLookupBatch(this.handle, ips.ptr, out.ptr, count));
  }

  lookupMany(ips: ArrayLike<number>, out: Uint32Array = new Uint32Array(ips.length)): Uint32Array {
    if (out.length < ips.length) {
      throw new RangeError(`Expected \`out\` to hold at least ${ips.length} elements; got ${out.length}`);
    }
    const handle = this.handle;
    for (let i = 0; i < ips.length; i++) checkAddress(`ips[${i}]`, ips[i]);
    const scratch = this.scratch(ips.length);
    scratch.array.set(ips);
    this.#check(this.abi.lpmLookupBatch(handle, scratch.ptr, scratch.ptr, ips.length));
    out.set(scratch.array.subarray(0, ips.length));
    return out;
  }

  entries(): LpmEntry[] {
    const abi = this.abi;
    const handle = this.handle;
    const entries: LpmEntry[] = [];
    for (let slot = 0, n = abi.lpmSlotCount(handle); slot < n; slot++) {
      const length = abi.lpmEntryAt(handle, slot);
      if (length >= 0) entries.push({ prefix: abi.lpmEntryPrefix() >>> 0, length, value: abi.lpmEntryValue() >>> 0 });
    }
    return entries.sort((a, b) => a.prefix - b.prefix || a.length - b.length);
  }

  clone(): LpmTable {
    return DatapathTableObject.adopt(this.abi.lpmClone(this.handle), 'LpmTable', () => new LpmTable(this.datapath));
  }

  #check(status: number): void {
    if (status === TableStatus.OK) return;
    if (status === TableStatus.BAD_HANDLE) throw freedError('LpmTable');
    // Arguments are validated above, so any other status is a wrapper/core mismatch: say so rather than guess.
    throw new Error(`Unexpected LPM table status ${status} from the datapath`);
  }
}
