/**
 * The reference datapath: the same semantics as the WebAssembly core, written for reading — objects, arrays and
 * Maps, one decision per line. It is the oracle of the differential tests and the slow baseline of the benchmarks.
 * One known difference: when the conntrack table is full, the core evicts within 8 slots of the new entry's bucket
 * (like the kernel), the reference evicts the oldest evictable entry; tests compare them below the maximum only.
 */
import { ArrivalCode, ProtocolNumber, ResultFlag, Verdict, type Protocol, type VerdictCode } from '../abi.js';
import type { AddressKind, ConntrackStats, DatapathOptions, EndpointInput, IpvsScheduler, LocalAddressOptions, NodeConfig, ProxyMode, ServiceAddressOptions, ServicePortPolicy } from '../config.js';
import { DatapathError } from '../errors.js';
import { statisticThreshold } from '../iptables-probability.js';
import { toIPv4, toIPv4Cidr } from '../ipv4.js';
import type { PacketInput, PacketResult } from '../packet-batch.js';
import { U32_MAX, checkBoolean, checkEnum, checkProtocol, checkU32, nodeIPOf, normalizeOptions, sourceRangesOf } from '../validate.js';
import { draw, flowHash, hash32 } from './hash.js';
import { buildMaglevTable, maglevLookup } from './maglev.js';

interface RefNode {
  mode: ProxyMode;
  scheduler: IpvsScheduler;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  detector: { base: number; mask: number } | null;
  serviceCIDR: { base: number; mask: number } | null;
  /** Primary IP (kube-proxy's node IP), for loadBalancerSourceRanges' "allow from node". */
  nodeIP: number | null;
  /** Local address → accepts NodePorts. */
  addresses: Map<number, boolean>;
  /** The local addresses bound to kube-ipvs0 (`setLocalAddress` option `kubeIpvs0`). */
  kubeIpvs0: Set<number>;
}

interface RefServiceAddress {
  servicePort: number;
  kind: AddressKind;
  /** loadBalancerSourceRanges (load-balancer IPs only); empty: every source. */
  sourceRanges: Array<{ base: number; mask: number }>;
}

interface RefEndpoint { ip: number; port: number; node: number; ready: boolean; serving: boolean; terminating: boolean; id: number }

interface RefServicePort {
  internalLocal: boolean;
  externalLocal: boolean;
  affinity: boolean;
  affinityTimeout: number;
  externallyAccessible: boolean;
  endpoints: RefEndpoint[];
  maglev?: Uint16Array;
}

interface RefConnection {
  node: number;
  /** Original destination: the IPVS virtual server's address. */
  virtualServer: number;
  protoIndex: number;
  endpointIP: number;
  endpointPort: number;
  endpointId: number;
  servicePortId: number;
  snat: boolean;
  assured: boolean;
  countedByLc: boolean;
  expiry: number;
}

interface AffinityEntry { ip: number; port: number; lastUsed: number }
interface RecentEntry { client: number; lastSeen: number }

/** xt_recent's default ip_list_tot: clients per list in iptables mode. */
const RECENT_LIST_MAX = 100;

const PROTO_INDEX: Record<number, number> = { 6: 0, 17: 1, 132: 2 };
const NO_ID = -1;

export class ReferenceDatapath {
  readonly seed: number;
  readonly conntrackMax: number;
  now = 0;
  private readonly nodes: RefNode[] = [];
  private readonly servicePorts = new Map<number, RefServicePort>();
  /** "proto|ip|port" → { servicePort, kind, sourceRanges }. */
  private readonly serviceAddresses = new Map<string, RefServiceAddress>();
  /** ipvs mode's KUBE-HEALTH-CHECK-NODE-PORT. */
  private readonly healthCheckNodePorts = new Set<number>();
  /** "proto|port" → service-port. */
  private readonly nodePorts = new Map<string, number>();
  /** "node|proto|src|sport|dst|dport" → connection, in insertion order. */
  private readonly conntrack = new Map<string, RefConnection>();
  private readonly rrNext = new Map<string, number>();
  /** IPVS persistence templates: "node|sp|virtual server|client" → endpoint. */
  private readonly affinity = new Map<string, AffinityEntry>();
  /** iptables `recent` lists / nftables affinity sets: "node|sp|endpoint IP|port" → clients, least recently seen first. */
  private readonly recent = new Map<string, RecentEntry[]>();
  private readonly lc = new Map<string, { active: number; inactive: number }>();
  private readonly timeouts = [[120, 432000], [30, 120], [3, 210]];
  private readonly stats = { inserted: 0, earlyDrops: 0, drops: 0 };

  constructor(options: DatapathOptions = {}) {
    const o = normalizeOptions(options);
    this.seed = o.seed;
    this.conntrackMax = o.conntrackMax;
  }

  addNode(config: NodeConfig = {}): number {
    this.nodes.push(this.nodeFrom(config, new Map(), new Set()));
    return this.nodes.length - 1;
  }

  configureNode(node: number, config: NodeConfig = {}): void {
    this.nodes[node] = this.nodeFrom(config, this.node(node).addresses, this.node(node).kubeIpvs0);
  }

  private nodeFrom(config: NodeConfig, addresses: Map<number, boolean>, kubeIpvs0: Set<number>): RefNode {
    const mode = checkEnum(config.mode, 'config.mode', ['iptables', 'nftables', 'ipvs'] as const, 'iptables');
    const cidr = (value: string | null | undefined, name: string): { base: number; mask: number } | null =>
      value === undefined || value === null ? null : maskedCidr(toIPv4Cidr(value, name));
    const detector = cidr(config.localTrafficDetector, 'config.localTrafficDetector');
    const serviceCIDR = cidr(config.serviceCIDR, 'config.serviceCIDR');
    return {
      mode,
      scheduler: checkEnum(config.ipvsScheduler, 'config.ipvsScheduler', ['rr', 'lc', 'sh', 'mh'] as const, 'rr'),
      masqueradeAll: checkBoolean(config.masqueradeAll, 'config.masqueradeAll', false),
      localhostNodePorts: checkBoolean(config.localhostNodePorts, 'config.localhostNodePorts', true) && mode === 'iptables',
      detector,
      serviceCIDR,
      nodeIP: nodeIPOf(config),
      addresses,
      kubeIpvs0,
    };
  }

  private node(node: number): RefNode {
    const n = this.nodes[node];
    if (!n) throw new RangeError(`Expected \`node\` to be a node id returned by addNode(), got ${node}`);
    return n;
  }

  private servicePort(id: number): RefServicePort {
    const sp = this.servicePorts.get(id);
    if (!sp) throw new RangeError(`service-port ${id} is not defined; call setServicePort(${id}, …) first`);
    return sp;
  }

  setLocalAddress(node: number, ip: string | number, options: LocalAddressOptions = {}): void {
    const n = this.node(node);
    const addr = toIPv4(ip, 'ip');
    const nodePort = checkBoolean(options.nodePort, 'options.nodePort', true);
    const kubeIpvs0 = checkBoolean(options.kubeIpvs0, 'options.kubeIpvs0', false);
    n.addresses.set(addr, nodePort);
    if (kubeIpvs0) n.kubeIpvs0.add(addr);
    else n.kubeIpvs0.delete(addr);
  }

  removeLocalAddress(node: number, ip: string | number): void {
    const n = this.node(node);
    const addr = toIPv4(ip, 'ip');
    if (!n.addresses.delete(addr)) throw new DatapathError('E_DATAPATH_NOT_FOUND', 'removeLocalAddress: no such entry');
    n.kubeIpvs0.delete(addr);
  }

  setServicePort(id: number, policy: ServicePortPolicy = {}): void {
    checkU32(id, 'id', 0, 65534);
    const existing = this.servicePorts.get(id);
    this.servicePorts.set(id, {
      internalLocal: checkEnum(policy.internalTrafficPolicy, 'policy.internalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster') === 'Local',
      externalLocal: checkEnum(policy.externalTrafficPolicy, 'policy.externalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster') === 'Local',
      affinity: checkEnum(policy.sessionAffinity, 'policy.sessionAffinity', ['None', 'ClientIP'] as const, 'None') === 'ClientIP',
      affinityTimeout: checkU32(policy.sessionAffinityTimeoutSeconds ?? 10800, 'policy.sessionAffinityTimeoutSeconds', 1, 86400 * 365),
      externallyAccessible: checkBoolean(policy.externallyAccessible, 'policy.externallyAccessible', false),
      endpoints: existing?.endpoints ?? [],
      ...(existing?.maglev ? { maglev: existing.maglev } : {}),
    });
  }

  removeServicePort(id: number): void {
    this.servicePort(id);
    this.forgetRecent(id, []);
    this.servicePorts.delete(id);
    for (const [key, value] of this.serviceAddresses) if (value.servicePort === id) this.serviceAddresses.delete(key);
    for (const [key, value] of this.nodePorts) if (value === id) this.nodePorts.delete(key);
  }

  addServiceAddress(protocol: Protocol, ip: string | number, port: number, servicePort: number, kind: AddressKind = 'ClusterIP',
    options: ServiceAddressOptions = {}): void {
    const key = `${checkProtocol(protocol)}|${toIPv4(ip, 'ip')}|${checkU32(port, 'port', 1, 65535)}`;
    const sourceRanges = sourceRangesOf(options, kind).map(maskedCidr);
    this.servicePort(servicePort);
    const existing = this.serviceAddresses.get(key);
    if (existing && existing.servicePort !== servicePort) {
      throw new DatapathError('E_DATAPATH_CONFLICT', `addServiceAddress: already mapped to service-port ${existing.servicePort}; remove that mapping first`);
    }
    this.serviceAddresses.set(key, { servicePort, kind, sourceRanges });
  }

  removeServiceAddress(protocol: Protocol, ip: string | number, port: number): void {
    if (!this.serviceAddresses.delete(`${checkProtocol(protocol)}|${toIPv4(ip, 'ip')}|${port}`)) {
      throw new DatapathError('E_DATAPATH_NOT_FOUND', 'removeServiceAddress: no such entry');
    }
  }

  setNodePort(protocol: Protocol, port: number, servicePort: number | null): void {
    const key = `${checkProtocol(protocol)}|${checkU32(port, 'port', 1, 65535)}`;
    if (servicePort === null) { this.nodePorts.delete(key); return; }
    this.servicePort(servicePort);
    const existing = this.nodePorts.get(key);
    if (existing !== undefined && existing !== servicePort) {
      throw new DatapathError('E_DATAPATH_CONFLICT', `setNodePort: already mapped to service-port ${existing}; remove that mapping first`);
    }
    this.nodePorts.set(key, servicePort);
  }

  setHealthCheckNodePort(port: number, enabled: boolean): void {
    checkU32(port, 'port', 1, 65535);
    if (typeof enabled !== 'boolean') throw new TypeError(`Expected \`enabled\` to be a boolean, got ${JSON.stringify(enabled)}`);
    if (enabled) this.healthCheckNodePorts.add(port);
    else this.healthCheckNodePorts.delete(port);
  }

  setEndpoints(id: number, endpoints: readonly EndpointInput[]): void {
    const sp = this.servicePort(id);
    const next = endpoints.map((ep, i) => ({
      ip: toIPv4(ep.ip, `endpoints[${i}].ip`),
      port: checkU32(ep.port, `endpoints[${i}].port`, 1, 65535),
      node: ep.node === -1 ? U32_MAX : checkU32(ep.node, `endpoints[${i}].node`),
      ready: ep.ready ?? true,
      serving: ep.serving ?? true,
      terminating: ep.terminating ?? false,
      id: ep.id ?? i,
    }));
    this.forgetRecent(id, next);
    sp.endpoints = next;
    delete sp.maglev;
  }

  /** A removed endpoint's SEP chain goes, and its recent list with it. */
  private forgetRecent(spId: number, kept: readonly RefEndpoint[]): void {
    for (const key of this.recent.keys()) {
      const [, sp, ip, port] = key.split('|').map(Number);
      if (sp === spId && !kept.some((ep) => ep.ip === ip && ep.port === port)) this.recent.delete(key);
    }
  }

  advanceTime(seconds: number): void {
    this.now += checkU32(seconds, 'seconds');
  }

  setConntrackTimeouts(protocol: Protocol, unassuredSeconds: number, assuredSeconds: number): void {
    this.timeouts[PROTO_INDEX[checkProtocol(protocol)]!] = [checkU32(unassuredSeconds, 'unassuredSeconds', 1), checkU32(assuredSeconds, 'assuredSeconds', 1)];
  }

  conntrackStats(): ConntrackStats {
    return { entries: this.conntrack.size, max: this.conntrackMax, ...this.stats };
  }

  flushConntrack(): void {
    for (const c of this.conntrack.values()) this.forget(c);
    this.conntrack.clear();
  }

  /** Removes expired connections and affinity entries; returns the connections removed. */
  sweep(): number {
    let removed = 0;
    for (const [key, c] of this.conntrack) {
      if (c.expiry <= this.now) {
        this.forget(c);
        this.conntrack.delete(key);
        removed++;
      }
    }
    for (const [key, entry] of this.affinity) {
      const sp = this.servicePorts.get(Number(key.split('|')[1]));
      if (this.now - entry.lastUsed > (sp?.affinityTimeout ?? 0)) this.affinity.delete(key);
    }
    return removed;
  }

  ipvsConnections(node: number, servicePort: number, virtualServerIP: string | number, endpointId: number): { active: number; inactive: number } {
    return { ...(this.lc.get(`${node}|${servicePort}|${toIPv4(virtualServerIP, 'virtualServerIP')}|${endpointId}`) ?? { active: 0, inactive: 0 }) };
  }

  /** Runs packets in order; one result each. */
  processAll(packets: readonly PacketInput[]): PacketResult[] {
    return packets.map((p) => this.process(p));
  }

  /** One packet through its node's kube-proxy and conntrack. */
  process(packet: PacketInput): PacketResult {
    const proto = ProtocolNumber[packet.protocol];
    const dst = toIPv4(packet.dstIP, 'packet.dstIP');
    const src = toIPv4(packet.srcIP, 'packet.srcIP');
    const node = this.nodes[packet.node];
    const protoIndex = proto === undefined ? undefined : PROTO_INDEX[proto];
    const arrival = ArrivalCode[packet.arrival];
    const unchanged = (verdict: VerdictCode, flags = 0, servicePortId = NO_ID): PacketResult =>
      ({ verdict, flags, dstIP: dst, dstPort: packet.dstPort, endpointId: NO_ID, servicePortId });
    if (!node || protoIndex === undefined || arrival === undefined) return unchanged(Verdict.INVALID);

    // 1. Conntrack: an established connection keeps its translation.
    const key = `${packet.node}|${protoIndex}|${src}|${packet.srcPort}|${dst}|${packet.dstPort}`;
    const known = this.conntrack.get(key);
    if (known && known.expiry > this.now) {
      if (!known.assured) {
        known.assured = true;
        if (known.countedByLc && protoIndex === 0) this.lcCount(known, -1, +1);
      }
      known.expiry = this.now + this.timeouts[protoIndex]![1]!;
      return {
        verdict: Verdict.DNAT,
        flags: ResultFlag.CONNTRACK_HIT | (known.snat ? ResultFlag.SNAT : 0),
        dstIP: known.endpointIP, dstPort: known.endpointPort, endpointId: known.endpointId, servicePortId: known.servicePortId,
      };
    }

    // 2. Which service-port: a service address first (KUBE-SERVICES), then a NodePort on a local address.
    let flags = 0;
    let spId: number | undefined;
    let external = false;
    const address = this.serviceAddresses.get(`${proto}|${dst}|${packet.dstPort}`);
    if (address) {
      spId = address.servicePort;
      external = address.kind !== 'ClusterIP';
    } else {
      const np = this.nodePorts.get(`${proto}|${packet.dstPort}`);
      const viaAddress = node.addresses.get(dst) === true;
      const viaLocalhost = node.localhostNodePorts && dst >>> 24 === 127 && packet.arrival === 'host';
      if (np !== undefined && (viaAddress || viaLocalhost)) {
        spId = np;
        external = true;
        flags |= ResultFlag.NODEPORT;
      }
    }
    if (spId === undefined) {
      // ipvs: KUBE-IPVS-FILTER (from INPUT; every arrival, as the address is local) RETURNs for a health-check node
      // port, else REJECTs an address bound to kube-ipvs0: any kind of service address that is no address of the
      // node's own (one that is local without being marked as bound there).
      const addresses = [...this.serviceAddresses].filter(([k]) => Number(k.split('|')[1]) === dst).map(([, v]) => v);
      if (node.mode === 'ipvs') {
        const onKubeIpvs0 = addresses.length > 0 && (!node.addresses.has(dst) || node.kubeIpvs0.has(dst));
        return unchanged(onKubeIpvs0 && !this.healthCheckNodePorts.has(packet.dstPort) ? Verdict.REJECT : Verdict.PASS);
      }
      // nftables' cluster-ips-check: a ClusterIP on an unknown port is rejected, an unallocated service address dropped.
      if (node.mode === 'nftables' && addresses.some((a) => a.kind === 'ClusterIP')) return unchanged(Verdict.REJECT);
      if (node.mode === 'nftables' && node.serviceCIDR && ((dst & node.serviceCIDR.mask) >>> 0) === node.serviceCIDR.base) return unchanged(Verdict.DROP);
      return unchanged(Verdict.PASS);
    }
    const sp = this.servicePort(spId);

    // 3. The kernel allocates the conntrack entry before the nat and filter tables: a full table evicts or drops.
    if (!known && this.conntrack.size >= this.conntrackMax) {
      const victim = [...this.conntrack].find(([, c]) => c.expiry <= this.now || !c.assured);
      if (!victim) {
        this.stats.drops++;
        return unchanged(Verdict.DROP_CONNTRACK_FULL, flags, spId);
      }
      this.forget(victim[1]);
      this.conntrack.delete(victim[0]);
      this.stats.earlyDrops++;
      flags |= ResultFlag.EARLY_DROP;
    }

    // 4. loadBalancerSourceRanges, for a new connection to a load-balancer IP that has them. The dropped packet's
    //    entry is never confirmed (an eviction made for it stands).
    if (address && address.sourceRanges.length > 0 && !this.sourceAllowed(node, address, src, dst, proto, packet.dstPort, packet.arrival === 'host', usable(sp.endpoints).length)) {
      return unchanged(Verdict.DROP, flags | ResultFlag.SOURCE_RANGES, spId);
    }

    // 5. Endpoints and policy.
    const cluster = usable(sp.endpoints);
    if (cluster.length === 0) {
      // iptables: the "has no endpoints" REJECT of an external or LB IP is in KUBE-EXTERNAL-SERVICES (INPUT and
      // FORWARD only): a host process's packet to one that is not local leaves the node.
      const leaves = node.mode === 'iptables' && external && packet.arrival === 'host' && (flags & ResultFlag.NODEPORT) === 0 && !node.addresses.has(dst);
      return unchanged(leaves ? Verdict.PASS : Verdict.REJECT, flags, spId);
    }
    const fromPodCidr = node.detector !== null && ((src & node.detector.mask) >>> 0) === node.detector.base;
    let masquerade = false;
    let useLocal = false;
    if (!external) {
      masquerade = node.masqueradeAll || (node.detector !== null && !fromPodCidr);
      useLocal = sp.internalLocal;
    } else if (node.mode === 'ipvs') {
      // KUBE-LOAD-BALANCER-LOCAL / KUBE-NODE-PORT-LOCAL-* return before the mark, from any source; no short-circuit.
      useLocal = sp.externalLocal;
      masquerade = !useLocal;
    } else if (!sp.externalLocal) {
      masquerade = true;
    } else if (fromPodCidr) {
      // pod traffic short-circuits to all endpoints
    } else if (packet.arrival === 'host') {
      masquerade = true;
    } else {
      useLocal = true;
    }
    let candidates = cluster;
    if (useLocal) {
      flags |= ResultFlag.LOCAL_POLICY;
      candidates = usable(sp.endpoints.filter((ep) => ep.node === packet.node));
      if (candidates.length === 0 && node.mode !== 'ipvs') return unchanged(Verdict.DROP, flags, spId);
      if (candidates.length === 0) {
        // ipvs (kubernetes#97081): the cluster endpoints instead — none computed for an iTP-Local Service that is
        // not externally accessible, so its virtual server has no real server.
        if (sp.internalLocal && !sp.externallyAccessible) return unchanged(Verdict.REJECT, flags, spId);
        flags &= ~ResultFlag.LOCAL_POLICY;
        useLocal = false;
        candidates = cluster;
      }
    }

    // 6. Selection.
    const flow = flowHash(packet.node, protoIndex, src, packet.srcPort, dst, packet.dstPort);
    const usesRecent = node.mode !== 'ipvs';
    let chosen: RefEndpoint | undefined;
    if (sp.affinity && usesRecent) {
      // `--rcheck --seconds T`, endpoint by endpoint in rule order.
      chosen = candidates.find((ep) => {
        const seen = this.recent.get(`${packet.node}|${spId}|${ep.ip}|${ep.port}`)?.find((e) => e.client === src);
        return seen !== undefined && this.now - seen.lastSeen <= sp.affinityTimeout;
      });
    } else if (sp.affinity) {
      const entry = this.affinity.get(`${packet.node}|${spId}|${dst}|${src}`);
      if (entry && this.now - entry.lastUsed <= sp.affinityTimeout) {
        chosen = candidates.find((ep) => ep.ip === entry.ip && ep.port === entry.port);
      }
    }
    if (chosen) flags |= ResultFlag.AFFINITY;
    chosen ??= candidates[this.pick(node, packet.node, spId, sp, candidates, !useLocal, flow, src, dst)]!;
    if (sp.affinity && usesRecent) {
      // `--set` in the endpoint's chain: the client moves to the end; a full iptables list drops its oldest.
      const key = `${packet.node}|${spId}|${chosen.ip}|${chosen.port}`;
      const list = (this.recent.get(key) ?? []).filter((e) => e.client !== src);
      if (node.mode === 'iptables' && list.length >= RECENT_LIST_MAX) list.shift();
      list.push({ client: src, lastSeen: this.now });
      this.recent.set(key, list);
    } else if (sp.affinity) {
      this.affinity.set(`${packet.node}|${spId}|${dst}|${src}`, { ip: chosen.ip, port: chosen.port, lastUsed: this.now });
    }

    // 7. Hairpin masquerade, then the new conntrack entry.
    if (chosen.ip === src) masquerade = true;
    if (masquerade) flags |= ResultFlag.MASQUERADE | ResultFlag.SNAT;
    const connection: RefConnection = {
      node: packet.node, virtualServer: dst, protoIndex, endpointIP: chosen.ip, endpointPort: chosen.port, endpointId: chosen.id, servicePortId: spId,
      snat: masquerade, assured: false, countedByLc: node.mode === 'ipvs' && node.scheduler === 'lc',
      expiry: this.now + this.timeouts[protoIndex]![0]!,
    };
    if (known) this.forget(known);
    this.conntrack.delete(key);
    this.conntrack.set(key, connection);
    if (connection.countedByLc) this.lcCount(connection, protoIndex === 0 ? 0 : 1, protoIndex === 0 ? 1 : 0);
    this.stats.inserted++;
    return { verdict: Verdict.DNAT, flags, dstIP: chosen.ip, dstPort: chosen.port, endpointId: chosen.id, servicePortId: spId };
  }

  /**
   * Whether the firewall in front of a load-balancer IP with source ranges lets a new connection from `src` in.
   * iptables: KUBE-FW-… (only while the Service has endpoints; without, KUBE-EXTERNAL-SERVICES rejects) accepts the
   * ranges and, when the node IP is in one ("allow from node"), the service-port's load-balancer IPs as sources;
   * KUBE-PROXY-FIREWALL drops the rest (INPUT, FORWARD, OUTPUT). nftables: the firewall chain runs before DNAT
   * whatever the endpoints, with the same sources. ipvs: KUBE-SOURCE-RANGES-FIREWALL (INPUT, FORWARD) accepts the
   * ranges and, allowing from the node, the address itself as the source; a host process's connection only meets
   * KUBE-IPVS-OUT-FILTER, which drops the address itself as the source unless allowing from the node.
   */
  private sourceAllowed(node: RefNode, address: RefServiceAddress, src: number, dst: number, proto: number, dport: number, host: boolean, usableEndpoints: number): boolean {
    const inRanges = (ip: number) => address.sourceRanges.some((r) => ((ip & r.mask) >>> 0) === r.base);
    const fromNode = node.nodeIP !== null && inRanges(node.nodeIP);
    if (node.mode === 'ipvs') return host ? src !== dst || fromNode : inRanges(src) || (src === dst && fromNode);
    if (node.mode === 'iptables' && usableEndpoints === 0) return true;
    if (inRanges(src)) return true;
    const asSource = this.serviceAddresses.get(`${proto}|${src}|${dport}`);
    return fromNode && asSource?.servicePort === address.servicePort && asSource.kind === 'LoadBalancerIP';
  }

  /** The index in `candidates` the node's data plane picks for a new connection. */
  private pick(node: RefNode, nodeId: number, spId: number, sp: RefServicePort, candidates: RefEndpoint[], isCluster: boolean, flow: number, src: number, dst: number): number {
    const n = candidates.length;
    if (node.mode === 'iptables') {
      // One statistic rule per endpoint but the last, each with a fresh 31-bit draw.
      for (let i = 0; i < n - 1; i++) {
        if ((draw(flow, this.seed, i) & 0x7fffffff) < statisticThreshold(n - i)) return i;
      }
      return n - 1;
    }
    if (node.mode === 'nftables') return Math.floor((draw(flow, this.seed, 0) * n) / 2 ** 32);
    switch (node.scheduler) {
      case 'rr': {
        const key = `${nodeId}|${spId}|${dst}`;
        const i = (this.rrNext.get(key) ?? 0) % n;
        this.rrNext.set(key, i + 1);
        return i;
      }
      case 'lc': {
        let best = 0;
        let bestOverhead = Infinity;
        candidates.forEach((ep, i) => {
          const c = this.lc.get(`${nodeId}|${spId}|${dst}|${ep.id}`) ?? { active: 0, inactive: 0 };
          const overhead = c.active * 256 + c.inactive;
          if (overhead < bestOverhead) { best = i; bestOverhead = overhead; }
        });
        return best;
      }
      case 'sh':
        return hash32(src, 8) % n;
      case 'mh': {
        const table = isCluster ? (sp.maglev ??= buildMaglevTable(candidates)) : buildMaglevTable(candidates);
        return maglevLookup(table, src);
      }
    }
  }

  private lcCount(c: RefConnection, dActive: number, dInactive: number): void {
    const key = `${c.node}|${c.servicePortId}|${c.virtualServer}|${c.endpointId}`;
    const counts = this.lc.get(key) ?? { active: 0, inactive: 0 };
    counts.active += dActive;
    counts.inactive += dInactive;
    this.lc.set(key, counts);
  }

  /** A connection leaves the table. */
  private forget(c: RefConnection): void {
    if (!c.countedByLc) return;
    const active = c.protoIndex !== 0 || c.assured;
    this.lcCount(c, active ? -1 : 0, active ? 0 : -1);
  }
}

/** A CIDR as base (host bits cleared) and mask. */
function maskedCidr({ base, prefix }: { base: number; prefix: number }): { base: number; mask: number } {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (base & mask) >>> 0, mask };
}

/** kube-proxy's usable endpoints: the ready ones, else the serving and terminating ones. */
function usable(endpoints: RefEndpoint[]): RefEndpoint[] {
  const ready = endpoints.filter((ep) => ep.ready);
  return ready.length > 0 ? ready : endpoints.filter((ep) => ep.serving && ep.terminating);
}
