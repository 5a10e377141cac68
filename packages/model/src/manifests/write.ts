import { Document } from 'yaml';
import type { ClusterInput, KubeObject } from '../api/input.js';

/** Anything that can list its objects as Kubernetes API objects: a `Cluster` (its `objects()`), or a test double. */
export interface ObjectSource {
  objects(): readonly KubeObject[];
}

/** The order objects are written in: configuration, then what others refer to, then what refers to them. */
const KIND_ORDER = [
  'ClusterConfig',
  'KubeProxyConfiguration',
  'ENIConfig',
  'Namespace',
  'Node',
  'DaemonSet',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'Pod',
  'Service',
  'EndpointSlice',
];

/** Every object of a ClusterInput, configuration first. */
export function clusterInputObjects(input: ClusterInput): KubeObject[] {
  return [
    ...(input.clusterConfig ? [input.clusterConfig] : []),
    ...(input.kubeProxyConfiguration ? [input.kubeProxyConfiguration] : []),
    ...input.eniConfigs,
    ...input.namespaces,
    ...input.nodes,
    ...input.daemonSets,
    ...input.deployments,
    ...input.replicaSets,
    ...input.statefulSets,
    ...input.pods,
    ...input.services,
    ...input.endpointSlices,
  ];
}

/**
 * Writes objects as a multi-document YAML stream that `readManifests` (and kubectl) read back: a cluster's
 * objects with their allocated ClusterIPs, NodePorts and pod status, or a ClusterInput, or a list. Objects are
 * grouped by kind (configuration first) and keep their order within a kind; `apiVersion`, `kind` and
 * `metadata` lead each document; no YAML anchors or aliases.
 */
export function writeManifests(source: ObjectSource | ClusterInput | readonly KubeObject[]): string {
  const objects: readonly KubeObject[] = Array.isArray(source)
    ? source
    : 'objects' in source && typeof source.objects === 'function'
      ? source.objects()
      : clusterInputObjects(source as ClusterInput);
  const rank = (kind: string) => {
    const i = KIND_ORDER.indexOf(kind);
    return i < 0 ? KIND_ORDER.length : i;
  };
  const sorted = objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i);
  return sorted
    .map(({ o }) => {
      const { apiVersion, kind, ...rest } = o as unknown as Record<string, unknown>;
      const { metadata, ...body } = rest;
      const ordered = { apiVersion, kind, ...(metadata === undefined ? {} : { metadata }), ...body };
      return new Document(ordered, { aliasDuplicateObjects: false }).toString({ lineWidth: 0 });
    })
    .map((text) => `---\n${text}`)
    .join('');
}
