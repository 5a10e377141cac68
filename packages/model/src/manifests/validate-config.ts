import type { AwsNodeEnv, ClusterConfig } from '../api/config.js';
import { resolveClusterConfig } from '../cluster/eks-defaults.js';
import { KubeNetsimError } from '../errors.js';
import { type Check, type FieldPath, formatFieldPath } from './check.js';
import { checkMetadata } from './validate-core.js';

// Checks for the configuration objects: eksctl's ClusterConfig, kube-proxy's KubeProxyConfiguration,
// the VPC CNI's ENIConfig and the env of the aws-node container.

/** Go's time.Duration text (`30s`, `1h0m0s`, `250ms`, `0`), as kube-proxy's configuration takes durations. */
const GO_DURATION = /^(0|[-+]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/;

function duration(c: Check, v: unknown, path: FieldPath): void {
  const s = c.string(v, path);
  if (s !== undefined && !GO_DURATION.test(s)) c.fail(path, `Expected \`${formatFieldPath(path)}\` to be a duration such as 30s or 1h0m0s, got ${JSON.stringify(s)}`);
}

function checkNodeGroup(c: Check, v: unknown, path: FieldPath): void {
  const g = c.required(c.map(v, path), path, 'a node group');
  c.required(c.string(g.name, [...path, 'name']), [...path, 'name'], 'the node group\'s name');
  c.string(g.instanceType, [...path, 'instanceType']);
  for (const f of ['desiredCapacity', 'minSize', 'maxSize'] as const) c.int(g[f], [...path, f], 0);
  c.int(g.maxPodsPerNode, [...path, 'maxPodsPerNode'], 1);
  c.bool(g.privateNetworking, [...path, 'privateNetworking']);
  c.stringList(g.availabilityZones, [...path, 'availabilityZones']);
  c.stringList(g.subnets, [...path, 'subnets']);
  c.stringMap(g.labels, [...path, 'labels']);
  if (Array.isArray(g.taints)) {
    g.taints.forEach((t, i) => {
      const m = c.required(c.map(t, [...path, 'taints', i]), [...path, 'taints', i], 'a taint');
      c.string(m.key, [...path, 'taints', i, 'key']);
      c.string(m.value, [...path, 'taints', i, 'value']);
      c.string(m.effect, [...path, 'taints', i, 'effect']);
    });
  } else {
    c.stringMap(g.taints, [...path, 'taints']);
  }
  const min = g.minSize as number | undefined;
  const max = g.maxSize as number | undefined;
  const desired = g.desiredCapacity as number | undefined;
  if (min !== undefined && max !== undefined && min > max) c.fail([...path, 'minSize'], `Expected \`minSize\` (${min}) ≤ \`maxSize\` (${max})`);
  if (desired !== undefined && ((min !== undefined && desired < min) || (max !== undefined && desired > max))) {
    c.fail([...path, 'desiredCapacity'], `Expected \`desiredCapacity\` (${desired}) to be within \`minSize\`..\`maxSize\``);
  }
}

/** eksctl's ClusterConfig: the shape, then what `resolveClusterConfig` checks (CIDRs, zones, subnets), positioned. */
export function checkClusterConfig(c: Check, o: Record<string, unknown>): void {
  const meta = c.required(c.map(o.metadata, ['metadata']), ['metadata'], 'the cluster\'s name and region');
  c.required(c.string(meta.name, ['metadata', 'name']), ['metadata', 'name'], 'the cluster\'s name');
  c.string(meta.region, ['metadata', 'region']);
  c.string(meta.version, ['metadata', 'version']);
  c.stringList(o.availabilityZones, ['availabilityZones']);
  const vpc = c.map(o.vpc, ['vpc']);
  if (vpc) {
    c.string(vpc.id, ['vpc', 'id']);
    c.string(vpc.cidr, ['vpc', 'cidr']);
    c.stringList(vpc.secondaryCIDRs, ['vpc', 'secondaryCIDRs']);
    c.stringList(vpc.extraCIDRs, ['vpc', 'extraCIDRs']);
    const subnets = c.map(vpc.subnets, ['vpc', 'subnets']);
    for (const kind of ['public', 'private'] as const) {
      const m = c.map(subnets?.[kind], ['vpc', 'subnets', kind]);
      for (const [key, s] of Object.entries(m ?? {})) {
        const p: FieldPath = ['vpc', 'subnets', kind, key];
        const sub = c.map(s, p);
        c.string(sub?.id, [...p, 'id']);
        c.string(sub?.cidr, [...p, 'cidr']);
        c.string(sub?.az, [...p, 'az']);
      }
    }
  }
  const knc = c.map(o.kubernetesNetworkConfig, ['kubernetesNetworkConfig']);
  c.string(knc?.serviceIPv4CIDR, ['kubernetesNetworkConfig', 'serviceIPv4CIDR']);
  if (c.oneOf(knc?.ipFamily, ['kubernetesNetworkConfig', 'ipFamily'], ['IPv4', 'IPv6'] as const) === 'IPv6') {
    c.fail(['kubernetesNetworkConfig', 'ipFamily'], 'IPv6 clusters are not simulated yet', 'use `ipFamily: IPv4`');
  }
  for (const field of ['nodeGroups', 'managedNodeGroups'] as const) {
    c.list(o[field], [field])?.forEach((g, i) => checkNodeGroup(c, g, [field, i]));
  }
  try {
    resolveClusterConfig(o as unknown as ClusterConfig, { locate: (path) => c.where(path) });
  } catch (e) {
    if (e instanceof KubeNetsimError) {
      throw new KubeNetsimError(e.code, e.message, { object: c.object, ...(e.position ? { position: e.position } : {}), ...(e.hint ? { hint: e.hint } : {}) });
    }
    throw e;
  }
}

export function checkKubeProxyConfiguration(c: Check, o: Record<string, unknown>): void {
  c.oneOf(o.mode, ['mode'], ['', 'iptables', 'ipvs', 'nftables'] as const);
  const clusterCIDR = c.string(o.clusterCIDR, ['clusterCIDR']);
  // kube-proxy takes a comma-separated list (one per IP family).
  if (clusterCIDR) for (const part of clusterCIDR.split(',')) c.cidr(part.trim(), ['clusterCIDR']);
  c.oneOf(o.detectLocalMode, ['detectLocalMode'], ['', 'ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const);
  c.string(o.hostnameOverride, ['hostnameOverride']);
  c.list(o.nodePortAddresses, ['nodePortAddresses'])?.forEach((x, i) => {
    if (x !== 'primary') c.cidr(x, ['nodePortAddresses', i]);
  });
  for (const section of ['iptables', 'nftables'] as const) {
    const s = c.map(o[section], [section]);
    c.bool(s?.masqueradeAll, [section, 'masqueradeAll']);
    c.int(s?.masqueradeBit, [section, 'masqueradeBit'], 0, 31);
    c.bool(s?.localhostNodePorts, [section, 'localhostNodePorts']);
    duration(c, s?.syncPeriod, [section, 'syncPeriod']);
    duration(c, s?.minSyncPeriod, [section, 'minSyncPeriod']);
  }
  const ipvs = c.map(o.ipvs, ['ipvs']);
  c.string(ipvs?.scheduler, ['ipvs', 'scheduler']);
  c.bool(ipvs?.strictARP, ['ipvs', 'strictARP']);
  for (const f of ['syncPeriod', 'minSyncPeriod', 'tcpTimeout', 'tcpFinTimeout', 'udpTimeout'] as const) duration(c, ipvs?.[f], ['ipvs', f]);
  const ct = c.map(o.conntrack, ['conntrack']);
  c.int(ct?.maxPerCore, ['conntrack', 'maxPerCore'], 0);
  c.int(ct?.min, ['conntrack', 'min'], 0);
  for (const f of ['tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'udpTimeout', 'udpStreamTimeout'] as const) duration(c, ct?.[f], ['conntrack', f]);
  c.bool(ct?.tcpBeLiberal, ['conntrack', 'tcpBeLiberal']);
}

export function checkENIConfig(c: Check, o: Record<string, unknown>): void {
  checkMetadata(c, o);
  const spec = c.required(c.map(o.spec, ['spec']), ['spec'], 'the ENIConfig\'s spec');
  c.required(c.string(spec.subnet, ['spec', 'subnet']), ['spec', 'subnet'], 'the subnet id pods on matching nodes take IPs from');
  c.stringList(spec.securityGroups, ['spec', 'securityGroups']);
}

/**
 * The env of the aws-node DaemonSet's `aws-node` container, as a name → value map. `valueFrom` entries (the node
 * name from the downward API, …) are not configuration and are left out. Undefined when there is no such container.
 */
export function awsNodeEnvOf(c: Check, daemonSet: Record<string, unknown>): AwsNodeEnv | undefined {
  const containers = ((daemonSet.spec as { template?: { spec?: { containers?: unknown[] } } } | undefined)?.template?.spec?.containers ?? []) as Record<string, unknown>[];
  const index = containers.findIndex((ct) => ct.name === 'aws-node');
  if (index < 0) return undefined;
  const path: FieldPath = ['spec', 'template', 'spec', 'containers', index, 'env'];
  const env: AwsNodeEnv = {};
  c.list(containers[index]!.env, path)?.forEach((x, i) => {
    const e = c.required(c.map(x, [...path, i]), [...path, i], 'an env variable');
    const name = c.required(c.string(e.name, [...path, i, 'name']), [...path, i, 'name'], 'the variable\'s name');
    const value = c.string(e.value, [...path, i, 'value']);
    // `- name: X` with no value is the empty string, as the kubelet sets it.
    if (e.valueFrom === undefined || e.valueFrom === null) env[name] = value ?? '';
  });
  return env;
}
