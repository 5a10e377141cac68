import type {
  AwsNodeEnv,
  ClusterConfig,
  DaemonSet,
  Deployment,
  ENIConfig,
  EndpointSlice,
  KubeProxyConfiguration,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../api/index.js';
import type { ClusterIPAllocator } from './cluster-ip-allocator.js';
import type { ResolvedClusterConfig } from './eks-defaults.js';
import type { PodIPAM } from './ipam.js';
import type { NodePortAllocator } from './node-port-allocator.js';
import type { SeededRandom } from './random.js';

/** Something that happened to an object, as `kubectl get events` shows it. `time` in simulated seconds. */
export interface ClusterEvent {
  /** When it last happened. */
  time: number;
  /** When it first happened. */
  firstTime: number;
  type: 'Normal' | 'Warning';
  reason: string;
  /** `Pod shop/web-7d4b9c-x2k8p`. */
  object: string;
  message: string;
  /** How many times it happened in a row (the API server aggregates repeats the same way). */
  count: number;
}

/** What the cluster keeps about a pod beyond the API object. */
export interface PodBookkeeping {
  /** Creation order: the scheduler takes pending pods oldest first. */
  seq: number;
  /** Simulated second at which a terminating pod is removed. */
  removeAt?: number;
  /** A DaemonSet pod's node (its required node affinity on `metadata.name`). */
  pinnedNode?: string;
  /** The {@link ClusterState.capacityGeneration} at which the scheduler last found no node for the pod. */
  unschedulableAt?: number;
  /** Simulated second at which the kubelet rejected the pod (OutOfpods): its owner replaces it only on a later tick. */
  rejectedAt?: number;
}

/** The configuration objects a cluster was built from, kept as given. */
export interface ClusterSettings {
  resolved: ResolvedClusterConfig;
  clusterConfig: ClusterConfig | undefined;
  kubeProxyConfiguration: KubeProxyConfiguration | undefined;
  awsNodeEnv: AwsNodeEnv | undefined;
  eniConfigs: ENIConfig[];
}

/**
 * Everything that changes. Maps are keyed by `ns/name` (`name` for Nodes and Namespaces). A transaction works on
 * a {@link ClusterState.clone} and replaces the original only when it succeeds.
 */
export class ClusterState {
  now = 0;
  /**
   * Raised whenever room may have appeared for a pending pod (a pod removed, a node added or changed): the
   * scheduler retries an unschedulable pod only then, as kube-scheduler moves pods out of its unschedulable queue
   * on such cluster events.
   */
  capacityGeneration = 0;
  /** Counts controller actions (pods created, bound, started, deleted; ReplicaSets scaled): a pass with none ends an instant. */
  actions = 0;
  /** {@link ClusterState.actions} when the EndpointSlice controller last ran: with no action since, nothing changed for it. */
  endpointsSyncedAt = -1;
  nextSeq = 0;
  nextUID = 0;
  settings: ClusterSettings;
  random: SeededRandom;
  ipam: PodIPAM;
  clusterIPs: ClusterIPAllocator;
  nodePorts: NodePortAllocator;
  nodes = new Map<string, Node>();
  namespaces = new Map<string, Namespace>();
  pods = new Map<string, Pod>();
  podBookkeeping = new Map<string, PodBookkeeping>();
  services = new Map<string, Service>();
  endpointSlices = new Map<string, EndpointSlice>();
  /** Services whose EndpointSlices were given (observed) rather than derived. */
  observedSliceServices = new Set<string>();
  deployments = new Map<string, Deployment>();
  replicaSets = new Map<string, ReplicaSet>();
  statefulSets = new Map<string, StatefulSet>();
  daemonSets = new Map<string, DaemonSet>();
  events: ClusterEvent[] = [];
  /** `object\0reason\0message` → index in `events` of that event, so a repeat folds into its count. */
  eventIndex = new Map<string, number>();

  constructor(settings: ClusterSettings, random: SeededRandom, ipam: PodIPAM, clusterIPs: ClusterIPAllocator, nodePorts: NodePortAllocator) {
    this.settings = settings;
    this.random = random;
    this.ipam = ipam;
    this.clusterIPs = clusterIPs;
    this.nodePorts = nodePorts;
  }

  clone(): ClusterState {
    const c = new ClusterState(structuredClone(this.settings), this.random.clone(), this.ipam.clone(), this.clusterIPs.clone(), this.nodePorts.clone());
    c.now = this.now;
    c.capacityGeneration = this.capacityGeneration;
    c.actions = this.actions;
    c.endpointsSyncedAt = this.endpointsSyncedAt;
    c.nextSeq = this.nextSeq;
    c.nextUID = this.nextUID;
    c.nodes = structuredClone(this.nodes);
    c.namespaces = structuredClone(this.namespaces);
    c.pods = structuredClone(this.pods);
    c.podBookkeeping = structuredClone(this.podBookkeeping);
    c.services = structuredClone(this.services);
    c.endpointSlices = structuredClone(this.endpointSlices);
    c.observedSliceServices = new Set(this.observedSliceServices);
    c.deployments = structuredClone(this.deployments);
    c.replicaSets = structuredClone(this.replicaSets);
    c.statefulSets = structuredClone(this.statefulSets);
    c.daemonSets = structuredClone(this.daemonSets);
    c.events = structuredClone(this.events);
    c.eventIndex = new Map(this.eventIndex);
    return c;
  }

  /** A deterministic object UID (`00000000-0000-4000-8000-00000000002a`). */
  newUID(): string {
    return `00000000-0000-4000-8000-${(this.nextUID++).toString(16).padStart(12, '0')}`;
  }

  /**
   * Records an event; a repeat of an earlier one (same object, reason and message) raises its count and time,
   * as the API server's event aggregation does. Only the newest {@link MAX_EVENTS} are kept.
   */
  record(type: ClusterEvent['type'], reason: string, object: string, message: string): void {
    const key = `${object}\0${reason}\0${message}`;
    const at = this.eventIndex.get(key);
    const seen = at === undefined ? undefined : this.events[at];
    if (seen) {
      seen.count++;
      seen.time = this.now;
      return;
    }
    this.eventIndex.set(key, this.events.length);
    this.events.push({ time: this.now, firstTime: this.now, type, reason, object, message, count: 1 });
    if (this.events.length > MAX_EVENTS) {
      this.events = this.events.slice(-MAX_EVENTS / 2);
      this.eventIndex = new Map(this.events.map((e, i) => [`${e.object}\0${e.reason}\0${e.message}`, i]));
    }
  }
}

/** Events kept; when there are more, the older half goes (a real cluster keeps them for an hour). */
export const MAX_EVENTS = 20000;

/** Simulated second 0 as wall-clock time, for `creationTimestamp` and `deletionTimestamp` text. */
export const SIMULATION_EPOCH_MS = Date.UTC(2025, 0, 1);

/** RFC 3339 text of a simulated second (`2025-01-01T00:00:05Z`). */
export function timestamp(seconds: number): string {
  return new Date(SIMULATION_EPOCH_MS + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
