/**
 * @kube-netsim/datapath for Node: `await loadDatapath()` reads `build/datapath.wasm` next to the package;
 * `loadDatapathSync()` does the same synchronously (workers, CLIs). Importing does nothing; each call returns a new,
 * independent instance (the compiled module is shared).
 */
import type { DatapathOptions } from './config.js';
import type { Datapath } from './datapath.js';
import { DatapathError } from './errors.js';
import { instantiateDatapath } from './instantiate.js';

export * from './exports-common.js';

/** Where the module is read from: bytes, a compiled module, or a file URL/path. Default: the package's own file. */
export interface NodeLoadOptions extends DatapathOptions {
  wasm?: BufferSource | WebAssembly.Module | URL | string;
}

const defaultWasmUrl = (): URL => new URL('../build/datapath.wasm', import.meta.url);
let compiled: WebAssembly.Module | undefined;

interface NodeFs {
  readFileSync(path: URL | string): Uint8Array<ArrayBuffer>;
  promises: { readFile(path: URL | string): Promise<Uint8Array<ArrayBuffer>> };
}

function nodeFs(): NodeFs {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as NodeFs | undefined;
  if (!fs) throw new DatapathError('E_DATAPATH_WASM_MISSING', 'loadDatapath needs Node ≥ 20.16 (process.getBuiltinModule); in a browser import "@kube-netsim/datapath" through its browser entry, or pass `wasm` bytes');
  return fs;
}

function missing(where: URL | string, cause: unknown): DatapathError {
  return new DatapathError('E_DATAPATH_WASM_MISSING', `Cannot read the datapath module at ${String(where)}; build it with \`pnpm --filter @kube-netsim/datapath run build:wasm\` or pass \`wasm\``, { cause });
}

function splitOptions(options: NodeLoadOptions = {}): [NodeLoadOptions['wasm'], DatapathOptions] {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected `options` to be an object');
  const { wasm, ...rest } = options;
  return [wasm, rest];
}

/** Loads a new datapath instance (Node). */
export async function loadDatapath(options?: NodeLoadOptions): Promise<Datapath> {
  const [wasm, rest] = splitOptions(options);
  if (wasm instanceof WebAssembly.Module) return instantiateDatapath(wasm, rest);
  if (wasm !== undefined && typeof wasm !== 'string' && !(wasm instanceof URL)) {
    return instantiateDatapath(await WebAssembly.compile(wasm), rest);
  }
  if (wasm === undefined && compiled) return instantiateDatapath(compiled, rest);
  const where = wasm ?? defaultWasmUrl();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await nodeFs().promises.readFile(where);
  } catch (cause) {
    throw missing(where, cause);
  }
  const module = await WebAssembly.compile(bytes);
  if (wasm === undefined) compiled = module;
  return instantiateDatapath(module, rest);
}

/** Loads a new datapath instance synchronously (Node, workers, CLIs). */
export function loadDatapathSync(options?: NodeLoadOptions): Datapath {
  const [wasm, rest] = splitOptions(options);
  if (wasm instanceof WebAssembly.Module) return instantiateDatapath(wasm, rest);
  if (wasm !== undefined && typeof wasm !== 'string' && !(wasm instanceof URL)) return instantiateDatapath(new WebAssembly.Module(wasm), rest);
  if (wasm === undefined && compiled) return instantiateDatapath(compiled, rest);
  const where = wasm ?? defaultWasmUrl();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = nodeFs().readFileSync(where);
  } catch (cause) {
    throw missing(where, cause);
  }
  const module = new WebAssembly.Module(bytes);
  if (wasm === undefined) compiled = module;
  return instantiateDatapath(module, rest);
}
