/**
 * The seam between the cluster and whatever hands out pod IPs (the VPC CNI by default for EKS-style input;
 * a host-local range per node otherwise). The cluster calls it; it never calls the cluster.
 * Simulated time is integer seconds.
 */
export interface NodeNetworkRequest {
  /** The Node's name, or a function that names it from the node IP the IPAM picked (EKS: `ip-10-0-1-5.ec2.internal`). */
  nodeName: string | ((internalIP: string) => string);
  instanceType?: string;
  zone?: string;
  /** Subnet CIDR the node's primary ENI is in, when the input says so. */
  subnetCIDR?: string;
  /** The node IP, when the input gives one (a Node with status.addresses): taken as observed. */
  internalIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** The kubelet's max pods when the input sets it (status.capacity.pods or maxPodsPerNode). */
  maxPods?: number;
  /** The Node's `spec.podCIDR` when the input gives one (host-local IPAM: the node's pod range). */
  podCIDR?: string;
}

export interface NodeNetwork {
  nodeName: string;
  /** The node IP: the primary private IP of the primary ENI (VPC CNI), or the given InternalIP. */
  internalIP: string;
  /** Every local IPv4 address of the node, node IP first (ENI primary IPs included): kube-proxy's `--dst-type LOCAL`. */
  localAddresses: string[];
  /** The kubelet's max pods as the IPAM's platform computes it when the input does not set it. */
  defaultMaxPods: number;
  /** The node's pod range, when the IPAM gives each node one (host-local); written to the Node's `spec.podCIDR`. */
  podCIDR?: string;
}

export type PodIPResult = { ok: true; ip: string } | { ok: false; reason: string; message: string };

export interface PodIPAM {
  /** `aws-vpc-cni` or `host-local`. */
  readonly name: string;
  /** Simulated seconds since the cluster started. */
  readonly now: number;
  addNode(request: NodeNetworkRequest): NodeNetwork;
  removeNode(nodeName: string): void;
  node(nodeName: string): NodeNetwork | undefined;
  /** Assigns an IP to a pod sandbox (`podKey` = `ns/name`); on failure the CNI's own error text. Idempotent per pod. */
  assignPodIP(nodeName: string, podKey: string): PodIPResult;
  /** Records an IP a pod already has (observed state from a dump); the IPAM marks it used where it owns it. */
  claimPodIP(nodeName: string, podKey: string, ip: string): PodIPResult;
  releasePodIP(nodeName: string, podKey: string): void;
  /** Runs the IPAM's own clock (warm-pool reconcile, cooldowns) forward by `seconds`. */
  advance(seconds: number): void;
  /**
   * Optional: true while the IPAM's own reconcile would still change something on a coming tick (a warm pool below
   * its target). After a change the cluster lets a little time run (at most 30 s) until it is false, so the state a
   * user sees includes the refilled pools.
   */
  pending?(): boolean;
  /** A deep copy, so a failed change can be rolled back. */
  clone(): PodIPAM;
}
