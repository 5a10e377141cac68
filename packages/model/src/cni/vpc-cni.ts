import type { AwsNodeEnv, ENIConfig } from '../api/config.js';
import type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from '../cluster/ipam.js';
import { KubeNetsimError } from '../errors.js';
import { ipv4ToInt, isIP } from '../ip/address.js';
import { type CniConfig, cniConfigFromEnv } from './config.js';
import { cidrSize } from './datastore.js';
import { instanceLimits } from './instance-limits.js';
import { type CniIptablesTable, cniIptablesRules } from './iptables.js';
import { IPAMD_TIMING, type IpamdLogLine, NodeIpamd } from './ipamd.js';
import { eksAmiDefaultMaxPods } from './max-pods.js';
import { sha1Hex } from './sha1.js';
import { type AddressOwner, AWS_RESERVED_PER_SUBNET, type SubnetSpec, Vpc, type VpcBackends, type VpcSubnet, ipText } from './vpc.js';

/** What `buildCluster` hands the CNI. */
export interface VpcCniOptions {
  /** Every IPv4 CIDR block of the VPC (primary first). */
  vpcCIDRs: string[];
  subnets: SubnetSpec[];
  /** The `aws-node` container's env. */
  env?: AwsNodeEnv;
  /** ENIConfig objects for custom networking. */
  eniConfigs?: ENIConfig[];
  /** Alternative slot pools / ownership index (the datapath's WASM tables). */
  backends?: VpcBackends;
}

/** An ENI as `kube-netsim cni ipam` shows it. */
export interface EniStatus {
  id: string;
  deviceIndex: number;
  /** `eth<deviceIndex>` (newer AMIs name it `ens5`, … — the simulator uses eth). */
  interfaceName: string;
  subnetId: string;
  subnetCIDR: string;
  primaryIP: string;
  isPrimary: boolean;
  /** Secondary IPs (secondary-IP mode), ascending. */
  secondaryIPs: string[];
  /** /28 prefixes (prefix delegation), ascending. */
  prefixes: string[];
  /** Policy-routing table of the ENI: `main` for the primary ENI, device index + 1 for the others. */
  routeTable: number | 'main';
  /** Addresses held by pods. */
  assigned: number;
  /** Unassigned addresses still cooling down. */
  cooling: number;
  /** Simulated second it was attached. */
  attachedAt: number;
}

export interface PodAddress {
  podKey: string;
  ip: string;
  eniId: string;
  deviceIndex: number;
}

/** One node's ipamd state. `warm` = addresses ready for a new pod (neither assigned nor cooling). */
export interface NodeIpamStatus {
  nodeName: string;
  instanceType: string;
  nodeIP: string;
  subnetId: string;
  mode: 'secondary-ip' | 'prefix-delegation';
  /** Prefix delegation was asked for but the instance is neither Nitro nor bare metal. */
  prefixDelegationFallback: boolean;
  customNetworking: boolean;
  eniConfig: string | undefined;
  podSubnetId: string | undefined;
  maxPods: number;
  maxENI: number;
  maxIPsPerENI: number;
  enis: EniStatus[];
  totalIPs: number;
  assigned: number;
  cooling: number;
  warm: number;
  /** ipamd's `isDatastorePoolTooLow` now: the next 5 s tick grows the pool (or would, but for a subnet pause). */
  poolTooLow: boolean;
  pods: PodAddress[];
}

export interface SubnetStatus {
  id: string;
  cidr: string;
  zone: string;
  public: boolean;
  size: number;
  /** AWS keeps five addresses of every subnet. */
  reserved: number;
  /** Addresses held by ENIs (primary IPs, secondary IPs, prefixes). */
  inUse: number;
  free: number;
  /** Aligned free /28 blocks (what prefix delegation can still get; fragmentation makes it < free / 16). */
  freePrefixBlocks: number;
}

/** The kubelet's event when the CNI cannot give a pod an address (what `kubectl describe pod` shows). */
export const FAILED_CREATE_POD_SANDBOX = 'FailedCreatePodSandBox';

/** The CNI's ENI selection label/annotation default. */
export const ENI_CONFIG_DEFAULT_NAME = 'default';

/**
 * The Amazon VPC CNI (`aws-node`): one ipamd per node over a shared VPC, on simulated time. Implements the
 * cluster's {@link PodIPAM} seam. Deterministic where the real plugin is random (ENI and address order: lowest first).
 */
export class VpcCni implements PodIPAM {
  readonly name = 'aws-vpc-cni';
  readonly config: CniConfig;
  readonly eniConfigs: readonly ENIConfig[];
  private vpc: Vpc;
  private nodes: Map<string, NodeIpamd>;
  private time: number;
  private nextTick: number;
  private sandboxAttempts: Map<string, number>;
  /** Logs of nodes that were removed, kept for `events()`. */
  private pastLogs: IpamdLogLine[];

  constructor(options: VpcCniOptions) {
    this.config = cniConfigFromEnv(options.env ?? {});
    this.eniConfigs = options.eniConfigs ?? [];
    this.vpc = Vpc.create(options.vpcCIDRs, options.subnets, options.backends);
    this.nodes = new Map();
    this.time = 0;
    this.nextTick = IPAMD_TIMING.poolMonitorInterval;
    this.sandboxAttempts = new Map();
    this.pastLogs = [];
  }

  get now(): number {
    return this.time;
  }

  /** The VPC's CIDR blocks, as given. */
  get vpcCIDRs(): string[] {
    return this.vpc.cidrs.map((c) => c.toString());
  }

  addNode(request: NodeNetworkRequest): NodeNetwork {
    const instanceType = request.instanceType ?? 'm5.large';
    const where = typeof request.nodeName === 'string' ? `Node ${request.nodeName}` : undefined;
    const limits = instanceLimits(instanceType, where);
    const subnet = this.pickSubnet(request, where);
    let internalIP: number | undefined;
    if (request.internalIP !== undefined) {
      if (!isIP(request.internalIP)) throw new KubeNetsimError('E_NODE_IP', `Node IP ${JSON.stringify(request.internalIP)} is not an IPv4 address`, { ...(where ? { object: where } : {}) });
      internalIP = ipv4ToInt(request.internalIP);
    }
    // The primary IP decides the name when the name is a function of it: take it first on a scratch copy.
    const nodeName = typeof request.nodeName === 'string' ? request.nodeName : request.nodeName(ipText(internalIP ?? this.peekFreeAddress(subnet)));
    if (this.nodes.has(nodeName)) throw new KubeNetsimError('E_NODE_DUPLICATE', `Node ${nodeName} is already in the cluster`, { object: `Node ${nodeName}` });
    const labels: Record<string, string> = { 'topology.kubernetes.io/zone': subnet.zone, 'node.kubernetes.io/instance-type': instanceType, ...(request.labels ?? {}) };
    let podSubnet: VpcSubnet | undefined;
    let eniConfigName: string | undefined;
    if (this.config.customNetworking) {
      eniConfigName = request.annotations?.[this.config.eniConfigAnnotationDef] ?? labels[this.config.eniConfigLabelDef] ?? ENI_CONFIG_DEFAULT_NAME;
      const eniConfig = this.eniConfigs.find((e) => e.metadata.name === eniConfigName);
      if (eniConfig) {
        podSubnet = this.vpc.subnet(eniConfig.spec.subnet) ?? this.vpc.subnets.find((s) => s.cidr.toString() === eniConfig.spec.subnet);
        if (!podSubnet) {
          throw new KubeNetsimError('E_ENICONFIG_SUBNET', `ENIConfig ${eniConfigName} names subnet ${eniConfig.spec.subnet}, which is not a subnet of the VPC`, {
            object: `ENIConfig ${eniConfigName}`,
            hint: `known subnets: ${this.vpc.subnets.map((s) => s.id).join(', ')}`,
          });
        }
      }
    }
    const node = NodeIpamd.launch(
      this.vpc,
      {
        nodeName,
        instanceType,
        limits,
        config: this.config,
        subnet,
        ...(podSubnet ? { podSubnet } : {}),
        ...(eniConfigName !== undefined ? { eniConfigName } : {}),
        maxPods: request.maxPods ?? eksAmiDefaultMaxPods(limits),
      },
      this.time,
      internalIP,
    );
    this.nodes.set(nodeName, node);
    return this.network(node);
  }

  private peekFreeAddress(subnet: VpcSubnet): number {
    const scratch = subnet.pool.clone();
    const slot = scratch.allocate();
    if (slot < 0) {
      throw new KubeNetsimError('E_SUBNET_FULL', `Subnet ${subnet.id} (${subnet.cidr.toString()}) has no free address for a new node's primary ENI`, {
        hint: 'use a larger subnet or add subnets',
      });
    }
    return subnet.cidr.base + slot;
  }

  /** The node's subnet: the one holding its IP, else the given CIDR, else the freest subnet of its zone (private first). */
  private pickSubnet(request: NodeNetworkRequest, where: string | undefined): VpcSubnet {
    const object = where ? { object: where } : {};
    if (this.vpc.subnets.length === 0) throw new KubeNetsimError('E_VPC_NO_SUBNETS', 'The VPC has no subnets to put nodes in', { ...object, hint: 'list subnets under vpc.subnets in the ClusterConfig' });
    if (request.internalIP !== undefined && isIP(request.internalIP)) {
      const s = this.vpc.subnetOf(ipv4ToInt(request.internalIP));
      if (!s) throw new KubeNetsimError('E_NODE_IP_OUTSIDE_SUBNETS', `Node IP ${request.internalIP} is in none of the VPC's subnets`, { ...object, hint: `subnets: ${this.vpc.subnets.map((x) => x.cidr.toString()).join(', ')}` });
      return s;
    }
    if (request.subnetCIDR) {
      const s = this.vpc.subnets.find((x) => x.cidr.toString() === request.subnetCIDR || x.id === request.subnetCIDR);
      if (!s) throw new KubeNetsimError('E_UNKNOWN_SUBNET', `Subnet ${request.subnetCIDR} is not one of the VPC's subnets`, { ...object, hint: `subnets: ${this.vpc.subnets.map((x) => `${x.id} ${x.cidr.toString()}`).join(', ')}` });
      return s;
    }
    let candidates = this.vpc.subnets;
    if (request.zone) {
      const inZone = candidates.filter((s) => s.zone === request.zone);
      if (inZone.length === 0) throw new KubeNetsimError('E_NO_SUBNET_IN_ZONE', `No subnet in zone ${request.zone}`, { ...object, hint: `zones: ${[...new Set(this.vpc.subnets.map((s) => s.zone))].join(', ')}` });
      candidates = inZone;
    }
    // Subnets named by ENIConfigs are for pod ENIs (custom networking), not for nodes.
    const podSubnets = new Set(this.eniConfigs.map((e) => e.spec.subnet));
    const forNodes = candidates.filter((s) => !podSubnets.has(s.id) && !podSubnets.has(s.cidr.toString()));
    if (forNodes.length > 0) candidates = forNodes;
    const priv = candidates.filter((s) => !s.public);
    if (priv.length > 0) candidates = priv;
    return candidates.reduce((best, s) => (s.freeAddresses > best.freeAddresses ? s : best));
  }

  private network(node: NodeIpamd): NodeNetwork {
    const enis = node.ds.enis;
    const primary = enis.find((e) => e.isPrimary)!;
    return {
      nodeName: node.nodeName,
      internalIP: ipText(primary.primaryIP),
      localAddresses: [primary, ...enis.filter((e) => !e.isPrimary)].map((e) => ipText(e.primaryIP)),
      defaultMaxPods: eksAmiDefaultMaxPods(node.limits),
    };
  }

  removeNode(nodeName: string): void {
    const node = this.nodes.get(nodeName);
    if (!node) return;
    node.terminate(this.vpc);
    this.pastLogs.push(...node.log);
    this.nodes.delete(nodeName);
  }

  node(nodeName: string): NodeNetwork | undefined {
    const node = this.nodes.get(nodeName);
    return node ? this.network(node) : undefined;
  }

  private mustNode(nodeName: string): NodeIpamd {
    const node = this.nodes.get(nodeName);
    if (!node) throw new KubeNetsimError('E_UNKNOWN_NODE', `Node ${nodeName} has no aws-node (it was never added to the CNI)`, { object: `Node ${nodeName}` });
    return node;
  }

  assignPodIP(nodeName: string, podKey: string): PodIPResult {
    const node = this.mustNode(nodeName);
    const ip = node.assignPodIP(this.vpc, podKey, this.time);
    if (ip !== undefined) {
      this.sandboxAttempts.delete(podKey);
      return { ok: true, ip: ipText(ip) };
    }
    const attempt = (this.sandboxAttempts.get(podKey) ?? 0) + 1;
    this.sandboxAttempts.set(podKey, attempt);
    const sandbox = (sha1Hex(`${podKey}#${attempt}`) + sha1Hex(`${attempt}#${podKey}`)).slice(0, 64);
    return {
      ok: false,
      reason: FAILED_CREATE_POD_SANDBOX,
      message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${sandbox}": plugin type="aws-cni" name="aws-cni" failed (add): add cmd: failed to assign an IP address to container`,
    };
  }

  claimPodIP(nodeName: string, podKey: string, ip: string): PodIPResult {
    const node = this.mustNode(nodeName);
    if (!isIP(ip) || ip.includes(':')) {
      return { ok: false, reason: 'InvalidPodIP', message: `Pod ${podKey} has IP ${JSON.stringify(ip)}, which is not an IPv4 address` };
    }
    const n = ipv4ToInt(ip);
    const existing = node.ds.find(podKey);
    if (existing) {
      return existing.address.ip === n ? { ok: true, ip } : { ok: false, reason: 'PodIPMismatch', message: `Pod ${podKey} already has ${ipText(existing.address.ip)} on node ${nodeName}, not ${ip}` };
    }
    if (node.claimPodIP(this.vpc, podKey, n)) return { ok: true, ip };
    const owner = this.vpc.owner(n);
    const held =
      owner?.kind === 'pod' ? `it is pod ${owner.podKey}'s on node ${owner.nodeName}` :
      owner?.nodeName && owner.nodeName !== nodeName ? `it belongs to ENI ${owner.eniId} of node ${owner.nodeName}` :
      owner ? `it is not free in subnet ${owner.subnetId} or not on one of this node's ENIs` : 'it is in none of the VPC subnets';
    return { ok: false, reason: 'PodIPNotOnNode', message: `Pod ${podKey} is observed with IP ${ip} on node ${nodeName}, but ${held}` };
  }

  releasePodIP(nodeName: string, podKey: string): void {
    this.nodes.get(nodeName)?.releasePodIP(this.vpc, podKey, this.time);
    this.sandboxAttempts.delete(podKey);
  }

  /** Runs every node's ipamd loop (each 5 s of simulated time) up to `now + seconds`. */
  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new KubeNetsimError('E_TIME', `Expected seconds to be a finite number ≥ 0, got ${seconds}`);
    const end = this.time + seconds;
    while (this.nextTick <= end) {
      this.time = this.nextTick;
      for (const node of this.nodes.values()) node.tick(this.vpc, this.time);
      this.nextTick += IPAMD_TIMING.poolMonitorInterval;
    }
    this.time = end;
  }

  clone(): VpcCni {
    const copy = Object.create(VpcCni.prototype) as VpcCni;
    Object.assign(copy, this, {
      vpc: this.vpc.clone(),
      nodes: new Map([...this.nodes].map(([k, n]) => [k, n.clone()])),
      sandboxAttempts: new Map(this.sandboxAttempts),
      pastLogs: [...this.pastLogs],
    });
    return copy;
  }

  // ---- inspection ---------------------------------------------------------------------------------------------

  /** `PodIPAM.pending`: some node's warm pool is below its target, so ipamd grows it on a coming tick. */
  pending(): boolean {
    return this.nodeNames().some((n) => this.nodeStatus(n).poolTooLow);
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  nodeStatus(nodeName: string): NodeIpamStatus {
    const node = this.mustNode(nodeName);
    const stats = node.ds.stats(this.time);
    const pods: (PodAddress & { seq: number })[] = [];
    const enis = node.ds.enis.map((eni): EniStatus => {
      const subnet = this.vpc.subnet(eni.subnetId)!;
      let assigned = 0;
      let cooling = 0;
      for (const cidr of eni.cidrs) {
        for (const a of cidr.addresses.values()) {
          if (a.podKey !== undefined) {
            assigned++;
            pods.push({ podKey: a.podKey, ip: ipText(a.ip), eniId: eni.id, deviceIndex: eni.deviceIndex, seq: a.seq });
          } else if (node.ds.isCooling(a, this.time)) cooling++;
        }
      }
      const sorted = [...eni.cidrs].sort((a, b) => a.base - b.base);
      return {
        id: eni.id,
        deviceIndex: eni.deviceIndex,
        interfaceName: `eth${eni.deviceIndex}`,
        subnetId: eni.subnetId,
        subnetCIDR: subnet.cidr.toString(),
        primaryIP: ipText(eni.primaryIP),
        isPrimary: eni.isPrimary,
        secondaryIPs: sorted.filter((c) => c.prefixLength === 32).map((c) => ipText(c.base)),
        prefixes: sorted.filter((c) => c.prefixLength === 28).map((c) => `${ipText(c.base)}/28`),
        routeTable: eni.isPrimary ? 'main' : eni.deviceIndex + 1,
        assigned,
        cooling,
        attachedAt: eni.createdAt,
      };
    });
    pods.sort((a, b) => a.seq - b.seq);
    return {
      nodeName,
      instanceType: node.instanceType,
      nodeIP: ipText(node.nodeIP),
      subnetId: node.subnetId,
      mode: node.prefixDelegation ? 'prefix-delegation' : 'secondary-ip',
      prefixDelegationFallback: this.config.enablePrefixDelegation && !node.prefixDelegation,
      customNetworking: this.config.customNetworking,
      eniConfig: node.eniConfigName,
      podSubnetId: node.podSubnetId,
      maxPods: node.maxPods,
      maxENI: node.maxENI,
      maxIPsPerENI: node.maxIPsPerENI,
      enis,
      totalIPs: stats.totalIPs,
      assigned: stats.assignedIPs,
      cooling: stats.cooldownIPs,
      warm: stats.totalIPs - stats.assignedIPs - stats.cooldownIPs,
      poolTooLow: node.isPoolTooLow(stats),
      pods: pods.map(({ podKey, ip, eniId, deviceIndex }) => ({ podKey, ip, eniId, deviceIndex })),
    };
  }

  subnetStatus(): SubnetStatus[] {
    return this.vpc.subnets.map((s) => ({
      id: s.id,
      cidr: s.cidr.toString(),
      zone: s.zone,
      public: s.public,
      size: s.size,
      reserved: AWS_RESERVED_PER_SUBNET,
      inUse: s.size - AWS_RESERVED_PER_SUBNET - s.freeAddresses,
      free: s.freeAddresses,
      freePrefixBlocks: s.freePrefixBlocks,
    }));
  }

  /** Who holds `ip`: a pod, an ENI (primary, secondary IP, prefix), an AWS-reserved address, or just a subnet. */
  owner(ip: string): AddressOwner | undefined {
    return isIP(ip) && !ip.includes(':') ? this.vpc.owner(ip) : undefined;
  }

  /** {@link owner} of many IPv4 addresses given as unsigned 32-bit integers, in one batch lookup. */
  ownersOf(ips: ArrayLike<number>): (AddressOwner | undefined)[] {
    return this.vpc.ownerOfEach(ips);
  }

  /** ipamd log lines and CNI events, oldest first (optionally of one node). */
  events(nodeName?: string): IpamdLogLine[] {
    const all = [...this.pastLogs, ...[...this.nodes.values()].flatMap((n) => n.log)];
    return all.filter((l) => nodeName === undefined || l.node === nodeName).sort((a, b) => a.time - b.time);
  }

  /** The CNI's nat and mangle rules on a node (see {@link cniIptablesRules}). */
  iptablesRules(nodeName: string): { nat: CniIptablesTable; mangle: CniIptablesTable } {
    const node = this.mustNode(nodeName);
    return cniIptablesRules({
      vpcCIDRs: this.vpcCIDRs,
      excludeSnatCIDRs: this.config.excludeSnatCIDRs,
      externalSnat: this.config.externalSnat,
      nodePrimaryIP: ipText(node.nodeIP),
      randomizeSnat: this.config.randomizeSnat,
      nodePortSupport: this.config.nodePortSupport,
      vethPrefix: this.config.vethPrefix,
    });
  }

  /** Addresses a node's ENIs hold from their subnets (primary IPs included): what the node costs its subnets. */
  addressesHeld(nodeName: string): number {
    const node = this.mustNode(nodeName);
    return node.ds.enis.reduce((n, e) => n + 1 + e.cidrs.reduce((m, c) => m + cidrSize(c), 0), 0);
  }
}
