import type {
  AwsNodeEnv,
  ClusterConfig,
  DaemonSet,
  Deployment,
  ENIConfig,
  EndpointSlice,
  KubeObject,
  KubeProxyConfiguration,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../api/index.js';
import { KubeNetsimError } from '../errors.js';
import type { CIDR } from '../ip/index.js';
import { applyObjects } from './apply.js';
import type { ClusterEvent, ClusterState } from './cluster-state.js';
import type { ResolvedClusterConfig } from './eks-defaults.js';
import { deleteObject, scaleWorkload, type ObjectRef, type ScalableKind } from './delete-scale.js';
import type { NodeNetwork, PodIPAM } from './ipam.js';
import type { PortRange } from './node-port-allocator.js';
import { nodeMaxPods } from './pod-lifecycle.js';
import { advanceTime, settle } from './reconcile.js';

function byNamespaceAndName<T extends { metadata: { name: string; namespace?: string } }>(items: Iterable<T>, namespace?: string): T[] {
  return [...items]
    .filter((o) => namespace === undefined || (o.metadata.namespace ?? 'default') === namespace)
    .sort((a, b) => {
      const x = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
      const y = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

/**
 * A simulated cluster: its objects, the controllers that act on them and simulated time. Reads return the
 * cluster's own API objects: read them, never change them (a change builds a new state and swaps it in). Every
 * change applies whole or throws a `KubeNetsimError` and leaves the cluster exactly as it was.
 */
export class Cluster {
  #s: ClusterState;

  /** @internal Use `buildCluster`. */
  constructor(state: ClusterState) {
    this.#s = state;
  }

  /** The cluster's resolved EKS settings: name, region, zones, VPC CIDRs, subnets, service CIDR, node groups. */
  get config(): ResolvedClusterConfig {
    return this.#s.settings.resolved;
  }

  /** The ClusterConfig as given (undefined when the input had none). */
  get clusterConfig(): ClusterConfig | undefined {
    return this.#s.settings.clusterConfig;
  }

  /** kube-proxy's configuration as given; kube-proxy resolves its defaults. */
  get kubeProxyConfiguration(): KubeProxyConfiguration | undefined {
    return this.#s.settings.kubeProxyConfiguration;
  }

  /** The `aws-node` env as given. */
  get awsNodeEnv(): AwsNodeEnv | undefined {
    return this.#s.settings.awsNodeEnv;
  }

  get eniConfigs(): readonly ENIConfig[] {
    return this.#s.settings.eniConfigs;
  }

  /** Simulated seconds since the cluster started. */
  get now(): number {
    return this.#s.now;
  }

  /** The pod IPAM in use (`aws-vpc-cni` or `host-local`). Read it; change the cluster only through the cluster. */
  get ipam(): PodIPAM {
    return this.#s.ipam;
  }

  get serviceCIDR(): CIDR {
    return this.#s.clusterIPs.cidr;
  }

  /** `--service-node-port-range`: 30000-32767 by default. */
  get nodePortRange(): PortRange {
    return this.#s.nodePorts.range;
  }

  /** The ClusterIPs the allocator holds, lowest first. */
  allocatedClusterIPs(): string[] {
    return this.#s.clusterIPs.allocated();
  }

  /** The NodePorts (and healthCheckNodePorts) the allocator holds, lowest first. */
  allocatedNodePorts(): number[] {
    return this.#s.nodePorts.allocated();
  }

  nodes(): Node[] {
    return byNamespaceAndName(this.#s.nodes.values());
  }

  node(name: string): Node | undefined {
    return this.#s.nodes.get(name);
  }

  /** The node's addresses as the IPAM set them up: `internalIP` and every local address (kube-proxy's LOCAL). */
  nodeNetwork(name: string): NodeNetwork | undefined {
    return this.#s.ipam.node(name);
  }

  /** The node's pod capacity (Node `status.capacity.pods`, else the node group's maxPodsPerNode, else the IPAM's). */
  maxPods(nodeName: string): number {
    return nodeMaxPods(this.#s, nodeName);
  }

  namespaces(): Namespace[] {
    return byNamespaceAndName(this.#s.namespaces.values());
  }

  pods(namespace?: string): Pod[] {
    return byNamespaceAndName(this.#s.pods.values(), namespace);
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.#s.pods.get(`${namespace}/${name}`);
  }

  /** Pods bound to a node (terminating ones included), by name. */
  podsOnNode(nodeName: string): Pod[] {
    return byNamespaceAndName([...this.#s.pods.values()].filter((p) => p.spec.nodeName === nodeName));
  }

  /**
   * The pod holding `ip` as its own pod IP (host-network pods share their node's IP and are not returned), among pods
   * that have not finished. A scan over every pod.
   */
  podByIP(ip: string): Pod | undefined {
    for (const pod of this.#s.pods.values()) {
      if (pod.status?.podIP === ip && !pod.spec.hostNetwork && pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed') return pod;
    }
    return undefined;
  }

  /** The node one of whose local addresses is `ip` (its InternalIP, an ENI primary IP, a bridge gateway). */
  nodeByIP(ip: string): Node | undefined {
    for (const name of this.#s.nodes.keys()) {
      if (this.#s.ipam.node(name)?.localAddresses.includes(ip)) return this.#s.nodes.get(name);
    }
    return undefined;
  }

  /** The Service whose ClusterIP is `ip`. */
  serviceByClusterIP(ip: string): Service | undefined {
    for (const svc of this.#s.services.values()) if (svc.spec.clusterIP === ip || svc.spec.clusterIPs?.includes(ip)) return svc;
    return undefined;
  }

  services(namespace?: string): Service[] {
    return byNamespaceAndName(this.#s.services.values(), namespace);
  }

  service(namespace: string, name: string): Service | undefined {
    return this.#s.services.get(`${namespace}/${name}`);
  }

  /** EndpointSlices, derived or given; with `serviceName`, only that Service's (label `kubernetes.io/service-name`). */
  endpointSlices(namespace?: string, serviceName?: string): EndpointSlice[] {
    return byNamespaceAndName(this.#s.endpointSlices.values(), namespace).filter(
      (e) => serviceName === undefined || e.metadata.labels?.['kubernetes.io/service-name'] === serviceName,
    );
  }

  /** True when the Service's EndpointSlices were given (observed) rather than derived from pods. */
  hasObservedEndpointSlices(namespace: string, serviceName: string): boolean {
    return this.#s.observedSliceServices.has(`${namespace}/${serviceName}`);
  }

  deployments(namespace?: string): Deployment[] {
    return byNamespaceAndName(this.#s.deployments.values(), namespace);
  }

  replicaSets(namespace?: string): ReplicaSet[] {
    return byNamespaceAndName(this.#s.replicaSets.values(), namespace);
  }

  statefulSets(namespace?: string): StatefulSet[] {
    return byNamespaceAndName(this.#s.statefulSets.values(), namespace);
  }

  daemonSets(namespace?: string): DaemonSet[] {
    return byNamespaceAndName(this.#s.daemonSets.values(), namespace);
  }

  /** Events in the order they first happened (repeats fold into `count`); with `object` (`Pod shop/web-…`), only that object's. */
  events(object?: string): ClusterEvent[] {
    return this.#s.events.filter((e) => object === undefined || e.object === object);
  }

  /**
   * Every object back as API objects, in an order `kubectl apply` accepts: configuration (ClusterConfig,
   * KubeProxyConfiguration, ENIConfigs), Namespaces, Nodes, Services, EndpointSlices, workloads, Pods.
   */
  objects(): KubeObject[] {
    const st = this.#s.settings;
    return structuredClone([
      ...(st.clusterConfig ? [st.clusterConfig] : []),
      ...(st.kubeProxyConfiguration ? [st.kubeProxyConfiguration] : []),
      ...st.eniConfigs,
      ...this.namespaces(),
      ...this.nodes(),
      ...this.services(),
      ...this.endpointSlices(),
      ...this.deployments(),
      ...this.replicaSets(),
      ...this.statefulSets(),
      ...this.daemonSets(),
      ...this.pods(),
    ]);
  }

  /** Creates or replaces objects by kind/namespace/name (a Service keeps its ClusterIP and NodePorts), then settles. */
  apply(objects: readonly KubeObject[]): void {
    this.#transact((s) => {
      applyObjects(s, objects, 'request');
      settle(s);
    });
  }

  /**
   * Deletes an object. A Pod terminates (`deletionTimestamp`, endpoints `terminating`) for `gracePeriodSeconds`
   * (default 30) before it goes; owned objects go with their owner (ReplicaSets and Pods of a Deployment).
   */
  delete(ref: ObjectRef, options: { gracePeriodSeconds?: number } = {}): void {
    this.#transact((s) => {
      deleteObject(s, ref, options.gracePeriodSeconds);
      settle(s);
    });
  }

  /** Sets a Deployment's, ReplicaSet's or StatefulSet's `replicas`, then settles. */
  scale(ref: { kind: ScalableKind; namespace: string; name: string }, replicas: number): void {
    this.#transact((s) => {
      scaleWorkload(s, ref, replicas);
      settle(s);
    });
  }

  /** Runs simulated time forward by `seconds` (≥ 0) in 5-second ticks: the IPAM's clock, terminations, controllers. */
  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new KubeNetsimError('E_INVALID_DURATION', `Expected seconds to be a finite number ≥ 0, got ${seconds}`);
    }
    this.#transact((s) => advanceTime(s, seconds));
  }

  /** An independent copy (its own IPAM and allocators). */
  clone(): Cluster {
    return new Cluster(this.#s.clone());
  }

  /** Runs `change` on a copy of the state and keeps it only if it succeeds. */
  #transact(change: (s: ClusterState) => void): void {
    const next = this.#s.clone();
    change(next);
    this.#s = next;
  }
}
