import { KubeNetsimError } from '../errors.js';
import { OffsetBitmap, staticBandSize } from './bitmap-allocator.js';
import type { SeededRandom } from './random.js';

/** `--service-node-port-range`, inclusive: `base`..`base + size - 1`. */
export interface PortRange {
  base: number;
  size: number;
}

export const DEFAULT_NODE_PORT_RANGE: PortRange = { base: 30000, size: 2768 };

/** Parses `30000-32767` (or a single port) as kube-apiserver's `--service-node-port-range` does. */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  const low = m ? Number(m[1]) : NaN;
  const high = m?.[2] !== undefined ? Number(m[2]) : low;
  if (!m || low < 1 || high > 65535 || high < low) {
    throw new KubeNetsimError('E_NODE_PORT_RANGE', `Expected a port range such as 30000-32767, got ${JSON.stringify(text)}`);
  }
  return { base: low, size: high - low + 1 };
}

/**
 * kube-apiserver's NodePort allocator (`pkg/registry/core/service/portallocator`): one bitmap for the whole range,
 * so a number is unique cluster-wide whatever the protocol; dynamic picks random in the upper band, the static
 * band of KEP-3668 (`min(max(16, size/32), 128)` ports: 30000-30085 by default) kept for requested ports.
 */
export class NodePortAllocator {
  readonly range: PortRange;
  readonly #bitmap: OffsetBitmap;

  constructor(range: PortRange = DEFAULT_NODE_PORT_RANGE, bitmap?: OffsetBitmap) {
    this.range = range;
    this.#bitmap = bitmap ?? new OffsetBitmap(range.size, staticBandSize(range.size, 32, 128));
  }

  /** `30000-32767`: the text the API server puts in its errors. */
  get rangeText(): string {
    return `${this.range.base}-${this.range.base + this.range.size - 1}`;
  }

  get staticBand(): number {
    return this.#bitmap.reserved;
  }

  inRange(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.base && port < this.range.base + this.range.size;
  }

  isAllocated(port: number): boolean {
    return this.inRange(port) && this.#bitmap.has(port - this.range.base);
  }

  /** Reserves a requested port. Throws `E_NODE_PORT_NOT_IN_RANGE` or `E_NODE_PORT_ALLOCATED` in the allocator's words. */
  allocate(port: number): void {
    if (!this.inRange(port)) {
      throw new KubeNetsimError('E_NODE_PORT_NOT_IN_RANGE', `provided port is not in the valid range. The range of valid ports is ${this.rangeText}`);
    }
    if (!this.#bitmap.allocate(port - this.range.base)) throw new KubeNetsimError('E_NODE_PORT_ALLOCATED', 'provided port is already allocated');
  }

  /** A random free port (upper band first). Throws `E_NODE_PORT_RANGE_FULL` ("range is full"). */
  allocateNext(random: SeededRandom): number {
    const offset = this.#bitmap.allocateNext(random);
    if (offset === undefined) throw new KubeNetsimError('E_NODE_PORT_RANGE_FULL', 'range is full');
    return this.range.base + offset;
  }

  release(port: number): void {
    if (this.inRange(port)) this.#bitmap.release(port - this.range.base);
  }

  allocated(): number[] {
    return this.#bitmap.offsets().map((o) => o + this.range.base);
  }

  clone(): NodePortAllocator {
    return new NodePortAllocator(this.range, this.#bitmap.clone());
  }
}
