import type { TablesExports } from './abi-tables.js';
import { freedError } from './tables-errors.js';

/**
 * What the LPM tables and IP pools need of a loaded datapath: its exports (the raw instance's, or the loader's
 * object that carries them) and its memory. Several tables share one instance, and so one linear memory.
 */
export interface DatapathTablesHost {
  readonly exports: object;
  readonly memory?: WebAssembly.Memory;
}

/** The table exports and memory of a host, checked once so a wrong object fails at construction. */
export interface TablesBinding {
  readonly abi: TablesExports;
  readonly memory: WebAssembly.Memory;
}

const bindings = new WeakMap<object, TablesBinding>();

export function bindTables(host: DatapathTablesHost): TablesBinding {
  if (typeof host !== 'object' || host === null || typeof host.exports !== 'object' || host.exports === null) {
    throw new TypeError('Expected `datapath` to be a loaded datapath instance (an object with `exports`)');
  }
  const cached = bindings.get(host.exports);
  if (cached) return cached;
  const abi = host.exports as Partial<TablesExports> & { memory?: unknown };
  const memory = host.memory ?? abi.memory;
  if (!(memory instanceof WebAssembly.Memory) || typeof abi.lpmCreate !== 'function' || typeof abi.ipPoolCreate !== 'function') {
    throw new TypeError('Expected `datapath` to be a datapath instance exporting the LPM and IP-pool functions and its memory');
  }
  const binding: TablesBinding = { abi: abi as TablesExports, memory };
  bindings.set(host.exports, binding);
  return binding;
}

/**
 * A Uint32Array living in the datapath's linear memory, for batch calls (IPs in, values or slots out) without a
 * copy across the boundary. `array` is rebuilt when the memory grows (growth detaches old views), so read it after
 * each call that may allocate rather than keeping it. Free it with `free()` when done.
 */
export class WasmU32Buffer {
  readonly #binding: TablesBinding;
  #ptr: number;
  #view: Uint32Array;
  /** Number of u32 elements. */
  readonly length: number;

  constructor(datapath: DatapathTablesHost, length: number) {
    if (!Number.isInteger(length) || length < 1 || length > 1 << 28) {
      throw new RangeError(`Expected \`length\` to be the number of u32 elements, an integer in 1..${1 << 28}; got ${length}`);
    }
    this.#binding = bindTables(datapath);
    this.length = length;
    this.#ptr = this.#binding.abi.tablesAlloc(length * 4) >>> 0;
    this.#view = new Uint32Array(this.#binding.memory.buffer, this.#ptr, length);
  }

  /** Byte offset in linear memory (what the batch exports take). */
  get ptr(): number {
    if (this.#ptr === 0) throw new TypeError('This WasmU32Buffer was freed');
    return this.#ptr;
  }

  /** The elements; valid until the datapath's memory next grows. */
  get array(): Uint32Array {
    const buffer = this.#binding.memory.buffer;
    if (this.#view.buffer !== buffer) this.#view = new Uint32Array(buffer, this.ptr, this.length);
    return this.#view;
  }

  free(): void {
    if (this.#ptr === 0) return;
    this.#binding.abi.tablesFree(this.#ptr);
    this.#ptr = 0;
  }
}

/** Set by `DatapathTableObject.adopt` for the next constructor to take over a handle instead of creating one. */
let adoptedHandle = 0;

/**
 * Owns one table or pool handle in a datapath instance: the handle's lifetime (`free()`, a TypeError after it),
 * clones, and a scratch buffer in linear memory for the copying conveniences (`lookupMany`, `allocateMany`).
 */
export abstract class DatapathTableObject {
  protected readonly datapath: DatapathTablesHost;
  protected readonly binding: TablesBinding;
  readonly #what: string;
  #handle: number;
  #scratch: WasmU32Buffer | undefined;

  /** `create` makes the struct and returns its handle (0 on failure); it is skipped when adopting a clone. */
  protected constructor(datapath: DatapathTablesHost, what: string, create: (abi: TablesExports) => number) {
    this.datapath = datapath;
    this.binding = bindTables(datapath);
    this.#what = what;
    const adopted = adoptedHandle;
    adoptedHandle = 0;
    this.#handle = adopted !== 0 ? adopted : create(this.binding.abi);
    if (this.#handle === 0) throw new RangeError(`Could not create the ${what}`);
  }

  /** The i32 handle the exports take (see abi-tables.ts), for callers batching their own calls. */
  get handle(): number {
    if (this.#handle === 0) throw freedError(this.#what);
    return this.#handle;
  }

  /** Releases the struct's memory; any later call throws a TypeError. Idempotent. */
  free(): void {
    if (this.#handle === 0) return;
    this.destroy(this.#handle);
    this.#scratch?.free();
    this.#scratch = undefined;
    this.#handle = 0;
  }

  /** Frees the struct behind a live handle (lpmFree, ipPoolFree). */
  protected abstract destroy(handle: number): void;

  /** Runs `construct` so that its constructor takes over `handle` (a clone made by the exports). */
  protected static adopt<T>(handle: number, what: string, construct: () => T): T {
    if (handle === 0) throw new RangeError(`Could not clone the ${what}`);
    adoptedHandle = handle;
    return construct();
  }

  /** A scratch buffer of at least `length` u32 in linear memory, grown on demand and freed with the object. */
  protected scratch(length: number): WasmU32Buffer {
    if (this.#scratch === undefined || this.#scratch.length < length) {
      this.#scratch?.free();
      this.#scratch = new WasmU32Buffer(this.datapath, Math.max(length, 1024));
    }
    return this.#scratch;
  }
}
