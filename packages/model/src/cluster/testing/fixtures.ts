import type {
  ClusterConfig,
  ClusterInput,
  Container,
  DaemonSet,
  Deployment,
  Namespace,
  Node,
  Pod,
  PodSpec,
  Service,
  ServicePort,
  ServiceSpec,
  StatefulSet,
} from '../../api/index.js';
import { emptyClusterInput } from '../../api/index.js';

// Small builders for real clusters in tests: each returns a plain API object as a user would write it.

export function input(parts: Partial<ClusterInput> = {}): ClusterInput {
  return { ...emptyClusterInput(), ...parts };
}

/** An eksctl ClusterConfig with one self-managed node group of `nodes` m5.large nodes. */
export function clusterConfig(options: { nodes?: number; region?: string; instanceType?: string; maxPodsPerNode?: number; vpcCIDR?: string } = {}): ClusterConfig {
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: 'test', region: options.region ?? 'us-west-2' },
    ...(options.vpcCIDR ? { vpc: { cidr: options.vpcCIDR } } : {}),
    nodeGroups: [
      {
        name: 'ng-1',
        instanceType: options.instanceType ?? 'm5.large',
        desiredCapacity: options.nodes ?? 3,
        ...(options.maxPodsPerNode !== undefined ? { maxPodsPerNode: options.maxPodsPerNode } : {}),
      },
    ],
  };
}

export function namespace(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function container(name: string, ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP'; hostPort?: number }[] = []): Container {
  return {
    name,
    image: `${name}:latest`,
    ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.port, ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.hostPort ? { hostPort: p.hostPort } : {}) })),
  };
}

export function pod(ns: string, name: string, labels: Record<string, string>, spec: Partial<PodSpec> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [container('app', [{ port: 8080, name: 'http' }])], ...spec } };
}

export function deployment(ns: string, name: string, replicas: number, spec: Partial<PodSpec> = {}, labels: Record<string, string> = { app: name }): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container('app', [{ port: 8080, name: 'http' }])], ...spec } } },
  };
}

export function statefulSet(ns: string, name: string, replicas: number, serviceName: string, spec: Partial<PodSpec> = {}): StatefulSet {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: { replicas, serviceName, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container(name, [{ port: 6379, name: 'redis' }])], ...spec } } },
  };
}

export function daemonSet(ns: string, name: string, spec: Partial<PodSpec> = {}): DaemonSet {
  const labels = { 'k8s-app': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns },
    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container(name)], ...spec } } },
  };
}

export function service(ns: string, name: string, selector: Record<string, string> | undefined, ports: ServicePort[] = [{ port: 80, targetPort: 8080 }], spec: Partial<ServiceSpec> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ...(selector ? { selector } : {}), ports, ...spec } };
}

/** A kubenet-style Node: its own InternalIP and podCIDR, `pods` capacity. */
export function node(name: string, internalIP: string, options: { podCIDR?: string; pods?: number; labels?: Record<string, string>; taints?: Node['spec'] extends infer S ? S extends { taints?: infer T } ? T : never : never } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(options.labels ?? {}) } },
    spec: { ...(options.podCIDR ? { podCIDR: options.podCIDR } : {}), ...(options.taints ? { taints: options.taints } : {}) },
    status: { addresses: [{ type: 'InternalIP', address: internalIP }], ...(options.pods !== undefined ? { capacity: { pods: String(options.pods) } } : {}) },
  };
}
