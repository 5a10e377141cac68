import type { Node } from '../api/core.js';
import { KubeNetsimError } from '../errors.js';
import { ipFamily, isIP, parseIP } from '../ip/address.js';

/** The node a kube-proxy runs on, as the proxy needs it. */
export interface ProxyNode {
  /** Node name (kube-proxy's `hostnameOverride` or the Node's name): decides which endpoints are local. */
  name: string;
  /** The node's IPv4 addresses, primary first (`status.addresses` InternalIP, then ENI addresses from the CNI; an EC2
   *  public IP is not on the node and is not listed). */
  ips: string[];
  /** Node labels (topology hints read `topology.kubernetes.io/zone`). */
  labels?: Record<string, string>;
  /** `spec.podCIDRs` (for detectLocalMode NodeCIDR). */
  podCIDRs?: string[];
}

/**
 * A `ProxyNode` from a Node object and/or explicit addresses (`extraIPs`, primary first when no Node gives one).
 * Throws `E_PROXY_NODE` when no IPv4 address is known, since NodePorts and `--src-type LOCAL` need one.
 */
export function proxyNodeOf(name: string, node: Node | undefined, extraIPs: readonly string[] = []): ProxyNode {
  const ips: string[] = [];
  const add = (ip: string) => {
    if (!isIP(ip) || ipFamily(ip) !== 'IPv4') {
      throw new KubeNetsimError('E_PROXY_NODE', `Expected node address ${JSON.stringify(ip)} to be an IPv4 address`, { object: `Node ${name}` });
    }
    const text = parseIP(ip).toString();
    if (!ips.includes(text)) ips.push(text);
  };
  for (const a of node?.status?.addresses ?? []) if (a.type === 'InternalIP' && isIP(a.address) && ipFamily(a.address) === 'IPv4') add(a.address);
  for (const ip of extraIPs) add(ip);
  if (ips.length === 0) {
    throw new KubeNetsimError('E_PROXY_NODE', `No IPv4 address known for node ${name}`, {
      object: `Node ${name}`,
      hint: 'give a Node object with status.addresses, or the node address with --node-ip',
    });
  }
  const podCIDRs = node?.spec?.podCIDRs ?? (node?.spec?.podCIDR ? [node.spec.podCIDR] : undefined);
  return { name, ips, ...(node?.metadata.labels ? { labels: node.metadata.labels } : {}), ...(podCIDRs ? { podCIDRs } : {}) };
}
