/** Configuration shapes shared by the WebAssembly datapath and the TypeScript reference. */

export type ProxyMode = 'iptables' | 'nftables' | 'ipvs';
export type IpvsScheduler = 'rr' | 'lc' | 'sh' | 'mh';
export type TrafficPolicy = 'Cluster' | 'Local';
export type AddressKind = 'ClusterIP' | 'ExternalIP' | 'LoadBalancerIP';

/** One node's kube-proxy, as KubeProxyConfiguration describes it. */
export interface NodeConfig {
  /** Default `iptables`. */
  mode?: ProxyMode;
  /** IPVS scheduler (`ipvs.scheduler`), default `rr`; ignored in other modes. */
  ipvsScheduler?: IpvsScheduler;
  /** `iptables.masqueradeAll`: masquerade every packet to a ClusterIP. Default false. */
  masqueradeAll?: boolean;
  /**
   * The local-traffic detector's CIDR (detectLocalMode ClusterCIDR: the cluster's pod CIDR), or null for none: then
   * traffic to a ClusterIP is never masqueraded by the "! -s podCIDR" rule and eTP Local has no pod short-circuit.
   */
  localTrafficDetector?: string | null;
  /** `--iptables-localhost-nodeports` (default true): host processes reach NodePorts on 127.0.0.0/8. iptables mode only. */
  localhostNodePorts?: boolean;
  /**
   * The service CIDR (`--service-cluster-ip-range`), used by nftables mode only: an address in it that is no
   * ClusterIP is dropped (a ClusterIP on an unknown port is rejected whether or not this is set).
   */
  serviceCIDR?: string | null;
  /**
   * The node's primary IP (kube-proxy's node IP), or null for none (the default). A Service's
   * `loadBalancerSourceRanges` that contain it also allow its load-balancer IPs as sources on this node.
   */
  nodeIP?: string | number | null;
}

/** Options of a local address (`setLocalAddress`). */
export interface LocalAddressOptions {
  /** NodePorts are accepted on it (default true). */
  nodePort?: boolean;
  /**
   * ipvs mode: kube-proxy bound this Service address (ClusterIP, external or load-balancer IP) to the dummy interface
   * kube-ipvs0; it is in the ipset KUBE-IPVS-IPS. Default false: an address of the node's own. A Service address
   * that is not local on the node at all is taken as bound too.
   */
  kubeIpvs0?: boolean;
}

/** Options of a service address entry (`addServiceAddress`). */
export interface ServiceAddressOptions {
  /**
   * `spec.loadBalancerSourceRanges`: IPv4 CIDRs such as "203.0.113.0/24" (host bits ignored), for kind
   * `LoadBalancerIP` only. New connections from other sources are dropped, each mode by its own rule (see the
   * datapath docs). Absent or empty: every source is allowed. Replaces the entry's earlier ranges.
   */
  loadBalancerSourceRanges?: readonly string[];
}

/** A ServicePort's policy, as kube-proxy's ServicePort sees it. */
export interface ServicePortPolicy {
  /** `spec.internalTrafficPolicy`, default Cluster. */
  internalTrafficPolicy?: TrafficPolicy;
  /** `spec.externalTrafficPolicy`, default Cluster (only meaningful when externally accessible). */
  externalTrafficPolicy?: TrafficPolicy;
  /** `spec.sessionAffinity`, default None. */
  sessionAffinity?: 'None' | 'ClientIP';
  /** `sessionAffinityConfig.clientIP.timeoutSeconds`, default 10800. */
  sessionAffinityTimeoutSeconds?: number;
  /**
   * The Service has a NodePort, an external IP or a load-balancer IP (kube-proxy's `ExternallyAccessible`), default
   * false. Used by ipvs mode only: with traffic policy Local and no local endpoint a virtual server gets the cluster
   * endpoints, which kube-proxy computes for an internalTrafficPolicy-Local Service only when this is true.
   */
  externallyAccessible?: boolean;
}

/** One endpoint of a service-port, from an EndpointSlice. */
export interface EndpointInput {
  ip: string | number;
  port: number;
  /** Node id (from `addNode`) the endpoint runs on, or −1 when it is on no node of this instance. */
  node: number;
  /** Conditions as kube-proxy reads them: ready and serving default to true, terminating to false. */
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  /** Caller's id, reported in results; defaults to the endpoint's index in the list. */
  id?: number;
}

/** Conntrack statistics. */
export interface ConntrackStats {
  /** Entries in the table, including expired ones not yet swept. */
  entries: number;
  /** Maximum entries (nf_conntrack_max). */
  max: number;
  /** Entries ever inserted. */
  inserted: number;
  /** Entries evicted to make room in a full table (not yet assured or expired). */
  earlyDrops: number;
  /** New connections dropped because the table was full and nothing could be evicted. */
  drops: number;
}

/** Options of a datapath instance. */
export interface DatapathOptions {
  /** Seed of every random choice (u32). Default 0. */
  seed?: number;
  /** Maximum conntrack entries, like nf_conntrack_max. Default 262144. */
  conntrackMax?: number;
  /** Starting capacities (tables grow past them). */
  nodeCapacity?: number;
  servicePortCapacity?: number;
  serviceAddressCapacity?: number;
}
