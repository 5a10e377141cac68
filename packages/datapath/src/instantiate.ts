import { Datapath } from './datapath.js';
import { normalizeOptions } from './validate.js';
import type { DatapathOptions } from './config.js';
import { DatapathAbortError, readAssemblyScriptString } from './errors.js';

/** The imports the module needs: only `env.abort`, turned into a DatapathAbortError naming file and line. */
export function makeImports(): { imports: WebAssembly.Imports; bind(instance: WebAssembly.Instance): void } {
  let memory: WebAssembly.Memory | undefined;
  return {
    imports: {
      env: {
        abort(msgPtr: number, filePtr: number, line: number, column: number): never {
          const msg = memory ? readAssemblyScriptString(memory, msgPtr) : '';
          const file = memory ? readAssemblyScriptString(memory, filePtr) : '';
          throw new DatapathAbortError(msg, file, line, column);
        },
      },
    },
    bind(instance) {
      memory = instance.exports.memory as WebAssembly.Memory;
    },
  };
}

/** Instantiates a compiled module into a new, independent Datapath. */
export function instantiateDatapath(module: WebAssembly.Module, options?: DatapathOptions): Datapath {
  const normalized = normalizeOptions(options);
  const { imports, bind } = makeImports();
  const instance = new WebAssembly.Instance(module, imports);
  bind(instance);
  return new Datapath(instance, normalized);
}

/** Instantiates from an already-instantiated source (instantiateStreaming result). */
export function datapathFromInstance(instance: WebAssembly.Instance, bind: (i: WebAssembly.Instance) => void, options: Required<DatapathOptions>): Datapath {
  bind(instance);
  return new Datapath(instance, options);
}
