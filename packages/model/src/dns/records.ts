import type { EndpointSlice } from '../api/index.js';
import type { Cluster } from '../cluster/cluster.js';
import { CIDR, intToIPv4, ipv4ToInt, isIP } from '../ip/index.js';

export type DNSRecordType = 'A' | 'SRV' | 'CNAME' | 'PTR';

export type DNSRecord =
  | { name: string; type: 'A'; address: string }
  | { name: string; type: 'CNAME'; target: string }
  | { name: string; type: 'PTR'; target: string }
  | { name: string; type: 'SRV'; priority: number; weight: number; port: number; target: string };

/**
 * A DNS server's answer. `NOERROR` with no records is NODATA (the name exists, not with that type).
 * `FORWARDED`: the name is outside every zone the simulator models (the Internet); a real resolver would get
 * its answer from upstream. `TIMEOUT`: the server the query went to does not answer (kube-dns without endpoints).
 */
export interface DNSResponse {
  name: string;
  type: DNSRecordType;
  status: 'NOERROR' | 'NXDOMAIN' | 'FORWARDED' | 'TIMEOUT';
  records: DNSRecord[];
  /** Which server answered: `coredns`, `vpc-resolver` (the Amazon-provided DNS at VPC base + 2) or `upstream`. */
  server: 'coredns' | 'vpc-resolver' | 'upstream' | 'none';
  /** Why, for NXDOMAIN/FORWARDED/TIMEOUT answers. */
  note?: string;
}

/** The private DNS domain of the nodes: `ec2.internal` in us-east-1, `<region>.compute.internal` elsewhere. */
export function nodeDomain(region: string): string {
  return region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
}

/** The Amazon-provided DNS server of a VPC: the VPC's base address plus two. */
export function vpcResolverIP(vpcCIDR: string): string {
  return intToIPv4(CIDR.parse(vpcCIDR).base + 2);
}

/** `10.0.1.5` → `10-0-1-5`, as CoreDNS names pod and endpoint records. */
export function dashedIP(ip: string): string {
  return ip.replace(/\./g, '-');
}

function undash(label: string): string | undefined {
  const ip = label.replace(/-/g, '.');
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && isIP(ip) ? ip : undefined;
}

/** `10.0.1.5` → `5.1.0.10.in-addr.arpa`, the name a reverse lookup asks for. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** `5.1.0.10.in-addr.arpa` → `10.0.1.5`; undefined when the name is not a full IPv4 reverse name. */
function fromReverseName(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
  const ip = m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
  return ip && isIP(ip) ? ip : undefined;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Endpoint addresses CoreDNS publishes for a headless Service: ready ones (absent `ready` counts as ready). */
function readyEndpoints(slices: readonly EndpointSlice[]) {
  return slices.flatMap((s) =>
    s.endpoints.filter((e) => e.conditions?.ready !== false).map((e) => ({ address: e.addresses[0]!, hostname: e.hostname, ports: s.ports ?? [] })),
  );
}

/**
 * The cluster zone as CoreDNS's `kubernetes` plugin serves it on EKS (`kubernetes cluster.local in-addr.arpa
 * ip6.arpa { pods insecure }`), with everything else forwarded to the VPC resolver (`forward . /etc/resolv.conf`).
 */
export class ClusterDNS {
  readonly cluster: Cluster;
  readonly domain: string;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    this.domain = cluster.config.clusterDomain;
  }

  /** What CoreDNS answers for `name`: the cluster zone itself, the rest through the VPC resolver. */
  coreDNS(name: string, type: DNSRecordType = 'A'): DNSResponse {
    const n = normalize(name);
    if (n === this.domain || n.endsWith(`.${this.domain}`)) return this.#cluster(n, type);
    if (n.endsWith('.in-addr.arpa')) {
      const answer = this.#reverse(n, type);
      if (answer) return answer;
      // `fallthrough in-addr.arpa ip6.arpa`: addresses the cluster does not know go on to the VPC resolver.
    }
    return this.vpcResolver(n, type);
  }

  /**
   * What the VPC resolver answers: EC2 private names `ip-a-b-c-d.<node domain>` inside the VPC; NXDOMAIN for other
   * names of that domain and for the cluster domain, which it knows nothing of; FORWARDED for the rest.
   */
  vpcResolver(name: string, type: DNSRecordType = 'A'): DNSResponse {
    const n = normalize(name);
    const domain = nodeDomain(this.cluster.config.region);
    const reversed = fromReverseName(n);
    if (reversed !== undefined) {
      // EC2 private DNS: every address of the VPC has its `ip-a-b-c-d.<domain>` name.
      if (!this.cluster.config.vpcCIDRs.some((c) => CIDR.parse(c).contains(reversed))) {
        return { name: n, type, status: 'FORWARDED', records: [], server: 'upstream', note: 'outside the VPC: answered by upstream DNS, which the simulator does not model' };
      }
      const target = `ip-${dashedIP(reversed)}.${domain}`;
      return { name: n, type, status: 'NOERROR', records: type === 'PTR' ? [{ name: n, type: 'PTR', target }] : [], server: 'vpc-resolver' };
    }
    if (n.endsWith(`.${domain}`)) {
      const label = n.slice(0, -domain.length - 1);
      const ip = /^ip-(\d+-\d+-\d+-\d+)$/.exec(label)?.[1];
      const address = ip ? undash(ip) : undefined;
      if (address && this.cluster.config.vpcCIDRs.some((c) => CIDR.parse(c).contains(address))) {
        return { name: n, type, status: 'NOERROR', records: type === 'A' ? [{ name: n, type: 'A', address }] : [], server: 'vpc-resolver' };
      }
      return { name: n, type, status: 'NXDOMAIN', records: [], server: 'vpc-resolver' };
    }
    if (n === this.domain || n.endsWith(`.${this.domain}`)) {
      return { name: n, type, status: 'NXDOMAIN', records: [], server: 'vpc-resolver', note: `the VPC resolver does not know the cluster domain ${this.domain}` };
    }
    return { name: n, type, status: 'FORWARDED', records: [], server: 'upstream', note: 'outside the cluster and the VPC: answered by upstream DNS, which the simulator does not model' };
  }

  /** PTR from the `kubernetes` plugin: a ClusterIP names its Service; an endpoint address its endpoint name(s). */
  #reverse(n: string, type: DNSRecordType): DNSResponse | undefined {
    const ip = fromReverseName(n);
    if (ip === undefined) return undefined;
    const targets: string[] = [];
    for (const svc of this.cluster.services()) {
      const ns = svc.metadata.namespace ?? 'default';
      if (svc.spec.clusterIP === ip) targets.push(`${svc.metadata.name}.${ns}.svc.${this.domain}`);
    }
    if (targets.length === 0) {
      for (const slice of this.cluster.endpointSlices()) {
        const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
        if (!svc) continue;
        for (const e of slice.endpoints) {
          if (e.addresses.includes(ip)) targets.push(`${e.hostname ?? dashedIP(ip)}.${svc}.${slice.metadata.namespace ?? 'default'}.svc.${this.domain}`);
        }
      }
    }
    if (targets.length === 0) return undefined;
    return { name: n, type, status: 'NOERROR', records: type === 'PTR' ? [...new Set(targets)].map((target) => ({ name: n, type: 'PTR' as const, target })) : [], server: 'coredns' };
  }

  #cluster(n: string, type: DNSRecordType): DNSResponse {
    const nx = (note?: string): DNSResponse => ({ name: n, type, status: 'NXDOMAIN', records: [], server: 'coredns', ...(note ? { note } : {}) });
    const ok = (records: DNSRecord[]): DNSResponse => ({ name: n, type, status: 'NOERROR', records, server: 'coredns' });
    const labels = n.slice(0, -this.domain.length - 1).split('.');
    // <a-b-c-d>.<ns>.pod.<domain>: `pods insecure` answers any well-formed address in an existing namespace.
    if (labels.length === 3 && labels[2] === 'pod') {
      const ip = undash(labels[0]!);
      if (!ip || !this.cluster.namespaces().some((x) => x.metadata.name === labels[1])) return nx();
      return ok(type === 'A' ? [{ name: n, type: 'A', address: ip }] : []);
    }
    if (labels.at(-1) !== 'svc') return nx();
    const rest = labels.slice(0, -1);
    // [_port, _proto,] [endpoint,] svc, ns
    let port: string | undefined;
    let proto: string | undefined;
    if (rest.length === 4 && rest[0]!.startsWith('_') && rest[1]!.startsWith('_')) {
      port = rest.shift()!.slice(1);
      proto = rest.shift()!.slice(1).toUpperCase();
    }
    if (rest.length < 2 || rest.length > 3) return nx();
    const [ns, svcName] = [rest.at(-1)!, rest.at(-2)!];
    const endpoint = rest.length === 3 ? rest[0] : undefined;
    const svc = this.cluster.service(ns, svcName);
    if (!svc) return nx();
    const fqdn = `${svcName}.${ns}.svc.${this.domain}`;
    if (svc.spec.type === 'ExternalName') {
      if (endpoint || port) return nx();
      return ok([{ name: n, type: 'CNAME', target: normalize(svc.spec.externalName ?? '') }]);
    }
    const headless = svc.spec.clusterIP === 'None';
    const eps = readyEndpoints(this.cluster.endpointSlices(ns, svcName));
    if (endpoint) {
      const match = eps.filter((e) => e.hostname === endpoint || (!e.hostname && dashedIP(e.address) === endpoint));
      if (match.length === 0) return nx();
      return ok(type === 'A' ? match.map((e) => ({ name: n, type: 'A' as const, address: e.address })) : []);
    }
    if (port !== undefined) {
      const sp = (svc.spec.ports ?? []).find((p) => p.name === port && (p.protocol ?? 'TCP') === proto);
      if (!sp) return nx();
      if (type !== 'SRV') return ok([]);
      if (!headless) return ok([{ name: n, type: 'SRV', priority: 0, weight: 100, port: sp.port, target: fqdn }]);
      const targets = eps.flatMap((e) => {
        const p = e.ports.find((q) => q.name === port && (q.protocol ?? 'TCP') === proto);
        return p?.port ? [{ port: p.port, target: `${e.hostname ?? dashedIP(e.address)}.${fqdn}` }] : [];
      });
      if (targets.length === 0) return nx();
      const weight = Math.floor(100 / targets.length);
      return ok(targets.map((t) => ({ name: n, type: 'SRV' as const, priority: 0, weight, ...t })));
    }
    if (type !== 'A') return ok([]);
    if (!headless) return ok(svc.spec.clusterIP ? [{ name: n, type: 'A', address: svc.spec.clusterIP }] : []);
    if (eps.length === 0) return nx(`headless Service ${ns}/${svcName} has no ready endpoints`);
    return ok([...new Set(eps.map((e) => e.address))].sort((a, b) => ipv4ToInt(a) - ipv4ToInt(b)).map((address) => ({ name: n, type: 'A' as const, address })));
  }
}

/** The cluster DNS zone of `cluster`. */
export function clusterDNS(cluster: Cluster): ClusterDNS {
  return new ClusterDNS(cluster);
}
