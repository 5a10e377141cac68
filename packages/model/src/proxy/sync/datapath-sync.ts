import type { AddressKind, Datapath, EndpointInput, IpvsScheduler, NodeConfig, ServicePortPolicy } from '@kube-netsim/datapath';
import type { EndpointSlice, Service } from '../../api/core.js';
import type { Protocol } from '../../api/meta.js';
import { KubeNetsimError } from '../../errors.js';
import { ipFamily } from '../../ip/address.js';
import { CIDR } from '../../ip/cidr.js';
import type { LocalTrafficDetector, ResolvedKubeProxyConfiguration } from '../config.js';
import { ipvsNodePortAddresses } from '../ipvs/build.js';
import { nftablesNodePortAddresses } from '../nftables/build.js';
import type { ProxyNode } from '../node.js';
import { type EndpointInfo, type ServicePortInfo, endpointSliceServiceKey, endpointsByServicePort, externallyAccessible, servicePortKey, servicePortsOf } from '../service-port.js';

// kube-proxy's state compiled into the WebAssembly datapath: nodes (one kube-proxy each, with its mode and
// addresses) and the cluster-wide service-port, address, NodePort and endpoint tables. Changes go object by object:
// a Service or EndpointSlice update recomputes only that Service's ports and writes only what differs.

/** One node's kube-proxy for `DatapathProxySync.addNode`. */
export interface SyncNodeInput {
  node: ProxyNode;
  config: ResolvedKubeProxyConfiguration;
  /** Overrides `config.localDetector` (e.g. `localDetectorFor` with the node's podCIDR for NodeCIDR). */
  localDetector?: LocalTrafficDetector;
  /**
   * The service CIDRs (`--service-cluster-ip-range`): in nftables mode an address in them that is no ClusterIP is
   * dropped (`cluster-ips-check`). The datapath takes one IPv4 CIDR, the first given.
   */
  serviceCIDRs?: readonly string[];
}

/** What one call changed in the datapath. */
export interface SyncChange {
  servicePortsAdded: number;
  servicePortsUpdated: number;
  servicePortsRemoved: number;
  /** Service ports whose endpoint list was rewritten. */
  endpointListsWritten: number;
  addressesAdded: number;
  addressesRemoved: number;
}

/** What the datapath holds for one service port. */
interface SyncedPort {
  id: number;
  info: ServicePortInfo;
  policy: string;
  /** `PROTO ip:port` → kind. */
  addresses: Map<string, AddressKind>;
  nodePort: number;
  endpoints: string;
  /** The loadBalancerSourceRanges its load-balancer addresses were written with, comma-joined. */
  sourceRanges: string;
  /** The healthCheckNodePort it holds in the datapath (0: none). */
  healthCheckNodePort: number;
}

interface SyncedNode {
  id: number;
  input: SyncNodeInput;
  /** Addresses bound to kube-ipvs0 (ipvs mode) → how many service ports use them: local, but no NodePorts. */
  ipvsBound: Map<string, number>;
}

const MAX_SERVICE_PORTS = 65535;
const IPVS_SCHEDULERS: readonly string[] = ['rr', 'lc', 'sh', 'mh'];

const emptyChange = (): SyncChange => ({ servicePortsAdded: 0, servicePortsUpdated: 0, servicePortsRemoved: 0, endpointListsWritten: 0, addressesAdded: 0, addressesRemoved: 0 });
const addressKey = (protocol: Protocol, ip: string, port: number) => `${protocol} ${ip}:${port}`;

function policyOf(sp: ServicePortInfo): ServicePortPolicy {
  return {
    internalTrafficPolicy: sp.internalPolicyLocal ? 'Local' : 'Cluster',
    externalTrafficPolicy: sp.externalPolicyLocal ? 'Local' : 'Cluster',
    sessionAffinity: sp.sessionAffinity,
    ...(sp.sessionAffinity === 'ClientIP' ? { sessionAffinityTimeoutSeconds: sp.stickyMaxAgeSeconds } : {}),
    // ipvs mode's fallback from Local to the cluster endpoints needs them computed (usesClusterEndpoints).
    externallyAccessible: externallyAccessible(sp),
  };
}

function addressesOf(sp: ServicePortInfo): Map<string, AddressKind> {
  const m = new Map<string, AddressKind>([[addressKey(sp.protocol, sp.clusterIP, sp.port), 'ClusterIP']]);
  for (const ip of sp.externalIPs) if (!m.has(addressKey(sp.protocol, ip, sp.port))) m.set(addressKey(sp.protocol, ip, sp.port), 'ExternalIP');
  for (const ip of sp.loadBalancerVIPs) if (!m.has(addressKey(sp.protocol, ip, sp.port))) m.set(addressKey(sp.protocol, ip, sp.port), 'LoadBalancerIP');
  return m;
}

function splitAddressKey(key: string): [Protocol, string, number] {
  const [protocol, rest] = key.split(' ') as [Protocol, string];
  const i = rest.lastIndexOf(':');
  return [protocol, rest.slice(0, i), Number(rest.slice(i + 1))];
}

/**
 * Keeps a datapath in step with Services, EndpointSlices and the nodes' kube-proxy configurations. Service-port ids
 * and endpoint ids are this object's: `servicePortName(id)` and `endpointName(id)` turn the datapath's results back
 * into `ns/name:port` and `IP:port`.
 */
export class DatapathProxySync {
  readonly dp: Datapath;
  private readonly nodes = new Map<string, SyncedNode>();
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  private readonly ports = new Map<string, SyncedPort>();
  private readonly portsByService = new Map<string, Set<string>>();
  private readonly addressOwner = new Map<string, string>();
  private readonly nodePortOwner = new Map<string, string>();
  /** healthCheckNodePort → service ports holding it (every port of a Service has its Service's). */
  private readonly healthCheckRefs = new Map<number, number>();
  private readonly portNames: Array<string | undefined> = [];
  private readonly freeIds: number[] = [];
  private readonly endpointIds = new Map<string, number>();
  private readonly endpointNames: string[] = [];

  constructor(dp: Datapath) {
    this.dp = dp;
  }

  /** Adds one node's kube-proxy: its mode and settings and its local addresses. Returns the datapath node id. */
  addNode(input: SyncNodeInput): number {
    const { node, config } = input;
    if (this.nodes.has(node.name)) throw new KubeNetsimError('E_PROXY_SYNC_NODE', `Node ${node.name} is already in the datapath`, { object: `Node ${node.name}` });
    // The primary IP decides loadBalancerSourceRanges' "allow from node" on this node.
    const primary = node.ips[0];
    const id = this.dp.addNode({ ...nodeConfigOf(input), ...(primary !== undefined && ipFamily(primary) === 'IPv4' ? { nodeIP: primary } : {}) });
    const synced: SyncedNode = { id, input, ipvsBound: new Map() };
    this.nodes.set(node.name, synced);
    for (const [ip, nodePort] of nodePortFlags(input)) this.dp.setLocalAddress(id, ip, { nodePort });
    if (config.mode === 'ipvs') for (const p of this.ports.values()) this.rebindIpvs(synced, undefined, p.info);
    // Endpoints on this node were written as "on no node"; write them again with its id.
    for (const p of this.ports.values()) {
      const key = servicePortKey(p.info.name, p.info.protocol);
      const eps = this.currentEndpoints(`${p.info.namespace}/${p.info.serviceName}`).get(key) ?? [];
      if (eps.some((e) => e.nodeName === node.name)) this.writeEndpoints(p, eps);
    }
    return id;
  }

  /** The datapath id of a node, or undefined. */
  nodeId(name: string): number | undefined {
    return this.nodes.get(name)?.id;
  }

  /**
   * The addresses kube-proxy in ipvs mode binds to kube-ipvs0 on this node (ClusterIPs, external and LB IPs that
   * are no node address): local addresses of the node, which take no NodePorts. Empty for other modes.
   */
  ipvsBoundAddresses(nodeName: string): string[] {
    return [...(this.nodes.get(nodeName)?.ipvsBound.keys() ?? [])];
  }

  /** `ns/name:port` of a datapath service-port id. */
  servicePortName(id: number): string | undefined {
    return this.portNames[id];
  }

  /** The datapath service-port id of a service port (`ns/name:port` and protocol). */
  servicePortId(name: string, protocol: Protocol): number | undefined {
    return this.ports.get(servicePortKey(name, protocol))?.id;
  }

  /** `IP:port` of a datapath endpoint id. */
  endpointName(id: number): string | undefined {
    return this.endpointNames[id];
  }

  /** Adds or replaces a Service; only its ports are recompiled. Nothing changes when it would conflict. */
  applyService(svc: Service): SyncChange {
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    const previous = this.services.get(key);
    this.services.set(key, svc);
    try {
      return this.recompute(key);
    } catch (e) {
      if (previous) this.services.set(key, previous);
      else this.services.delete(key);
      throw e;
    }
  }

  deleteService(namespace: string, name: string): SyncChange {
    this.services.delete(`${namespace}/${name}`);
    return this.recompute(`${namespace}/${name}`);
  }

  /** Adds or replaces an EndpointSlice; only its Service's endpoint lists are rewritten. */
  applyEndpointSlice(slice: EndpointSlice): SyncChange {
    const svcKey = endpointSliceServiceKey(slice);
    if (svcKey === undefined) return emptyChange(); // no kubernetes.io/service-name: kube-proxy ignores it
    let m = this.slices.get(svcKey);
    if (!m) this.slices.set(svcKey, (m = new Map()));
    m.set(slice.metadata.name, slice);
    return this.recompute(svcKey);
  }

  deleteEndpointSlice(slice: EndpointSlice): SyncChange {
    const svcKey = endpointSliceServiceKey(slice);
    if (svcKey === undefined) return emptyChange();
    this.slices.get(svcKey)?.delete(slice.metadata.name);
    return this.recompute(svcKey);
  }

  /** Makes the datapath hold exactly these Services and EndpointSlices (a full sync, written as a diff). */
  syncAll(services: readonly Service[], slices: readonly EndpointSlice[]): SyncChange {
    const total = emptyChange();
    const keys = new Set<string>([...this.services.keys(), ...this.slices.keys()]);
    this.services.clear();
    this.slices.clear();
    for (const svc of services) this.services.set(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`, svc);
    for (const slice of slices) {
      const k = endpointSliceServiceKey(slice);
      if (k === undefined) continue;
      let m = this.slices.get(k);
      if (!m) this.slices.set(k, (m = new Map()));
      m.set(slice.metadata.name, slice);
    }
    for (const k of [...this.services.keys(), ...this.slices.keys()]) keys.add(k);
    for (const k of [...keys].sort()) {
      const c = this.recompute(k);
      for (const f of Object.keys(total) as Array<keyof SyncChange>) total[f] += c[f];
    }
    return total;
  }

  private currentEndpoints(svcKey: string): Map<string, EndpointInfo[]> {
    // Locality is the datapath's business (endpoint node id vs processing node), so no proxier node name here.
    return endpointsByServicePort([...(this.slices.get(svcKey)?.values() ?? [])], '');
  }

  private recompute(svcKey: string): SyncChange {
    const change = emptyChange();
    const svc = this.services.get(svcKey);
    const wanted = svc ? servicePortsOf(svc) : [];
    const endpoints = this.currentEndpoints(svcKey);
    const wantedKeys = new Set(wanted.map((sp) => servicePortKey(sp.name, sp.protocol)));
    this.checkConflicts(wanted, this.portsByService.get(svcKey) ?? new Set());

    for (const key of this.portsByService.get(svcKey) ?? []) {
      if (!wantedKeys.has(key)) this.removePort(key, change);
    }
    const keys = new Set<string>();
    for (const sp of wanted) {
      const key = servicePortKey(sp.name, sp.protocol);
      keys.add(key);
      this.upsertPort(key, sp, endpoints.get(key) ?? [], change);
    }
    if (keys.size > 0) this.portsByService.set(svcKey, keys);
    else this.portsByService.delete(svcKey);
    return change;
  }

  /** Refuses, before anything is written, a Service whose addresses or NodePorts another Service holds. */
  private checkConflicts(wanted: readonly ServicePortInfo[], ownPorts: ReadonlySet<string>): void {
    for (const sp of wanted) {
      for (const a of addressesOf(sp).keys()) {
        const owner = this.addressOwner.get(a);
        if (owner !== undefined && !ownPorts.has(owner)) {
          throw new KubeNetsimError('E_PROXY_SYNC_CONFLICT', `${a} of ${sp.name} is already the address of ${owner.slice(0, owner.lastIndexOf('/'))}`, {
            object: `Service ${sp.namespace}/${sp.serviceName}`,
            hint: 'two Services cannot share a ClusterIP, external IP or load-balancer IP on the same port and protocol',
          });
        }
      }
      if (sp.nodePort !== 0) {
        const owner = this.nodePortOwner.get(`${sp.protocol} ${sp.nodePort}`);
        if (owner !== undefined && !ownPorts.has(owner)) {
          throw new KubeNetsimError('E_PROXY_SYNC_CONFLICT', `NodePort ${sp.nodePort}/${sp.protocol} of ${sp.name} is already used by ${owner.slice(0, owner.lastIndexOf('/'))}`, {
            object: `Service ${sp.namespace}/${sp.serviceName}`,
            hint: 'NodePorts are unique cluster-wide',
          });
        }
      }
    }
  }

  private allocateId(name: string): number {
    const id = this.freeIds.pop() ?? this.portNames.length;
    if (id >= MAX_SERVICE_PORTS) {
      throw new KubeNetsimError('E_PROXY_SYNC_LIMIT', `The datapath holds at most ${MAX_SERVICE_PORTS} service ports; ${name} is one too many`);
    }
    this.portNames[id] = name;
    return id;
  }

  private upsertPort(key: string, sp: ServicePortInfo, eps: readonly EndpointInfo[], change: SyncChange): void {
    let p = this.ports.get(key);
    const previous = p?.info;
    const policy = policyOf(sp);
    const policyText = JSON.stringify(policy);
    if (!p) {
      // A new service-port starts with no endpoints in the datapath: an empty list needs no write.
      p = { id: this.allocateId(sp.name), info: sp, policy: '', addresses: new Map(), nodePort: 0, endpoints: '[]', sourceRanges: '', healthCheckNodePort: 0 };
      this.ports.set(key, p);
      change.servicePortsAdded++;
    } else if (JSON.stringify(p.info) !== JSON.stringify(sp)) {
      change.servicePortsUpdated++;
    }
    if (p.policy !== policyText) {
      this.dp.setServicePort(p.id, policy);
      p.policy = policyText;
    }
    const wanted = addressesOf(sp);
    for (const [a, kind] of p.addresses) {
      if (wanted.get(a) === kind) continue;
      this.dp.removeServiceAddress(...splitAddressKey(a));
      this.addressOwner.delete(a);
      p.addresses.delete(a);
      change.addressesRemoved++;
    }
    // Changed source ranges are written again onto the load-balancer addresses that stay.
    const sourceRanges = sp.loadBalancerSourceRanges.join(',');
    for (const [a, kind] of wanted) {
      const known = p.addresses.has(a);
      if (known && (kind !== 'LoadBalancerIP' || sourceRanges === p.sourceRanges)) continue;
      const [protocol, ip, port] = splitAddressKey(a);
      this.dp.addServiceAddress(protocol, ip, port, p.id, kind, kind === 'LoadBalancerIP' ? { loadBalancerSourceRanges: sp.loadBalancerSourceRanges } : {});
      if (known) continue;
      this.addressOwner.set(a, key);
      p.addresses.set(a, kind);
      change.addressesAdded++;
    }
    p.sourceRanges = sourceRanges;
    if (p.nodePort !== sp.nodePort) {
      if (p.nodePort !== 0) {
        this.dp.setNodePort(p.info.protocol, p.nodePort, null);
        this.nodePortOwner.delete(`${p.info.protocol} ${p.nodePort}`);
      }
      if (sp.nodePort !== 0) {
        this.dp.setNodePort(sp.protocol, sp.nodePort, p.id);
        this.nodePortOwner.set(`${sp.protocol} ${sp.nodePort}`, key);
      }
      p.nodePort = sp.nodePort;
    }
    if (p.healthCheckNodePort !== sp.healthCheckNodePort) {
      this.holdHealthCheckNodePort(sp.healthCheckNodePort, 1);
      this.holdHealthCheckNodePort(p.healthCheckNodePort, -1);
      p.healthCheckNodePort = sp.healthCheckNodePort;
    }
    p.info = sp;
    for (const n of this.nodes.values()) if (n.input.config.mode === 'ipvs') this.rebindIpvs(n, previous, sp);
    if (this.writeEndpoints(p, eps)) change.endpointListsWritten++;
  }

  private writeEndpoints(p: SyncedPort, eps: readonly EndpointInfo[]): boolean {
    const inputs: EndpointInput[] = eps.map((ep) => ({
      ip: ep.ip,
      port: ep.port,
      node: ep.nodeName === undefined ? -1 : (this.nodes.get(ep.nodeName)?.id ?? -1),
      ready: ep.ready,
      serving: ep.serving,
      terminating: ep.terminating,
      id: this.endpointId(ep.endpoint),
    }));
    const text = JSON.stringify(inputs);
    if (text === p.endpoints) return false;
    this.dp.setEndpoints(p.id, inputs);
    p.endpoints = text;
    return true;
  }

  private endpointId(endpoint: string): number {
    let id = this.endpointIds.get(endpoint);
    if (id === undefined) {
      id = this.endpointNames.length;
      this.endpointIds.set(endpoint, id);
      this.endpointNames.push(endpoint);
    }
    return id;
  }

  private removePort(key: string, change: SyncChange): void {
    const p = this.ports.get(key);
    if (!p) return;
    this.dp.removeServicePort(p.id); // with its addresses, NodePort and endpoints
    for (const a of p.addresses.keys()) this.addressOwner.delete(a);
    if (p.nodePort !== 0) this.nodePortOwner.delete(`${p.info.protocol} ${p.nodePort}`);
    this.holdHealthCheckNodePort(p.healthCheckNodePort, -1);
    change.addressesRemoved += p.addresses.size;
    this.ports.delete(key);
    this.portNames[p.id] = undefined;
    this.freeIds.push(p.id);
    for (const n of this.nodes.values()) if (n.input.config.mode === 'ipvs') this.rebindIpvs(n, p.info, undefined);
    change.servicePortsRemoved++;
  }

  /**
   * Counts one more (1) or one less (−1) service port holding a healthCheckNodePort (0: none); the datapath's set
   * (ipvs mode's KUBE-HEALTH-CHECK-NODE-PORT, which KUBE-IPVS-FILTER lets through) changes on the first and last.
   */
  private holdHealthCheckNodePort(port: number, delta: 1 | -1): void {
    if (port === 0) return;
    const count = (this.healthCheckRefs.get(port) ?? 0) + delta;
    if (count > 0) this.healthCheckRefs.set(port, count);
    else this.healthCheckRefs.delete(port);
    if (count === (delta > 0 ? 1 : 0)) this.dp.setHealthCheckNodePort(port, delta > 0);
  }

  /** ipvs mode binds ClusterIPs (and external/LB IPs that are no node address) to kube-ipvs0: local, no NodePorts. */
  private ipvsAddresses(n: SyncedNode, sp: ServicePortInfo): string[] {
    const own = new Set(n.input.node.ips);
    return [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerVIPs].filter((ip) => !own.has(ip));
  }

  /** Moves one service port's kube-ipvs0 addresses from `before` to `after` (reference-counted per node). */
  private rebindIpvs(n: SyncedNode, before: ServicePortInfo | undefined, after: ServicePortInfo | undefined): void {
    const old = new Set(before ? this.ipvsAddresses(n, before) : []);
    const now = new Set(after ? this.ipvsAddresses(n, after) : []);
    for (const ip of now) {
      if (old.has(ip)) continue;
      const count = n.ipvsBound.get(ip) ?? 0;
      if (count === 0) this.dp.setLocalAddress(n.id, ip, { nodePort: false, kubeIpvs0: true });
      n.ipvsBound.set(ip, count + 1);
    }
    for (const ip of old) {
      if (now.has(ip)) continue;
      const count = (n.ipvsBound.get(ip) ?? 1) - 1;
      if (count > 0) n.ipvsBound.set(ip, count);
      else {
        n.ipvsBound.delete(ip);
        this.dp.removeLocalAddress(n.id, ip);
      }
    }
  }
}

/** The datapath's node configuration for one kube-proxy. */
export function nodeConfigOf(input: SyncNodeInput): NodeConfig {
  const { config, node } = input;
  const detector = input.localDetector ?? config.localDetector;
  if (detector.kind === 'interface') {
    throw new KubeNetsimError('E_PROXY_SYNC_DETECTOR', `detectLocalMode ${config.detectLocalMode} (interface ${detector.name}) cannot be compiled into the datapath`, {
      object: `Node ${node.name}`,
      hint: 'use detectLocalMode ClusterCIDR or NodeCIDR, whose CIDR the datapath matches',
    });
  }
  if (config.mode === 'ipvs' && !IPVS_SCHEDULERS.includes(config.ipvsScheduler)) {
    throw new KubeNetsimError('E_PROXY_IPVS_SCHEDULER', `The datapath models the IPVS schedulers ${IPVS_SCHEDULERS.join(', ')}; got ${JSON.stringify(config.ipvsScheduler)}`, {
      object: 'KubeProxyConfiguration',
      hint: 'set ipvs.scheduler to rr (the default), lc, sh or mh',
    });
  }
  const serviceCIDR = config.mode === 'nftables' ? input.serviceCIDRs?.map((c) => CIDR.parse(c, 'service CIDR')).find((c) => c.family === 'IPv4') : undefined;
  return {
    mode: config.mode,
    ...(config.mode === 'ipvs' ? { ipvsScheduler: config.ipvsScheduler as IpvsScheduler } : {}),
    ...(serviceCIDR ? { serviceCIDR: serviceCIDR.toString() } : {}),
    masqueradeAll: config.masqueradeAll,
    localTrafficDetector: detector.kind === 'cidr' ? detector.cidr : null,
    localhostNodePorts: config.mode === 'iptables' && config.localhostNodePorts,
  };
}

/**
 * Each node address and whether it accepts NodePorts, by mode: iptables and ipvs every local address unless
 * `nodePortAddresses` narrows them; nftables the primary address unless `nodePortAddresses` says otherwise.
 */
export function nodePortFlags(input: SyncNodeInput): Array<[string, boolean]> {
  const { node, config } = input;
  let accepted: Set<string>;
  if (config.mode === 'nftables') {
    const n = nftablesNodePortAddresses(node, config.nodePortAddresses);
    accepted = new Set(n.all ? node.ips : n.ips);
  } else if (config.mode === 'ipvs') {
    accepted = new Set(ipvsNodePortAddresses(node, config.nodePortAddresses));
  } else {
    accepted = new Set(
      config.nodePortAddresses.length === 0
        ? node.ips
        : node.ips.filter((ip) => config.nodePortAddresses.some((a) => (a === 'primary' ? ip === node.ips[0] : CIDR.parse(a).contains(ip)))),
    );
  }
  return node.ips.map((ip) => [ip, accepted.has(ip)]);
}
