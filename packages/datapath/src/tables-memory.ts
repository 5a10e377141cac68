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

/**
 * Frees the linear memory of tables, pools and buffers dropped without `free()` once they are garbage-collected,
 * so rollback copies (`clone()`) that are simply let go do not leak inside the instance. Each cleanup closes over
 * the handle or pointer only, never the object. Created on first use: importing does nothing.
 */
let finalizer: FinalizationRegistry<() => void> | undefined;

function onCollect(owner: object, cleanup: () => void): void {
  finalizer ??= new FinalizationRegistry((run) => run());
  finalizer.register(owner, cleanup, owner);
}

function forget(owner: object): void {
  finalizer?.unregister(owner);
}

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
  readonly #memory: { ptr: number };
  #view: Uint32Array;
  /** Number of u32 elements. */
  readonly length: number;

  constructor(datapath: DatapathTablesHost, length: number) {
    if (!Number.isInteger(length) || length < 1 || length > 1 << 28) {
      throw new RangeError(`Expected \`length\` to be the number of u32 elements, an integer in 1..${1 << 28}; got ${length}`);
    }
    this.#binding = bindTables(datapath);
    this.length = length;
    const abi = this.#binding.abi;
    const memory = { ptr: abi.tablesAlloc(length * 4) >>> 0 };
    this.#memory = memory;
    this.#view = new Uint32Array(this.#binding.memory.buffer, memory.ptr, length);
    onCollect(this, () => abi.tablesFree(memory.ptr));
  }

  /** Byte offset in linear memory (what the batch exports take). */
  get ptr(): number {
    if (this.#memory.ptr === 0) throw new TypeError('This WasmU32Buffer was freed');
    return this.#memory.ptr;
  }

  /** The linear memory the buffer lives in (a table only takes buffers of its own instance). */
  get memory(): WebAssembly.Memory {
    return this.#binding.memory;
  }

  /** The elements; valid until the datapath's memory next grows. */
  get array(): Uint32Array {
    // Growth detaches the old buffer, which empties every view over it: testing the view's length costs ~1 ns where
    // reading `memory.buffer` costs ~25 ns, as much as a pool call's whole work on a /28.
    if (this.#view.length === 0) this.#view = new Uint32Array(this.#binding.memory.buffer, this.ptr, this.length);
    else if (this.#memory.ptr === 0) throw new TypeError('This WasmU32Buffer was freed');
    return this.#view;
  }

  /** Frees the memory now (otherwise it goes when the buffer is garbage-collected). Idempotent. */
  free(): void {
    if (this.#memory.ptr === 0) return;
    forget(this);
    this.#binding.abi.tablesFree(this.#memory.ptr);
    this.#memory.ptr = 0;
  }
}

/** Set by `DatapathTableObject.adopt` for the next constructor to take over a handle instead of creating one. */
let adoptedHandle = 0;

/** What a table or pool holds in linear memory, apart from the object so the finalizer can free it. */
interface Owned {
  handle: number;
  scratch: WasmU32Buffer | undefined;
}

/**
 * Owns one table or pool handle in a datapath instance: the handle's lifetime (`free()`, a TypeError after it; freed
 * on garbage collection if never freed), clones, and a scratch buffer in linear memory for the copying conveniences
 * (`lookupMany`, `allocateMany`).
 */
export abstract class DatapathTableObject {
  protected readonly datapath: DatapathTablesHost;
  protected readonly binding: TablesBinding;
  /** `binding.abi`, one load closer for the per-call paths. */
  protected readonly abi: TablesExports;
  readonly #what: string;
  readonly #owned: Owned;
  readonly #destroy: (abi: TablesExports, handle: number) => void;

  /**
   * `create` makes the struct and returns its handle (0 on failure); it is skipped when adopting a clone.
   * `destroy` frees a live handle (lpmFree, ipPoolFree).
   */
  protected constructor(
    datapath: DatapathTablesHost,
    what: string,
    create: (abi: TablesExports) => number,
    destroy: (abi: TablesExports, handle: number) => void,
  ) {
    this.datapath = datapath;
    this.binding = bindTables(datapath);
    this.abi = this.binding.abi;
    this.#what = what;
    this.#destroy = destroy;
    const adopted = adoptedHandle;
    adoptedHandle = 0;
    const handle = adopted !== 0 ? adopted : create(this.binding.abi);
    if (handle === 0) throw new RangeError(`Could not create the ${what}`);
    const owned: Owned = { handle, scratch: undefined };
    this.#owned = owned;
    const abi = this.binding.abi;
    onCollect(this, () => {
      destroy(abi, owned.handle);
      owned.scratch?.free();
    });
  }

  /**
   * The handle for hot paths: 0 once freed, which every export refuses with BAD_HANDLE, so callers map that status
   * to the freed error instead of checking first.
   */
  protected get liveHandle(): number {
    return this.#owned.handle;
  }

  /** The i32 handle the exports take (see abi-tables.ts), for callers batching their own calls; keep the object alive while you use it. */
  get handle(): number {
    if (this.#owned.handle === 0) throw freedError(this.#what);
    return this.#owned.handle;
  }

  /** Releases the struct's memory now (otherwise it goes when the object is garbage-collected); any later call throws a TypeError. Idempotent. */
  free(): void {
    const owned = this.#owned;
    if (owned.handle === 0) return;
    forget(this);
    this.#destroy(this.binding.abi, owned.handle);
    owned.scratch?.free();
    owned.scratch = undefined;
    owned.handle = 0;
  }

  /** Runs `construct` so that its constructor takes over `handle` (a clone made by the exports). */
  protected static adopt<T>(handle: number, what: string, construct: () => T): T {
    if (handle === 0) throw new RangeError(`Could not clone the ${what}`);
    adoptedHandle = handle;
    return construct();
  }

  /** A scratch buffer of at least `length` u32 in linear memory, grown on demand and freed with the object. */
  protected scratch(length: number): WasmU32Buffer {
    const owned = this.#owned;
    if (owned.scratch === undefined || owned.scratch.length < length) {
      owned.scratch?.free();
      owned.scratch = new WasmU32Buffer(this.datapath, Math.max(length, 1024));
    }
    return owned.scratch;
  }
}
