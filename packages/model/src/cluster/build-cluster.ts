import type { ClusterInput, KubeObject, Node, Service } from '../api/index.js';
import { VpcCni } from '../cni/vpc-cni.js';
import { KubeNetsimError } from '../errors.js';
import { SYSTEM_NAMESPACES, applyObjects, ensureNamespace } from './apply.js';
import { Cluster } from './cluster.js';
import { ClusterIPAllocator } from './cluster-ip-allocator.js';
import { ClusterState, timestamp } from './cluster-state.js';
import { type ResolvedClusterConfig, type ResolvedNodeGroup, eksNodeName, nodeGroupPlacements, nodeLabels, resolveClusterConfig } from './eks-defaults.js';
import { HostLocalIPAM } from './host-local-ipam.js';
import type { PodIPAM } from './ipam.js';
import { DEFAULT_NODE_PORT_RANGE, NodePortAllocator, parsePortRange } from './node-port-allocator.js';
import { addGivenNode, completeNode } from './nodes.js';
import { SeededRandom } from './random.js';
import { settle } from './reconcile.js';

export interface BuildClusterOptions {
  /** Seeds every random choice (ClusterIPs, NodePorts, name suffixes): the same input and seed build the same cluster. Default 1. */
  seed?: number;
  /** The pod IPAM; default: the VPC CNI for EKS-style input, host-local for kubenet-style input. */
  ipam?: PodIPAM;
  /** kube-apiserver's `--service-node-port-range`, e.g. `30000-32767` (the default). */
  serviceNodePortRange?: string;
}

/** True for kubenet-style input: Nodes carrying `spec.podCIDR` and neither a ClusterConfig nor an aws-node DaemonSet. */
export function isKubenetStyle(input: ClusterInput): boolean {
  return !input.clusterConfig && !input.awsNodeEnv && input.nodes.some((n) => n.spec?.podCIDR);
}

/** The IPAM the input asks for (see {@link BuildClusterOptions.ipam}). */
export function defaultIPAM(input: ClusterInput, config: ResolvedClusterConfig): PodIPAM {
  if (!isKubenetStyle(input)) {
    return new VpcCni({
      vpcCIDRs: config.vpcCIDRs,
      subnets: config.subnets.map((s) => ({ id: s.id, cidr: s.cidr, zone: s.zone, public: s.public })),
      ...(input.awsNodeEnv ? { env: input.awsNodeEnv } : {}),
      eniConfigs: input.eniConfigs,
    });
  }
  return new HostLocalIPAM({
    ...(input.kubeProxyConfiguration?.clusterCIDR ? { clusterCIDR: input.kubeProxyConfiguration.clusterCIDR.split(',')[0]!.trim() } : {}),
    subnets: config.subnets.map((s) => ({ id: s.id, cidr: s.cidr, zone: s.zone })),
  });
}

/** The Service every cluster has: `default/kubernetes`, the API server, on the first address of the service CIDR. */
function kubernetesService(ip: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 443 }], sessionAffinity: 'None' },
  };
}

/** An EC2 instance id (`i-0` and 16 hex digits) drawn from the cluster's random source. */
function instanceId(s: ClusterState): string {
  let hex = '';
  for (let i = 0; i < 16; i++) hex += s.random.intn(16).toString(16);
  return `i-0${hex}`;
}

/**
 * Launches a node group's nodes: round-robin over its subnets (one per zone), named from the IP the IPAM gives
 * their primary ENI, labelled and tainted as EKS and eksctl make them. `skip` nodes of the group were given as Nodes.
 */
function launchNodeGroup(s: ClusterState, config: ResolvedClusterConfig, group: ResolvedNodeGroup, skip: number): void {
  for (const subnet of nodeGroupPlacements(group, config).slice(skip)) {
    const labels = nodeLabels(group, { zone: subnet.zone, region: config.region, clusterName: config.name });
    const network = s.ipam.addNode({
      nodeName: (ip) => eksNodeName(ip, config.region),
      instanceType: group.instanceType,
      zone: subnet.zone,
      subnetCIDR: subnet.cidr,
      labels,
      ...(group.maxPodsPerNode !== undefined ? { maxPods: group.maxPodsPerNode } : {}),
    });
    const name = network.nodeName;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, uid: s.newUID(), creationTimestamp: timestamp(s.now), labels: { ...labels, 'kubernetes.io/hostname': name } },
      spec: { providerID: `aws:///${subnet.zone}/${instanceId(s)}`, ...(group.taints.length ? { taints: structuredClone(group.taints) } : {}) },
      status: { addresses: [{ type: 'InternalIP', address: network.internalIP }, { type: 'InternalDNS', address: name }, { type: 'Hostname', address: name }] },
    };
    completeNode(node, network, group.maxPodsPerNode ?? network.defaultMaxPods);
    s.nodes.set(name, node);
    s.capacityGeneration++;
  }
}

function groupOf(node: Node): string | undefined {
  const l = node.metadata.labels ?? {};
  return l['alpha.eksctl.io/nodegroup-name'] ?? l['eks.amazonaws.com/nodegroup'];
}

/** Adds the input's position to an error about one of its objects (`Service shop/web` → `Service/shop/web`). */
function locate(e: unknown, input: ClusterInput): unknown {
  if (!(e instanceof KubeNetsimError) || e.position || !e.object) return e;
  const position = input.positions.get(e.object.replace(' ', '/'));
  if (!position) return e;
  return new KubeNetsimError(e.code, e.message, { object: e.object, position, ...(e.hint ? { hint: e.hint } : {}), cause: e });
}

/**
 * Builds a cluster from what the manifest reader read: the VPC and the nodes of the resolved ClusterConfig's node
 * groups, the given Nodes (observed), Namespaces (`default`, `kube-system`, `kube-public`, `kube-node-lease` always),
 * the `kubernetes` Service on the first service address (kube-dns gets the tenth when it has none), Services,
 * EndpointSlices, workloads and Pods; then settles so the result is the steady state a user would see.
 * Objects that arrive with values (ClusterIP, NodePorts, pod IPs, statuses) keep them.
 */
export function buildCluster(input: ClusterInput, options: BuildClusterOptions = {}): Cluster {
  try {
    const resolved = resolveClusterConfig(input.clusterConfig);
    const ipam = options.ipam ?? defaultIPAM(input, resolved);
    const state = new ClusterState(
      {
        resolved,
        clusterConfig: input.clusterConfig ? structuredClone(input.clusterConfig) : undefined,
        kubeProxyConfiguration: input.kubeProxyConfiguration ? structuredClone(input.kubeProxyConfiguration) : undefined,
        awsNodeEnv: input.awsNodeEnv ? { ...input.awsNodeEnv } : undefined,
        eniConfigs: structuredClone(input.eniConfigs),
      },
      new SeededRandom(options.seed ?? 1),
      ipam,
      new ClusterIPAllocator(resolved.serviceCIDR),
      new NodePortAllocator(options.serviceNodePortRange ? parsePortRange(options.serviceNodePortRange) : DEFAULT_NODE_PORT_RANGE),
    );
    for (const ns of SYSTEM_NAMESPACES) ensureNamespace(state, ns);
    for (const node of input.nodes) addGivenNode(state, node);
    const given = new Map<string, number>();
    for (const node of input.nodes) {
      const g = groupOf(node);
      if (g) given.set(g, (given.get(g) ?? 0) + 1);
    }
    // With only Nodes given (no ClusterConfig), the Nodes are the cluster: no node group is launched.
    if (input.clusterConfig || input.nodes.length === 0) {
      for (const group of resolved.nodeGroups) launchNodeGroup(state, resolved, group, given.get(group.name) ?? 0);
    }

    // The API server creates `kubernetes` on the first address; EKS creates kube-dns on the tenth.
    const fixed: Record<string, number> = { 'default/kubernetes': 1, 'kube-system/kube-dns': 10 };
    const services = input.services.map((svc) => {
      const n = fixed[`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`];
      if (n !== undefined && svc.spec?.type !== 'ExternalName' && !svc.spec?.clusterIP && !svc.spec?.clusterIPs?.length) {
        const ip = state.clusterIPs.indexedIP(n);
        return { ...svc, spec: { ...svc.spec, clusterIP: ip, clusterIPs: [ip] } };
      }
      return svc;
    });
    if (!services.some((svc) => svc.metadata.name === 'kubernetes' && (svc.metadata.namespace ?? 'default') === 'default')) {
      services.unshift(kubernetesService(state.clusterIPs.indexedIP(1)));
    }
    const objects: KubeObject[] = [
      ...input.namespaces,
      ...services,
      ...input.endpointSlices,
      ...input.deployments,
      ...input.replicaSets,
      ...input.statefulSets,
      ...input.daemonSets,
      ...input.pods,
    ];
    applyObjects(state, objects, 'observed');
    settle(state);
    return new Cluster(state);
  } catch (e) {
    throw locate(e, input);
  }
}
