/**
 * @kube-netsim/datapath for browsers: `await loadDatapath()` streams `build/datapath.wasm` from a URL bundlers
 * rewrite (`new URL(…, import.meta.url)`). Importing does nothing; each call returns a new, independent instance.
 */
import type { DatapathOptions } from './config.js';
import type { Datapath } from './datapath.js';
import { DatapathError } from './errors.js';
import { instantiateDatapath, makeImports, datapathFromInstance } from './instantiate.js';
import { normalizeOptions } from './validate.js';

export * from './exports-common.js';

export interface BrowserLoadOptions extends DatapathOptions {
  /** The module's URL, bytes or compiled module. Default: the package's own file, as the bundler emits it. */
  wasm?: BufferSource | WebAssembly.Module | URL | string;
}

/** Loads a new datapath instance (browser or any runtime with fetch). */
export async function loadDatapath(options: BrowserLoadOptions = {}): Promise<Datapath> {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected `options` to be an object');
  const { wasm, ...rest } = options;
  if (wasm instanceof WebAssembly.Module) return instantiateDatapath(wasm, rest);
  if (wasm !== undefined && typeof wasm !== 'string' && !(wasm instanceof URL)) return instantiateDatapath(await WebAssembly.compile(wasm), rest);
  const normalized = normalizeOptions(rest);
  const url = wasm ?? new URL('../build/datapath.wasm', import.meta.url);
  const { imports, bind } = makeImports();
  let response: Response;
  try {
    response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (cause) {
    throw new DatapathError('E_DATAPATH_WASM_MISSING', `Cannot fetch the datapath module at ${String(url)}; serve build/datapath.wasm or pass \`wasm\``, { cause });
  }
  const { instance } = typeof WebAssembly.instantiateStreaming === 'function' && response.headers.get('content-type')?.startsWith('application/wasm')
    ? await WebAssembly.instantiateStreaming(response, imports)
    : await WebAssembly.instantiate(await response.arrayBuffer(), imports);
  return datapathFromInstance(instance, bind, normalized);
}

/** Synchronous variant for workers that already hold the bytes or a compiled module. */
export function loadDatapathSync(options: BrowserLoadOptions & { wasm: BufferSource | WebAssembly.Module }): Datapath {
  const { wasm, ...rest } = options;
  const module = wasm instanceof WebAssembly.Module ? wasm : new WebAssembly.Module(wasm);
  return instantiateDatapath(module, rest);
}
