export { type BuildClusterOptions, buildCluster, defaultIPAM, isKubenetStyle } from './build-cluster.js';
export { Cluster } from './cluster.js';
export type { ClusterEvent } from './cluster-state.js';
export type { ObjectRef, ScalableKind } from './delete-scale.js';
export { ClusterIPAllocator } from './cluster-ip-allocator.js';
export { DEFAULT_NODE_PORT_RANGE, NodePortAllocator, type PortRange, parsePortRange } from './node-port-allocator.js';
export { HostLocalIPAM, type HostLocalIPAMOptions, type HostLocalSubnet } from './host-local-ipam.js';
export type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from './ipam.js';
export { SeededRandom } from './random.js';
export { NAME_ALPHABET, podTemplateHash } from './names.js';
export { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MANAGED_BY_CONTROLLER, MAX_ENDPOINTS_PER_SLICE, deriveEndpointSlices, podEndpoint } from './endpoint-slices.js';
export { findPodPort, isPodFinished, isPodReady, isPodTerminating, podKey } from './pods.js';
export { type HostPortUse, type SchedulingNode, type ScheduleResult, bindPod, podHostPorts, schedulePod, schedulingNode } from './scheduler.js';
export { matchesLabelSelector, matchesSelector, toleratesTaint } from './labels.js';
export { TICK_SECONDS } from './reconcile.js';
export {
  CLUSTER_DOMAIN,
  type ConfigPath,
  DEFAULT_CLUSTER_NAME,
  EKSCTL_DEFAULT_INSTANCE_TYPE,
  EKSCTL_DEFAULT_NODE_COUNT,
  EKSCTL_DEFAULT_REGION,
  EKSCTL_DEFAULT_VPC_CIDR,
  EKS_ALTERNATE_SERVICE_CIDR,
  EKS_DEFAULT_SERVICE_CIDR,
  type ResolveOptions,
  type ResolvedClusterConfig,
  type ResolvedNodeGroup,
  type ResolvedSubnet,
  defaultZones,
  eksNodeName,
  eksctlSubnetLayout,
  nodeGroupLabels,
  nodeGroupPlacements,
  nodeLabels,
  resolveClusterConfig,
} from './eks-defaults.js';
export { LISTENING_ASSUMPTION, type Listener, type LocalhostResult, type PortConflict, hostNetworkConflicts, podListeners, podLocalhost, podPortConflicts } from './pod-network.js';
