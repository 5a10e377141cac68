import type { AwsNodeEnv, ClusterConfig, ENIConfig, KubeProxyConfiguration } from './config.js';
import type {
  DaemonSet,
  Deployment,
  EndpointSlice,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from './core.js';
import type { SourcePosition } from '../errors.js';

/** Any object the simulator reads. */
export type KubeObject =
  | Node
  | Namespace
  | Pod
  | Service
  | EndpointSlice
  | Deployment
  | ReplicaSet
  | StatefulSet
  | DaemonSet
  | ClusterConfig
  | KubeProxyConfiguration
  | ENIConfig;

/**
 * What the manifest reader hands the cluster builder: the objects of a YAML stream, sorted by kind, each
 * with where it came from. Anything absent takes the EKS default when the cluster is built.
 */
export interface ClusterInput {
  clusterConfig?: ClusterConfig;
  kubeProxyConfiguration?: KubeProxyConfiguration;
  /** env of the `aws-node` DaemonSet's `aws-node` container, when the stream has that DaemonSet. */
  awsNodeEnv?: AwsNodeEnv;
  eniConfigs: ENIConfig[];
  nodes: Node[];
  namespaces: Namespace[];
  pods: Pod[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  deployments: Deployment[];
  replicaSets: ReplicaSet[];
  statefulSets: StatefulSet[];
  daemonSets: DaemonSet[];
  /** Kinds the simulator does not model, listed for the user (`ConfigMap kube-system/coredns (ignored)`). */
  ignored: { kind: string; name: string; position?: SourcePosition; apiVersion?: string; reason?: string }[];
  /** Where each object came from, keyed by `Kind/ns/name` (`Kind/name` when cluster-scoped). */
  positions: Map<string, SourcePosition>;
}

export function emptyClusterInput(): ClusterInput {
  return {
    eniConfigs: [],
    nodes: [],
    namespaces: [],
    pods: [],
    services: [],
    endpointSlices: [],
    deployments: [],
    replicaSets: [],
    statefulSets: [],
    daemonSets: [],
    ignored: [],
    positions: new Map(),
  };
}
