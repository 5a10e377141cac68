import { readFileSync } from 'node:fs';
import { loadDatapathSync, type Datapath, type DatapathOptions, type PacketInput, type PacketResult } from '../src/index.js';

/** The built module, compiled once per test file. */
export const wasmModule = new WebAssembly.Module(readFileSync(new URL('../build/datapath.wasm', import.meta.url)));

export function newDatapath(options: DatapathOptions = {}): Datapath {
  return loadDatapathSync({ wasm: wasmModule, ...options });
}

/** Sends packets through a datapath in one batch and returns the results as objects. */
export function send(dp: Datapath, packets: PacketInput[]): PacketResult[] {
  const batch = dp.createBatch(Math.max(1, packets.length));
  packets.forEach((p, i) => batch.setPacket(i, p));
  dp.processBatch(batch, packets.length);
  const out = packets.map((_, i) => batch.result(i));
  batch.free();
  return out;
}

export const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
