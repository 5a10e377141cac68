import type { Protocol } from '../api/meta.js';

/** One packet (the first of a connection) as the proxy evaluators take it. */
export interface ProxyPacket {
  /** Source IP. */
  from: string;
  /** Destination IP. */
  to: string;
  /** Destination port. */
  port: number;
  protocol: Protocol;
  /**
   * Where the packet enters the node: from a pod on it or from outside (both through nat PREROUTING), or
   * originated by the node itself (nat OUTPUT). Defaults to `host` when `from` is a local address of the node,
   * else `pod`.
   */
  arrival?: 'pod' | 'host' | 'external';
}

/** What one kube-proxy mode does with a packet; every mode's evaluator answers in this shape. */
export interface Explanation {
  /** `DNAT` to an endpoint, or the verdict of the rule that decided; `NONE` when no kube-proxy rule decided. */
  verdict: 'DNAT' | 'ACCEPT' | 'DROP' | 'REJECT' | 'NONE';
  /** Every endpoint (`IP:port`) that can be chosen, in rule order. */
  possibleEndpoints: string[];
  /** True when the packet was marked for masquerade (source NAT to the node). */
  masquerade: boolean;
  /** The text of each rule that matched, in order (for nftables/ipvs: the equivalent statements). */
  rules: string[];
}
