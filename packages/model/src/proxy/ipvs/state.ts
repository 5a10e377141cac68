import type { Protocol } from '../../api/meta.js';

// What kube-proxy's ipvs proxier programs on one node (pkg/proxy/ipvs/proxier.go): IPVS virtual servers, the
// addresses bound to the dummy device kube-ipvs0, ipsets, and the iptables rules that mode still needs.

/** One real server (destination) of a virtual server. kube-proxy always gives weight 1 and masquerade forwarding. */
export interface IpvsRealServer {
  ip: string;
  port: number;
  weight: number;
}

/** One IPVS virtual server: (address, protocol, port) with its scheduler and destinations. */
export interface IpvsVirtualServer {
  protocol: Protocol;
  address: string;
  port: number;
  scheduler: string;
  /** ClientIP affinity: IPVS persistence with this timeout in seconds (`persistent <s>`). */
  persistentTimeout?: number;
  /** What the address is to the Service. */
  kind: 'ClusterIP' | 'ExternalIP' | 'LoadBalancerIP' | 'NodePort';
  /** `ns/name:port` of the service port. */
  servicePort: string;
  realServers: IpvsRealServer[];
}

/** An ipset as kube-proxy creates it, with its entries in ipset's text form (`172.30.0.41,tcp:80`, `30080`). */
export interface IpvsIpset {
  name: string;
  type: 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';
  comment: string;
  entries: string[];
}

/** A match of one of the ipvs mode's iptables rules (enough to evaluate the rules kube-proxy writes). */
export type IpvsRuleMatch =
  | { type: 'source'; cidr: string; negate: boolean }
  | { type: 'protocol'; protocol: Protocol }
  /** `-m set --match-set NAME dirs`; dirs as written (`dst,dst`, `src,dst`, `dst`, `dst,dst,src`). */
  | { type: 'set'; set: string; dirs: string }
  | { type: 'dst-type-local' }
  | { type: 'src-type-local'; negate: boolean }
  /** `-m physdev ! --physdev-is-in`: the packet did not come in through a bridge port (always so on EKS). */
  | { type: 'not-from-bridge' }
  | { type: 'mark-unset'; mark: number }
  | { type: 'mark-set'; mark: number }
  | { type: 'ctstate-new' }
  | { type: 'ctstate-established' }
  /** `-m ipvs --vaddr IP --vproto P --vport N` with `-s IP`: node → its own LB IP. */
  | { type: 'ipvs-vaddr'; ip: string; protocol: string; port: number };

/** One iptables rule: its table and chain, the text after `-A CHAIN`, and the same as a structure. */
export interface IpvsIptablesRule {
  table: 'nat' | 'filter';
  chain: string;
  text: string;
  matches: IpvsRuleMatch[];
  target: string;
}

/** Everything kube-proxy in ipvs mode keeps on one node after a full sync. */
export interface IpvsNodeState {
  /** In the order `ipvsadm -Ln` lists them (`ipvsadmCompareServices`). Real servers are in kube-proxy's order. */
  virtualServers: IpvsVirtualServer[];
  /** Addresses bound to kube-ipvs0 (ClusterIPs, and external/LB IPs that are no other interface's), in bind order. */
  boundAddresses: string[];
  /** The node's own addresses that take NodePorts (IPVS virtual servers are created on each). */
  nodePortAddresses: string[];
  ipsets: Map<string, IpvsIpset>;
  /** The restore input's chains per table, in kube-proxy's order. */
  chains: { nat: string[]; filter: string[] };
  rules: IpvsIptablesRule[];
  /** Jump rules kube-proxy keeps in the built-in chains (it inserts them with `-I`, so the last listed is first). */
  jumpRules: IpvsIptablesRule[];
  /** The masquerade mark, e.g. 0x4000. */
  mark: number;
}
