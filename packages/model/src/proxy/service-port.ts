import type { Endpoint as ApiEndpoint, EndpointSlice, Service } from '../api/core.js';
import type { Protocol } from '../api/meta.js';
import { CIDR } from '../ip/cidr.js';
import { isIP, ipFamily, parseIP } from '../ip/address.js';

// kube-proxy's view of Services and EndpointSlices, as pkg/proxy/serviceport.go (newBaseServiceInfo),
// servicechangetracker.go and endpointslicecache.go build it. IPv4 only: the simulator models single-stack
// IPv4 clusters (EKS's default); IPv6 addresses are left out the way an IPv4 proxier leaves them out.

/** One ServicePort as kube-proxy sees it (`BaseServicePortInfo`). */
export interface ServicePortInfo {
  /** `ServicePortName.String()`: `ns/name`, plus `:portName` when the port is named. */
  name: string;
  namespace: string;
  serviceName: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** 0 when the port has no NodePort. */
  nodePort: number;
  /** `spec.externalIPs` of the proxier's family, in the given order. */
  externalIPs: string[];
  /** Load-balancer ingress IPs in VIP mode (`ipMode` absent or `VIP`), in status order. */
  loadBalancerVIPs: string[];
  /** `spec.loadBalancerSourceRanges`, trimmed and canonical; invalid ones are ignored, as kube-proxy does. */
  loadBalancerSourceRanges: string[];
  /** Only when `NeedsHealthCheck` (type LoadBalancer with externalTrafficPolicy Local), else 0. */
  healthCheckNodePort: number;
  sessionAffinity: 'None' | 'ClientIP';
  /** ClientIP affinity timeout in seconds (API default 10800); 0 without affinity. */
  stickyMaxAgeSeconds: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** `spec.trafficDistribution`, if any (hints are read from the endpoints, not from this). */
  trafficDistribution: string | undefined;
}

/** `nodePort != 0 || LB VIPs || externalIPs`: the port takes traffic from outside the cluster. */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Whether the Cluster-wide endpoint set is used by some traffic of this port. */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

/** Whether the node-local endpoint set is used by some traffic of this port. */
export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

/** One endpoint of one service port (`BaseEndpointInfo`). */
export interface EndpointInfo {
  ip: string;
  port: number;
  /** `IP:port` — the identity kube-proxy sorts, dedups and hashes. */
  endpoint: string;
  /** The endpoint's `nodeName` equals the proxier's node name. */
  isLocal: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zoneHints: string[];
  nodeHints: string[];
  nodeName: string | undefined;
}

/** A Service that gets no rules at all, and why. */
export interface SkippedService {
  /** `ns/name`. */
  service: string;
  reason: 'headless' | 'ExternalName' | 'no IPv4 ClusterIP';
}

/** Everything one node's kube-proxy derives from Services and EndpointSlices. */
export interface ProxyServiceState {
  /** Sorted by `name`, then protocol (kube-proxy iterates a map; the simulator fixes an order). */
  servicePorts: ServicePortInfo[];
  /** Endpoints per service port, keyed by `servicePortKey`, sorted by `endpoint` as plain strings. */
  endpoints: Map<string, EndpointInfo[]>;
  skipped: SkippedService[];
}

/** The map key of a service port: its name and protocol (the Go `ServicePortName` struct). */
export function servicePortKey(name: string, protocol: Protocol): string {
  return `${name}/${protocol}`;
}

/** `ServicePortName.String()`. */
export function servicePortNameString(namespace: string, serviceName: string, portName: string): string {
  return portName === '' ? `${namespace}/${serviceName}` : `${namespace}/${serviceName}:${portName}`;
}

/** `proxyutil.ShouldSkipService`: headless and ExternalName Services get no rules; IPv6-only ones none here. */
export function skipReason(svc: Service): SkippedService['reason'] | undefined {
  if (svc.spec.type === 'ExternalName') return 'ExternalName';
  const ip = svc.spec.clusterIP ?? svc.spec.clusterIPs?.[0];
  if (ip === undefined || ip === '' || ip === 'None') return 'headless';
  if (ipv4ClusterIP(svc) === undefined) return 'no IPv4 ClusterIP';
  return undefined;
}

/** Canonical IPv4 text of `text`, or undefined when it is not a plain dotted-quad IPv4 address. */
function ipv4Text(text: string): string | undefined {
  // Fast path for the usual canonical form; anything else goes through the full parser.
  if (/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(text)) return text;
  return isIP(text) && ipFamily(text) === 'IPv4' ? parseIP(text).toString() : undefined;
}

function ipv4ClusterIP(svc: Service): string | undefined {
  const candidates = [...(svc.spec.clusterIPs ?? []), ...(svc.spec.clusterIP ? [svc.spec.clusterIP] : [])];
  for (const ip of candidates) {
    const v4 = ipv4Text(ip);
    if (v4 !== undefined) return v4;
  }
  return undefined;
}

function ipv4Only(ips: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of ips ?? []) {
    const v4 = ipv4Text(raw.trim());
    if (v4 !== undefined) out.push(v4);
  }
  return out;
}

/** One `ServicePortInfo` per port of a Service (none when the Service is skipped). */
export function servicePortsOf(svc: Service): ServicePortInfo[] {
  if (skipReason(svc) !== undefined) return [];
  const namespace = svc.metadata.namespace ?? 'default';
  const clusterIP = ipv4ClusterIP(svc)!;
  const type = svc.spec.type ?? 'ClusterIP';
  const externalIPs = ipv4Only(svc.spec.externalIPs);
  const loadBalancerVIPs = ipv4Only(
    (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && (i.ipMode === undefined || i.ipMode === 'VIP')).map((i) => i.ip!),
  );
  const loadBalancerSourceRanges: string[] = [];
  for (const raw of svc.spec.loadBalancerSourceRanges ?? []) {
    try {
      const cidr = CIDR.parse(raw.trim());
      if (cidr.family === 'IPv4') loadBalancerSourceRanges.push(cidr.toString());
    } catch {
      // kube-proxy skips ranges it cannot parse (validation normally rejects them).
    }
  }
  const eTPLocal = svc.spec.externalTrafficPolicy === 'Local';
  const serviceExternallyAccessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && externalIPs.length > 0);
  const needsHealthCheck = type === 'LoadBalancer' && eTPLocal;
  const affinity = svc.spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None';
  return (svc.spec.ports ?? []).map((p) => {
    const portName = p.name ?? '';
    return {
      name: servicePortNameString(namespace, svc.metadata.name, portName),
      namespace,
      serviceName: svc.metadata.name,
      portName,
      protocol: p.protocol ?? 'TCP',
      clusterIP,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs,
      loadBalancerSourceRanges,
      healthCheckNodePort: needsHealthCheck ? (svc.spec.healthCheckNodePort ?? 0) : 0,
      sessionAffinity: affinity,
      stickyMaxAgeSeconds: affinity === 'ClientIP' ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 0,
      externalPolicyLocal: serviceExternallyAccessible && eTPLocal,
      internalPolicyLocal: svc.spec.internalTrafficPolicy === 'Local',
      trafficDistribution: svc.spec.trafficDistribution,
    };
  });
}

/** The Service an EndpointSlice belongs to (label `kubernetes.io/service-name`), as `ns/name`. */
export function endpointSliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.['kubernetes.io/service-name'];
  if (!name) return undefined;
  return `${slice.metadata.namespace ?? 'default'}/${name}`;
}

function endpointInfoOf(ep: ApiEndpoint, port: number, nodeName: string): EndpointInfo | undefined {
  const first = ep.addresses[0];
  if (first === undefined) return undefined;
  const ip = parseIPv4Sloppy(first);
  if (ip === undefined) return undefined;
  const c = ep.conditions ?? {};
  return {
    ip,
    port,
    endpoint: `${ip}:${port}`,
    isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
    ready: c.ready === undefined || c.ready,
    serving: c.serving === undefined || c.serving,
    terminating: c.terminating === true,
    zoneHints: (ep.hints?.forZones ?? []).map((z) => z.name),
    nodeHints: (ep.hints?.forNodes ?? []).map((n) => n.name),
    nodeName: ep.nodeName,
  };
}

/** Go's `ParseIPSloppy` for IPv4: decimal octets with leading zeros allowed (`10.180.00.001` is 10.180.0.1). */
export function parseIPv4Sloppy(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((o) => /^[0-9]{1,3}$/.test(o) && Number(o) <= 255)) return undefined;
  return parts.map((o) => String(Number(o))).join('.');
}

/**
 * Endpoints per service port from EndpointSlices (`EndpointSliceCache.endpointInfoByServicePort`): ports without
 * a port number are ignored; an absent port name is ""; absent conditions read ready/serving true, terminating
 * false; duplicates (by `IP:port`) keep a non-terminating one; the result is sorted by `IP:port` as strings.
 */
export function endpointsByServicePort(slices: readonly EndpointSlice[], nodeName: string): Map<string, EndpointInfo[]> {
  const sets = new Map<string, Map<string, EndpointInfo>>();
  const ordered = [...slices].sort((a, b) => cmp(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
  for (const slice of ordered) {
    if (slice.addressType !== 'IPv4') continue;
    const svcKey = endpointSliceServiceKey(slice);
    if (svcKey === undefined) continue;
    const [ns, name] = svcKey.split('/') as [string, string];
    for (const p of slice.ports ?? []) {
      if (p.port === undefined || p.port === 0) continue;
      const key = servicePortKey(servicePortNameString(ns, name, p.name ?? ''), p.protocol ?? 'TCP');
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Map()));
      for (const ep of slice.endpoints ?? []) {
        const info = endpointInfoOf(ep, p.port, nodeName);
        if (!info) continue;
        if (!set.has(info.endpoint) || !info.terminating) set.set(info.endpoint, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of sets) out.set(key, [...set.values()].sort((a, b) => cmp(a.endpoint, b.endpoint)));
  return out;
}

/** Services and EndpointSlices → what kube-proxy on node `nodeName` works from. */
export function buildProxyServiceState(input: {
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  nodeName: string;
}): ProxyServiceState {
  const servicePorts: ServicePortInfo[] = [];
  const skipped: SkippedService[] = [];
  for (const svc of input.services) {
    const reason = skipReason(svc);
    if (reason !== undefined) {
      skipped.push({ service: `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`, reason });
      continue;
    }
    servicePorts.push(...servicePortsOf(svc));
  }
  servicePorts.sort((a, b) => cmp(a.name, b.name) || cmp(a.protocol, b.protocol));
  return { servicePorts, endpoints: endpointsByServicePort(input.endpointSlices, input.nodeName), skipped };
}

/** Endpoints of one service port (empty when none). */
export function endpointsOf(state: ProxyServiceState, sp: ServicePortInfo): EndpointInfo[] {
  return state.endpoints.get(servicePortKey(sp.name, sp.protocol)) ?? [];
}

/** Plain byte-wise string order, as Go's `<` on strings. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
