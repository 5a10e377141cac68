import { KubeNetsimError } from '../errors.js';
import { CIDR, intToIPv4, ipv4ToInt, isIP } from '../ip/index.js';
import { OffsetBitmap, staticBandSize } from './bitmap-allocator.js';
import type { SeededRandom } from './random.js';

/**
 * kube-apiserver's ClusterIP allocator for one IPv4 service CIDR (`pkg/registry/core/service/ipallocator`):
 * the network and broadcast addresses are never handed out; offset k is `network + 1 + k`; dynamic picks are
 * random in the upper band with the low static band (KEP-3070) kept for requested addresses.
 */
export class ClusterIPAllocator {
  readonly cidr: CIDR;
  readonly #bitmap: OffsetBitmap;

  constructor(serviceCIDR: string | CIDR, bitmap?: OffsetBitmap) {
    const cidr = typeof serviceCIDR === 'string' ? CIDR.parse(serviceCIDR, 'the service CIDR') : serviceCIDR;
    if (cidr.family !== 'IPv4') {
      throw new KubeNetsimError('E_SERVICE_CIDR', `The service CIDR ${cidr.toString()} is IPv6; the simulator allocates IPv4 ClusterIPs only`, {
        hint: 'set kubernetesNetworkConfig.serviceIPv4CIDR to an IPv4 range such as 10.100.0.0/16',
      });
    }
    if (cidr.prefixLength < 12) {
      throw new KubeNetsimError('E_SERVICE_CIDR', `specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12 (got ${cidr.toString()})`);
    }
    if (cidr.size < 8) {
      throw new KubeNetsimError('E_SERVICE_CIDR', `The service CIDR ${cidr.toString()} is too small: a service IP range needs at least 8 addresses`);
    }
    this.cidr = cidr;
    this.#bitmap = bitmap ?? new OffsetBitmap(cidr.size - 2, staticBandSize(cidr.size, 16, 256));
  }

  /** Allocatable addresses (the range size minus network and broadcast). */
  get size(): number {
    return this.#bitmap.max;
  }

  get used(): number {
    return this.#bitmap.count;
  }

  /** Size of the static band at the bottom of the range (16 for a /24, 256 for a /16 or larger). */
  get staticBand(): number {
    return this.#bitmap.reserved;
  }

  /** The `n`th address of the CIDR (`1` → the `kubernetes` Service's address, `10` → kube-dns's). */
  indexedIP(n: number): string {
    return intToIPv4(this.cidr.base + n);
  }

  /** True when `ip` is an address this allocator could hand out (in the CIDR, not network or broadcast). */
  inRange(ip: string): boolean {
    const offset = this.#offset(ip);
    return offset !== undefined;
  }

  isAllocated(ip: string): boolean {
    const offset = this.#offset(ip);
    return offset !== undefined && this.#bitmap.has(offset);
  }

  /**
   * Reserves a requested address. Throws `E_CLUSTER_IP_NOT_IN_RANGE` or `E_CLUSTER_IP_ALLOCATED` with the
   * allocator's own words; the Service layer adds the API server's framing.
   */
  allocate(ip: string): void {
    const offset = this.#offset(ip);
    if (offset === undefined) {
      throw new KubeNetsimError('E_CLUSTER_IP_NOT_IN_RANGE', `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr.toString()}`);
    }
    if (!this.#bitmap.allocate(offset)) throw new KubeNetsimError('E_CLUSTER_IP_ALLOCATED', 'provided IP is already allocated');
  }

  /** A random free address (upper band first). Throws `E_CLUSTER_IP_RANGE_FULL` ("range is full"). */
  allocateNext(random: SeededRandom): string {
    const offset = this.#bitmap.allocateNext(random);
    if (offset === undefined) throw new KubeNetsimError('E_CLUSTER_IP_RANGE_FULL', 'range is full');
    return intToIPv4(this.cidr.base + 1 + offset);
  }

  /** Gives an address back; addresses outside the range are ignored, as the API server ignores them. */
  release(ip: string): void {
    const offset = this.#offset(ip);
    if (offset !== undefined) this.#bitmap.release(offset);
  }

  /** Every allocated address, lowest first. */
  allocated(): string[] {
    return this.#bitmap.offsets().map((o) => intToIPv4(this.cidr.base + 1 + o));
  }

  clone(): ClusterIPAllocator {
    return new ClusterIPAllocator(this.cidr, this.#bitmap.clone());
  }

  #offset(ip: string): number | undefined {
    if (!isIP(ip) || ip.includes(':')) return undefined;
    const n = ipv4ToInt(ip);
    if (!this.cidr.containsInt(n)) return undefined;
    const offset = n - this.cidr.base - 1;
    return offset >= 0 && offset < this.#bitmap.max ? offset : undefined;
  }
}
