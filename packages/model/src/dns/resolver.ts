import type { Pod } from '../api/index.js';
import type { Cluster } from '../cluster/cluster.js';
import { isIP } from '../ip/index.js';
import { type DNSRecordType, type DNSResponse, ClusterDNS, reverseName, vpcResolverIP } from './records.js';
import { type ResolvConf, clusterDNSIP, resolvConf } from './resolv-conf.js';

/** One query a stub resolver sent, and what came back. */
export interface DNSQuery {
  name: string;
  nameserver: string;
  response: DNSResponse;
}

export interface Resolution {
  /** The name as the application asked for it (for PTR of an address: its in-addr.arpa name). */
  query: string;
  type: DNSRecordType;
  conf: ResolvConf;
  /** Every query sent, in order (search-list expansions included). */
  tried: DNSQuery[];
  /** The response the application gets: the first that is not NXDOMAIN/NODATA, else the last one. */
  answer: DNSResponse;
}

/** The `ndots` option (default 1 in glibc when resolv.conf does not say). */
function ndots(conf: ResolvConf): number {
  const v = conf.options.find((o) => o.name === 'ndots')?.value;
  const n = v === undefined ? 1 : Number(v);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 15) : 1;
}

/**
 * The names glibc's `res_search` tries, in order: an absolute name (trailing dot) only as is; a name with at
 * least `ndots` dots as is first, then with each search domain; a name with fewer dots with each search domain
 * first, then as is.
 */
export function searchCandidates(name: string, conf: ResolvConf): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = name.split('.').length - 1;
  const expanded = conf.searches.map((s) => `${name}.${s}`);
  return dots >= ndots(conf) ? [name, ...expanded] : [...expanded, name];
}

/** Sends one query to `nameserver` as the pod would reach it. */
function ask(cluster: Cluster, dns: ClusterDNS, nameserver: string, name: string, type: DNSRecordType): DNSResponse {
  const kubeDNS = clusterDNSIP(cluster);
  if (nameserver === kubeDNS) {
    const svc = cluster.services().find((s) => s.spec.clusterIP === kubeDNS);
    const ready = svc ? cluster.endpointSlices(svc.metadata.namespace ?? 'default', svc.metadata.name).some((e) => e.endpoints.some((x) => x.conditions?.ready !== false)) : false;
    if (!ready) {
      return { name, type, status: 'TIMEOUT', records: [], server: 'none', note: svc ? `Service ${svc.metadata.namespace}/${svc.metadata.name} on ${kubeDNS} has no ready endpoints` : `no Service holds the cluster DNS address ${kubeDNS}` };
    }
    return dns.coreDNS(name, type);
  }
  if (cluster.config.vpcCIDRs[0] !== undefined && nameserver === vpcResolverIP(cluster.config.vpcCIDRs[0])) return dns.vpcResolver(name, type);
  return { name, type, status: 'FORWARDED', records: [], server: 'upstream', note: `nameserver ${nameserver} is outside the simulation` };
}

/**
 * Resolves `name` from inside `pod` as glibc does with the pod's resolv.conf: the search list and `ndots`, each
 * candidate sent to the first nameserver that answers; NXDOMAIN and empty answers move on to the next candidate.
 */
export function resolve(cluster: Cluster, pod: Pod, name: string, type: DNSRecordType = 'A'): Resolution {
  // A reverse lookup of an address (`dig -x`, `getnameinfo`) asks for its absolute in-addr.arpa name.
  if (type === 'PTR' && isIP(name) && !name.includes(':')) return resolve(cluster, pod, `${reverseName(name)}.`, type);
  const conf = resolvConf(cluster, pod);
  const dns = new ClusterDNS(cluster);
  const tried: DNSQuery[] = [];
  let answer: DNSResponse | undefined;
  for (const candidate of searchCandidates(name, conf)) {
    let response: DNSResponse | undefined;
    for (const nameserver of conf.nameservers) {
      response = ask(cluster, dns, nameserver, candidate, type);
      tried.push({ name: candidate, nameserver, response });
      if (response.status !== 'TIMEOUT') break;
    }
    response ??= { name: candidate, type, status: 'TIMEOUT', records: [], server: 'none', note: 'resolv.conf has no nameserver' };
    answer = response;
    if (response.status === 'TIMEOUT') break;
    if (response.status === 'FORWARDED' || (response.status === 'NOERROR' && response.records.length > 0)) break;
  }
  return { query: name, type, conf, tried, answer: answer! };
}
