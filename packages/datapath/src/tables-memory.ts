import type { TablesExports } from './abi-tables.js';

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

/** Lazily grown scratch buffer for the copying conveniences (`lookupMany`, `allocateMany`). */
export function scratchFor(datapath: DatapathTablesHost, current: WasmU32Buffer | undefined, length: number): WasmU32Buffer {
  if (current && current.length >= length) return current;
  current?.free();
  return new WasmU32Buffer(datapath, Math.max(length, 1024));
}
