import type { ClusterConfig, EksctlNodeGroup, EksctlSubnet } from '../api/config.js';
import type { Taint } from '../api/core.js';
import { KubeNetsimError, type SourcePosition } from '../errors.js';
import { CIDR } from '../ip/index.js';

// What eksctl and EKS fill in when a ClusterConfig leaves something out. Sources: eksctl's
// pkg/apis/eksctl.io/v1alpha5 defaults and pkg/vpc (SetSubnets / SplitInto8), and the EKS user guide
// (service CIDR choice, node naming).

/** eksctl's default region. */
export const EKSCTL_DEFAULT_REGION = 'us-west-2';
/** eksctl's default VPC CIDR. */
export const EKSCTL_DEFAULT_VPC_CIDR = '192.168.0.0/16';
/** eksctl's default node group instance type. */
export const EKSCTL_DEFAULT_INSTANCE_TYPE = 'm5.large';
/** eksctl's default node group size (`desiredCapacity`). */
export const EKSCTL_DEFAULT_NODE_COUNT = 2;
/** The service CIDR EKS picks when the VPC is not inside 10.0.0.0/8. */
export const EKS_DEFAULT_SERVICE_CIDR = '10.100.0.0/16';
/** The service CIDR EKS picks when the VPC is inside 10.0.0.0/8 (so the two never collide). */
export const EKS_ALTERNATE_SERVICE_CIDR = '172.20.0.0/16';
/** The cluster domain of EKS's CoreDNS and kubelet. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** Name given to a cluster whose input has no ClusterConfig (eksctl would generate a random one). */
export const DEFAULT_CLUSTER_NAME = 'kube-netsim';

export interface ResolvedSubnet {
  /** The subnet's id when given (`subnet-0abc…`), else `subnet-<public|private>-<name>`. */
  id: string;
  /** The key under `vpc.subnets.public|private` (eksctl names its own subnets by zone). */
  name: string;
  cidr: string;
  zone: string;
  public: boolean;
}

export interface ResolvedNodeGroup {
  name: string;
  /** True for `managedNodeGroups` (EKS managed node groups), false for eksctl's self-managed `nodeGroups`. */
  managed: boolean;
  instanceType: string;
  /** Number of nodes the group runs. */
  desiredCapacity: number;
  privateNetworking: boolean;
  /** Zones the group's nodes are spread over, in order. */
  zones: string[];
  /** Ids of the subnets (from `ResolvedClusterConfig.subnets`) the group launches into, in zone order. */
  subnets: string[];
  /** The group's own `labels` (not the ones EKS and eksctl add: see `nodeLabels`). */
  labels: Record<string, string>;
  taints: Taint[];
  /** The kubelet's `--max-pods` when the group sets `maxPodsPerNode`. */
  maxPodsPerNode?: number;
}

export interface ResolvedClusterConfig {
  name: string;
  region: string;
  zones: string[];
  /** The VPC's primary CIDR first, then its extra CIDR blocks. */
  vpcCIDRs: string[];
  /** Every subnet of the VPC the cluster knows: public ones first, then private, each in zone order. */
  subnets: ResolvedSubnet[];
  serviceCIDR: string;
  clusterDomain: typeof CLUSTER_DOMAIN;
  nodeGroups: ResolvedNodeGroup[];
}

/** A path into the ClusterConfig document (`['nodeGroups', 0, 'availabilityZones', 1]`). */
export type ConfigPath = (string | number)[];

export interface ResolveOptions {
  /** Maps a field path to where it is in the input file, so errors can point there (the manifest reader passes it). */
  locate?: (path: ConfigPath) => SourcePosition | undefined;
}

/**
 * Fills in a ClusterConfig the way eksctl and EKS would: region us-west-2; three zones `<region>a|b|c`
 * (two, `a` and `b`, in us-east-1; eksctl picks random ones, the simulator picks these so runs are
 * reproducible); VPC 192.168.0.0/16 cut into eight equal blocks (/19 for a /16), the first N public and the
 * next N private for N zones, the rest unused; node groups of 2 m5.large in the public subnets unless
 * `privateNetworking: true`; the service CIDR EKS picks. Throws a KubeNetsimError for CIDRs that overlap, a
 * subnet outside the VPC, a zone outside the region or a node group naming an unknown zone or subnet.
 */
export function resolveClusterConfig(config?: ClusterConfig, options: ResolveOptions = {}): ResolvedClusterConfig {
  const name = config?.metadata?.name || DEFAULT_CLUSTER_NAME;
  const fail = (code: `E_${string}`, path: ConfigPath, message: string, hint?: string): never => {
    const position = options.locate?.(path);
    throw new KubeNetsimError(code, message, {
      object: `ClusterConfig ${name}`,
      ...(position ? { position } : {}),
      ...(hint ? { hint } : {}),
    });
  };
  const cidrAt = (text: unknown, path: ConfigPath, what: string): CIDR => {
    try {
      const c = CIDR.parse(text as string, `\`${formatPath(path)}\``, true);
      if (c.family !== 'IPv4') throw new KubeNetsimError('E_INVALID_CIDR', `Expected \`${formatPath(path)}\` to be an IPv4 CIDR, got ${JSON.stringify(text)}`);
      return c;
    } catch (e) {
      return fail('E_INVALID_CIDR', path, e instanceof Error ? e.message : String(e), `${what} must be an IPv4 CIDR such as 192.168.0.0/16`);
    }
  };

  const region = config?.metadata?.region || EKSCTL_DEFAULT_REGION;

  // The VPC and its extra blocks.
  const vpcCIDR = cidrAt(config?.vpc?.cidr ?? EKSCTL_DEFAULT_VPC_CIDR, ['vpc', 'cidr'], 'the VPC CIDR');
  const vpcBlocks: { cidr: CIDR; path: ConfigPath }[] = [{ cidr: vpcCIDR, path: ['vpc', 'cidr'] }];
  for (const field of ['secondaryCIDRs', 'extraCIDRs'] as const) {
    (config?.vpc?.[field] ?? []).forEach((text, i) => {
      vpcBlocks.push({ cidr: cidrAt(text, ['vpc', field, i], 'an extra VPC CIDR block'), path: ['vpc', field, i] });
    });
  }
  for (let i = 1; i < vpcBlocks.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = vpcBlocks[j]!;
      const b = vpcBlocks[i]!;
      if (a.cidr.overlaps(b.cidr)) {
        fail('E_EKS_CIDR_OVERLAP', b.path, `VPC CIDR block ${b.cidr} overlaps ${a.cidr} (\`${formatPath(a.path)}\`)`, 'the CIDR blocks of one VPC must not overlap');
      }
    }
  }

  // Subnets: given ones as they are, otherwise eksctl's layout.
  const givenPublic = Object.entries(config?.vpc?.subnets?.public ?? {});
  const givenPrivate = Object.entries(config?.vpc?.subnets?.private ?? {});
  let zones: string[];
  let subnets: ResolvedSubnet[];
  if (givenPublic.length + givenPrivate.length > 0) {
    subnets = [];
    for (const [isPublic, entries] of [[true, givenPublic], [false, givenPrivate]] as const) {
      for (const [key, s] of entries) {
        subnets.push(resolveGivenSubnet(key, s ?? {}, isPublic, ['vpc', 'subnets', isPublic ? 'public' : 'private', key], fail, cidrAt));
      }
    }
    zones = [];
    for (const s of subnets) if (!zones.includes(s.zone)) zones.push(s.zone);
    subnets.forEach((s, i) => {
      const path: ConfigPath = ['vpc', 'subnets', s.public ? 'public' : 'private', s.name];
      checkZone(s.zone, region, [...path, 'az'], fail);
      const cidr = CIDR.parse(s.cidr);
      if (!vpcBlocks.some((b) => b.cidr.covers(cidr))) {
        fail('E_EKS_SUBNET_OUTSIDE_VPC', [...path, 'cidr'], `Subnet ${s.name} (${s.cidr}) is outside the VPC (${vpcBlocks.map((b) => b.cidr.toString()).join(', ')})`, 'add the block to `vpc.extraCIDRs` or pick a CIDR inside the VPC');
      }
      for (let j = 0; j < i; j++) {
        const other = subnets[j]!;
        if (CIDR.parse(other.cidr).overlaps(cidr)) {
          fail('E_EKS_CIDR_OVERLAP', [...path, 'cidr'], `Subnet ${s.name} (${s.cidr}) overlaps subnet ${other.name} (${other.cidr})`);
        }
      }
    });
  } else {
    zones = config?.availabilityZones?.length ? [...config.availabilityZones] : defaultZones(region);
    zones.forEach((z, i) => checkZone(z, region, ['availabilityZones', i], fail));
    if (new Set(zones).size !== zones.length) fail('E_EKS_ZONE', ['availabilityZones'], `Expected \`availabilityZones\` to list each zone once, got ${zones.join(', ')}`);
    if (zones.length < 2) fail('E_EKS_ZONE', ['availabilityZones'], `Expected at least 2 availability zones, got ${zones.length}`, 'EKS needs subnets in at least two zones');
    if (vpcCIDR.prefixLength < 16 || vpcCIDR.prefixLength > 24) {
      fail('E_EKS_VPC_CIDR', ['vpc', 'cidr'], `Expected the VPC CIDR's prefix length to be between /16 and /24 for eksctl to cut subnets from it, got ${vpcCIDR}`);
    }
    subnets = eksctlSubnetLayout(vpcCIDR, zones);
  }

  const serviceCIDR = resolveServiceCIDR(config, vpcCIDR, vpcBlocks, fail, cidrAt);

  const nodeGroups: ResolvedNodeGroup[] = [];
  const seen = new Set<string>();
  for (const [managed, field] of [[false, 'nodeGroups'], [true, 'managedNodeGroups']] as const) {
    (config?.[field] ?? []).forEach((group, i) => {
      const path: ConfigPath = [field, i];
      if (seen.has(group.name)) fail('E_EKS_NODEGROUP', [...path, 'name'], `Node group name ${JSON.stringify(group.name)} is used twice`, 'node group names are unique within a cluster');
      seen.add(group.name);
      nodeGroups.push(resolveNodeGroup(group, managed, path, zones, subnets, fail));
    });
  }

  return {
    name,
    region,
    zones,
    vpcCIDRs: vpcBlocks.map((b) => b.cidr.toString()),
    subnets,
    serviceCIDR,
    clusterDomain: CLUSTER_DOMAIN,
    nodeGroups,
  };
}

type Fail = (code: `E_${string}`, path: ConfigPath, message: string, hint?: string) => never;
type CidrAt = (text: unknown, path: ConfigPath, what: string) => CIDR;

/** The zones the simulator uses when none are given: `a`, `b`, `c` (only `a`, `b` in us-east-1). */
export function defaultZones(region: string): string[] {
  return region === 'us-east-1' ? [`${region}a`, `${region}b`] : [`${region}a`, `${region}b`, `${region}c`];
}

/**
 * eksctl's subnet layout: the VPC CIDR cut into 8 equal blocks (16 when there are more than 4 zones); for N
 * zones, block i is zone i's public subnet and block N+i its private subnet. Publics first, then privates.
 */
export function eksctlSubnetLayout(vpc: CIDR, zones: string[]): ResolvedSubnet[] {
  const parts = zones.length * 2 <= 8 ? 8 : 16;
  if (zones.length * 2 > 16) {
    throw new KubeNetsimError('E_EKS_ZONE', `eksctl cannot create more than 16 subnets, ${zones.length * 2} requested (${zones.length} zones)`);
  }
  const prefix = vpc.prefixLength + Math.log2(parts);
  const block = (i: number) => CIDR.fromIPv4((vpc.base + i * 2 ** (32 - prefix)) >>> 0, prefix).toString();
  const out: ResolvedSubnet[] = [];
  zones.forEach((zone, i) => out.push({ id: `subnet-public-${zone}`, name: zone, cidr: block(i), zone, public: true }));
  zones.forEach((zone, i) => out.push({ id: `subnet-private-${zone}`, name: zone, cidr: block(zones.length + i), zone, public: false }));
  return out;
}

function resolveGivenSubnet(key: string, s: EksctlSubnet, isPublic: boolean, path: ConfigPath, fail: Fail, cidrAt: CidrAt): ResolvedSubnet {
  if (s.cidr === undefined) {
    fail('E_EKS_SUBNET', path, `Subnet ${key} has no \`cidr\``, 'the simulator cannot look subnets up in AWS: give each subnet its `cidr` (and `az`)');
  }
  const cidr = cidrAt(s.cidr, [...path, 'cidr'], 'a subnet CIDR');
  return { id: s.id ?? `subnet-${isPublic ? 'public' : 'private'}-${key}`, name: key, cidr: cidr.toString(), zone: s.az ?? key, public: isPublic };
}

function checkZone(zone: string, region: string, path: ConfigPath, fail: Fail): void {
  // Zones are the region plus a letter (us-west-2a); Local Zones add a suffix (us-west-2-lax-1a).
  if (typeof zone !== 'string' || !new RegExp(`^${region.replace(/[-]/g, '\\-')}(?:[a-z]|-[a-z0-9-]+[a-z])$`).test(zone)) {
    fail('E_EKS_ZONE', path, `Zone ${JSON.stringify(zone)} is not an availability zone of region ${region}`, `zones of ${region} look like ${region}a`);
  }
}

function resolveServiceCIDR(config: ClusterConfig | undefined, vpcCIDR: CIDR, vpcBlocks: { cidr: CIDR; path: ConfigPath }[], fail: Fail, cidrAt: CidrAt): string {
  const given = config?.kubernetesNetworkConfig?.serviceIPv4CIDR;
  const path: ConfigPath = ['kubernetesNetworkConfig', 'serviceIPv4CIDR'];
  if (given === undefined) {
    return CIDR.parse('10.0.0.0/8').covers(vpcCIDR) ? EKS_ALTERNATE_SERVICE_CIDR : EKS_DEFAULT_SERVICE_CIDR;
  }
  const cidr = cidrAt(given, path, 'the service CIDR');
  // EKS accepts a block inside an RFC 1918 range, between /12 and /24, that overlaps nothing in the VPC.
  const rfc1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((t) => CIDR.parse(t));
  if (!rfc1918.some((r) => r.covers(cidr)) || cidr.prefixLength < 12 || cidr.prefixLength > 24) {
    fail('E_EKS_SERVICE_CIDR', path, `Expected \`${formatPath(path)}\` to be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a prefix between /12 and /24, got ${given}`);
  }
  for (const b of vpcBlocks) {
    if (b.cidr.overlaps(cidr)) fail('E_EKS_CIDR_OVERLAP', path, `The service CIDR ${cidr} overlaps the VPC block ${b.cidr}`, 'EKS rejects a service CIDR that overlaps the VPC');
  }
  return cidr.toString();
}

function resolveNodeGroup(group: EksctlNodeGroup, managed: boolean, path: ConfigPath, zones: string[], subnets: ResolvedSubnet[], fail: Fail): ResolvedNodeGroup {
  const privateNetworking = group.privateNetworking === true;
  const candidates = subnets.filter((s) => s.public !== privateNetworking);
  let chosen: ResolvedSubnet[];
  if (group.subnets?.length) {
    chosen = group.subnets.map((ref, i) => {
      const s = subnets.find((x) => x.id === ref || (x.name === ref && x.public !== privateNetworking)) ?? subnets.find((x) => x.name === ref);
      if (!s) fail('E_EKS_UNKNOWN_SUBNET', [...path, 'subnets', i], `Node group ${group.name} names subnet ${JSON.stringify(ref)}, which is not in \`vpc.subnets\``, `known subnets: ${subnets.map((x) => x.id).join(', ')}`);
      return s!;
    });
  } else {
    const groupZones = group.availabilityZones?.length ? group.availabilityZones : zones;
    groupZones.forEach((z, i) => {
      if (!zones.includes(z)) fail('E_EKS_ZONE', [...path, 'availabilityZones', i], `Node group ${group.name} asks for zone ${z}, which the cluster does not use`, `the cluster's zones are ${zones.join(', ')}`);
    });
    chosen = groupZones.flatMap((z) => candidates.filter((s) => s.zone === z));
    if (chosen.length === 0) {
      fail('E_EKS_UNKNOWN_SUBNET', [...path, 'privateNetworking'], `Node group ${group.name} needs a ${privateNetworking ? 'private' : 'public'} subnet in ${groupZones.join(', ')}, and the VPC has none`, privateNetworking ? 'add private subnets under `vpc.subnets.private`' : 'set `privateNetworking: true` or add public subnets');
    }
  }
  const groupZones: string[] = [];
  for (const s of chosen) if (!groupZones.includes(s.zone)) groupZones.push(s.zone);
  const out: ResolvedNodeGroup = {
    name: group.name,
    managed,
    instanceType: group.instanceType ?? EKSCTL_DEFAULT_INSTANCE_TYPE,
    desiredCapacity: defaultDesiredCapacity(group),
    privateNetworking,
    zones: groupZones,
    subnets: chosen.map((s) => s.id),
    labels: { ...(group.labels ?? {}) },
    taints: normalizeTaints(group.taints, [...path, 'taints'], fail),
  };
  if (group.maxPodsPerNode !== undefined) out.maxPodsPerNode = group.maxPodsPerNode;
  return out;
}

/** eksctl: `desiredCapacity`, else `minSize`, else 2 capped by `maxSize`. */
function defaultDesiredCapacity(group: EksctlNodeGroup): number {
  if (group.desiredCapacity !== undefined) return group.desiredCapacity;
  if (group.minSize !== undefined) return group.minSize;
  if (group.maxSize !== undefined) return Math.min(group.maxSize, EKSCTL_DEFAULT_NODE_COUNT);
  return EKSCTL_DEFAULT_NODE_COUNT;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** eksctl takes taints as a list of `{key, value, effect}` or, in its older form, a map `key: value:effect`. */
function normalizeTaints(taints: EksctlNodeGroup['taints'], path: ConfigPath, fail: Fail): Taint[] {
  if (taints === undefined) return [];
  const list: { taint: Partial<Taint>; path: ConfigPath }[] = Array.isArray(taints)
    ? taints.map((t, i) => ({ taint: t, path: [...path, i] }))
    : Object.entries(taints).map(([key, text]) => {
        const colon = String(text).lastIndexOf(':');
        const value = colon < 0 ? String(text) : String(text).slice(0, colon);
        const effect = colon < 0 ? undefined : String(text).slice(colon + 1);
        return { taint: { key, ...(value ? { value } : {}), effect: effect as Taint['effect'] }, path: [...path, key] };
      });
  return list.map(({ taint, path: p }) => {
    if (!taint.key) fail('E_EKS_TAINT', p, 'Expected a taint to have a `key`');
    if (!TAINT_EFFECTS.includes(taint.effect as Taint['effect'])) {
      fail('E_EKS_TAINT', p, `Expected taint ${taint.key}'s effect to be one of ${TAINT_EFFECTS.join(', ')}, got ${JSON.stringify(taint.effect ?? null)}`);
    }
    return { key: taint.key!, ...(taint.value ? { value: taint.value } : {}), effect: taint.effect! };
  });
}

/**
 * A node's name as EC2 gives it (private DNS name): `ip-10-0-12-34.ec2.internal` in us-east-1,
 * `ip-10-0-12-34.<region>.compute.internal` elsewhere.
 */
export function eksNodeName(ip: string, region: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/**
 * Labels every node of a group carries whatever its zone: `node.kubernetes.io/instance-type` (kubelet's
 * cloud provider), `alpha.eksctl.io/nodegroup-name` and `alpha.eksctl.io/cluster-name` (eksctl),
 * `eks.amazonaws.com/nodegroup` and `eks.amazonaws.com/capacityType` (managed groups), then the group's own labels.
 */
export function nodeGroupLabels(group: ResolvedNodeGroup, clusterName?: string): Record<string, string> {
  return {
    'node.kubernetes.io/instance-type': group.instanceType,
    ...(clusterName ? { 'alpha.eksctl.io/cluster-name': clusterName } : {}),
    'alpha.eksctl.io/nodegroup-name': group.name,
    ...(group.managed ? { 'eks.amazonaws.com/nodegroup': group.name, 'eks.amazonaws.com/capacityType': 'ON_DEMAND' } : {}),
    ...group.labels,
  };
}

/** `nodeGroupLabels` plus the per-node ones: `topology.kubernetes.io/zone`, `topology.kubernetes.io/region`, `kubernetes.io/hostname`, `kubernetes.io/os`. */
export function nodeLabels(group: ResolvedNodeGroup, node: { zone: string; region: string; name?: string; clusterName?: string }): Record<string, string> {
  return {
    ...nodeGroupLabels(group, node.clusterName),
    'topology.kubernetes.io/region': node.region,
    'topology.kubernetes.io/zone': node.zone,
    'kubernetes.io/os': 'linux',
    ...(node.name ? { 'kubernetes.io/hostname': node.name } : {}),
    ...group.labels,
  };
}

/**
 * Where each of a group's `desiredCapacity` nodes is launched: round-robin over the group's subnets in order,
 * as the Auto Scaling group balances instances across zones. Node i gets entry i.
 */
export function nodeGroupPlacements(group: ResolvedNodeGroup, cluster: Pick<ResolvedClusterConfig, 'subnets'>): ResolvedSubnet[] {
  const subnets = group.subnets.map((id) => cluster.subnets.find((s) => s.id === id)!).filter(Boolean);
  if (subnets.length === 0) return [];
  return Array.from({ length: group.desiredCapacity }, (_, i) => subnets[i % subnets.length]!);
}

/** `nodeGroups[0].availabilityZones[1]`. */
function formatPath(path: ConfigPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
