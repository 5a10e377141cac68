/**
 * Errors of the datapath. Argument mistakes are `TypeError`/`RangeError` naming the argument; table conflicts and
 * limits are `DatapathError` with a stable code; a trap inside the WebAssembly core (a bug, never a user mistake) is
 * a `DatapathAbortError` carrying the AssemblyScript file and line.
 */
export type DatapathErrorCode =
  | 'E_DATAPATH_CONFLICT'
  | 'E_DATAPATH_NOT_FOUND'
  | 'E_DATAPATH_LIMIT'
  | 'E_DATAPATH_WASM_MISSING'
  // LPM tables and IP slot pools (lpm-table.ts, ip-pool.ts): finer codes, so the CNI can tell the cases apart.
  | 'E_LPM_PREFIX_EXISTS'
  | 'E_LPM_TABLE_FULL'
  | 'E_IP_POOL_SLOT_ABSENT'
  | 'E_IP_POOL_SLOT_ASSIGNED'
  | 'E_IP_POOL_SLOT_NOT_ASSIGNED'
  | 'E_IP_POOL_FULL';

export class DatapathError extends Error {
  readonly code: DatapathErrorCode;
  constructor(code: DatapathErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatapathError';
    this.code = code;
  }
}

/** The core called `abort` (an assertion or an out-of-memory inside WebAssembly). The instance is unusable after it. */
export class DatapathAbortError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(message: string, file: string, line: number, column: number) {
    super(`datapath core aborted: ${message || 'unknown reason'} at ${file || '?'}:${line}:${column}`);
    this.name = 'DatapathAbortError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** Reads an AssemblyScript string (UTF-16LE, byte length in the u32 at ptr − 4) from linear memory. */
export function readAssemblyScriptString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const buffer = memory.buffer;
  if (ptr < 4 || ptr > buffer.byteLength) return '';
  const bytes = new DataView(buffer).getUint32(ptr - 4, true);
  if (ptr + bytes > buffer.byteLength) return '';
  let out = '';
  const units = new Uint16Array(buffer, ptr, bytes >>> 1);
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.subarray(i, i + 4096));
  return out;
}
