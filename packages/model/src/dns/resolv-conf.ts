import type { Pod } from '../api/index.js';
import type { Cluster } from '../cluster/cluster.js';
import { nodeDomain, vpcResolverIP } from './records.js';

/** A pod's `/etc/resolv.conf`. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

/** glibc's limits the kubelet enforces: 3 nameservers, 32 search domains. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** The kubelet's `clusterDNS`: EKS's bootstrap sets it to the tenth address of the service CIDR (10.100.0.10). */
export function clusterDNSIP(cluster: Cluster): string {
  return cluster.serviceCIDR.nth(10);
}

/**
 * The node's own resolv.conf (what `dnsPolicy: Default` and host-network pods get): the VPC resolver and the
 * node's private DNS domain. A node named `ip-….<domain>` contributes that domain; a node named without a dot
 * gets the region's EC2 domain only when the cluster came from a ClusterConfig.
 */
export function nodeResolvConf(cluster: Cluster, nodeName: string | undefined): ResolvConf {
  const dot = nodeName?.indexOf('.') ?? -1;
  const domain = nodeName && dot > 0 ? nodeName.slice(dot + 1) : cluster.clusterConfig ? nodeDomain(cluster.config.region) : undefined;
  return { nameservers: [vpcResolverIP(cluster.config.vpcCIDRs[0]!)], searches: domain ? [domain] : [], options: [] };
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * The resolv.conf the kubelet writes for `pod` from its `dnsPolicy`:
 * - ClusterFirst (default): `nameserver <cluster DNS>`, `search <ns>.svc.<domain> svc.<domain> <domain>` + the
 *   node's search domains, `options ndots:5` — except host-network pods, which fall back to the node's file;
 * - ClusterFirstWithHostNet: ClusterFirst even for host-network pods;
 * - Default: the node's file; None: only `dnsConfig`.
 * `dnsConfig` nameservers and searches are appended (deduplicated, capped at 3 and 32) and its options override.
 */
export function resolvConf(cluster: Cluster, pod: Pod): ResolvConf {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const node = nodeResolvConf(cluster, pod.spec.nodeName);
  const domain = cluster.config.clusterDomain;
  const ns = pod.metadata.namespace ?? 'default';
  let base: ResolvConf;
  if (policy === 'None') base = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default' || (policy === 'ClusterFirst' && pod.spec.hostNetwork)) base = node;
  else {
    base = { nameservers: [clusterDNSIP(cluster)], searches: [`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...node.searches], options: [{ name: 'ndots', value: '5' }] };
  }
  const extra = pod.spec.dnsConfig;
  const options = [...base.options];
  for (const o of extra?.options ?? []) {
    const i = options.findIndex((x) => x.name === o.name);
    if (i >= 0) options[i] = { ...o };
    else options.push({ ...o });
  }
  return {
    nameservers: unique([...base.nameservers, ...(extra?.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: unique([...base.searches, ...(extra?.searches ?? [])]).slice(0, MAX_SEARCHES),
    options,
  };
}

/** resolv.conf text as a pod would `cat /etc/resolv.conf`. */
export function formatResolvConf(conf: ResolvConf): string {
  const lines = [
    ...(conf.searches.length ? [`search ${conf.searches.join(' ')}`] : []),
    ...conf.nameservers.map((n) => `nameserver ${n}`),
    ...(conf.options.length ? [`options ${conf.options.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(' ')}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
