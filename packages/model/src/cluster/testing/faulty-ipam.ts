import { KubeNetsimError } from '../../errors.js';
import type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from '../ipam.js';

/**
 * A real IPAM with a fault switch, for transaction tests: after `arm(n)`, the n-th pod IP assignment throws
 * (as a broken CNI would), so the change in progress must roll back.
 */
export class FaultyIPAM implements PodIPAM {
  readonly inner: PodIPAM;
  #countdown: number | undefined;

  constructor(inner: PodIPAM, countdown?: number) {
    this.inner = inner;
    this.#countdown = countdown;
  }

  get name(): string {
    return this.inner.name;
  }

  get now(): number {
    return this.inner.now;
  }

  /** Makes the `n`-th next assignment (1 = the next one) throw `E_INJECTED_FAULT`. */
  arm(n: number): void {
    this.#countdown = n;
  }

  disarm(): void {
    this.#countdown = undefined;
  }

  addNode(request: NodeNetworkRequest): NodeNetwork {
    return this.inner.addNode(request);
  }

  removeNode(nodeName: string): void {
    this.inner.removeNode(nodeName);
  }

  node(nodeName: string): NodeNetwork | undefined {
    return this.inner.node(nodeName);
  }

  assignPodIP(nodeName: string, podKey: string): PodIPResult {
    if (this.#countdown !== undefined && --this.#countdown <= 0) {
      this.#countdown = undefined;
      throw new KubeNetsimError('E_INJECTED_FAULT', `injected failure while assigning an IP to ${podKey}`);
    }
    return this.inner.assignPodIP(nodeName, podKey);
  }

  claimPodIP(nodeName: string, podKey: string, ip: string): PodIPResult {
    return this.inner.claimPodIP(nodeName, podKey, ip);
  }

  releasePodIP(nodeName: string, podKey: string): void {
    this.inner.releasePodIP(nodeName, podKey);
  }

  advance(seconds: number): void {
    this.inner.advance(seconds);
  }

  pending(): boolean {
    return this.inner.pending?.() ?? false;
  }

  clone(): FaultyIPAM {
    return new FaultyIPAM(this.inner.clone(), this.#countdown);
  }
}
