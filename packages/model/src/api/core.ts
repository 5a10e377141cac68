import type { LabelSelector, ObjectMeta, Protocol } from './meta.js';

// Kubernetes core/v1 and discovery/v1 objects, the fields the simulator models, named as in the API.

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
  hostPort?: number;
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | '';
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodSpec {
  nodeName?: string;
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  dnsPolicy?: DNSPolicy;
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  hostname?: string;
  subdomain?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  priorityClassName?: string;
  serviceAccountName?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready' | 'PodReadyToStartContainers';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface PodStatus {
  phase?: PodPhase;
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  /** Container waiting reason shown by kubectl, e.g. ContainerCreating. */
  reason?: string;
  message?: string;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: Partial<ObjectMeta>;
  spec: PodSpec;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** Number or the name of a container port. Defaults to `port`. */
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: ServiceType;
  selector?: Record<string, string>;
  ports?: ServicePort[];
  /** `None` makes the Service headless. */
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  externalName?: string;
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  loadBalancerSourceRanges?: string[];
  publishNotReadyAddresses?: boolean;
  ipFamilies?: ('IPv4' | 'IPv6')[];
  trafficDistribution?: string;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' }[] };
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: ServiceStatus;
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string };
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[]; providerID?: string; taints?: Taint[]; unschedulable?: boolean };
  status?: {
    addresses?: NodeAddress[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: { type: string; status: string }[];
  };
}

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    /** Default RollingUpdate with maxSurge and maxUnavailable 25% (a count or a percentage of replicas). */
    strategy?: { type?: 'RollingUpdate' | 'Recreate'; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
  };
}

export interface ReplicaSet {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: ObjectMeta;
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplateSpec };
}

export interface StatefulSet {
  apiVersion: 'apps/v1';
  kind: 'StatefulSet';
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    serviceName?: string;
    selector: LabelSelector;
    template: PodTemplateSpec;
    /** `OrderedReady` (default): one pod at a time, each after its predecessors are Ready; `Parallel`: all at once. */
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
  };
}

export interface DaemonSet {
  apiVersion: 'apps/v1';
  kind: 'DaemonSet';
  metadata: ObjectMeta;
  spec: { selector: LabelSelector; template: PodTemplateSpec };
}

export type Workload = Deployment | ReplicaSet | StatefulSet | DaemonSet;
