import { KubeNetsimError } from '../errors.js';
import type { ClusterState } from './cluster-state.js';
import { sliceServiceKey } from './endpoint-slices.js';
import { removePod, terminatePod } from './pod-lifecycle.js';
import { releaseService } from './services.js';

/** Names one object: `{ kind: 'Service', namespace: 'shop', name: 'web' }` (no namespace for Nodes and Namespaces). */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

export type ScalableKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet';

/** `pods`, `services`, … as kubectl names resources in its NotFound message. */
function resource(kind: string): string {
  const plural: Record<string, string> = { EndpointSlice: 'endpointslices.discovery.k8s.io', Deployment: 'deployments.apps', ReplicaSet: 'replicasets.apps', StatefulSet: 'statefulsets.apps', DaemonSet: 'daemonsets.apps' };
  return plural[kind] ?? `${kind.toLowerCase()}s`;
}

function notFound(ref: ObjectRef): KubeNetsimError {
  const where = ref.namespace ? `${ref.namespace}/` : '';
  return new KubeNetsimError('E_NOT_FOUND', `${resource(ref.kind)} "${ref.name}" not found`, { object: `${ref.kind} ${where}${ref.name}` });
}

function owned(meta: { namespace?: string; ownerReferences?: { kind: string; name: string }[] }, kind: string, ns: string, name: string): boolean {
  return (meta.namespace ?? 'default') === ns && (meta.ownerReferences ?? []).some((r) => r.kind === kind && r.name === name);
}

function terminateOwnedPods(s: ClusterState, kind: string, ns: string, name: string, grace: number | undefined): void {
  for (const pod of [...s.pods.values()]) if (owned(pod.metadata, kind, ns, name)) terminatePod(s, pod, grace);
}

function deleteNamespaced(s: ClusterState, kind: string, ns: string, name: string, grace: number | undefined): boolean {
  const key = `${ns}/${name}`;
  switch (kind) {
    case 'Pod': {
      const pod = s.pods.get(key);
      if (!pod) return false;
      terminatePod(s, pod, grace);
      return true;
    }
    case 'Service': {
      const svc = s.services.get(key);
      if (!svc) return false;
      releaseService(svc, { clusterIPs: s.clusterIPs, nodePorts: s.nodePorts, random: s.random });
      s.services.delete(key);
      for (const [k, e] of s.endpointSlices) if (sliceServiceKey(e) === key) s.endpointSlices.delete(k);
      s.observedSliceServices.delete(key);
      return true;
    }
    case 'EndpointSlice': {
      const slice = s.endpointSlices.get(key);
      if (!slice) return false;
      s.endpointSlices.delete(key);
      const svc = sliceServiceKey(slice);
      // With its last given slice gone, the Service's endpoints are derived again.
      if (svc && ![...s.endpointSlices.values()].some((e) => sliceServiceKey(e) === svc)) s.observedSliceServices.delete(svc);
      return true;
    }
    case 'Deployment': {
      if (!s.deployments.delete(key)) return false;
      for (const [k, rs] of [...s.replicaSets]) {
        if (owned(rs.metadata, 'Deployment', ns, name)) {
          s.replicaSets.delete(k);
          terminateOwnedPods(s, 'ReplicaSet', ns, rs.metadata.name, grace);
        }
      }
      return true;
    }
    case 'ReplicaSet':
      if (!s.replicaSets.delete(key)) return false;
      terminateOwnedPods(s, kind, ns, name, grace);
      return true;
    case 'StatefulSet':
      if (!s.statefulSets.delete(key)) return false;
      terminateOwnedPods(s, kind, ns, name, grace);
      return true;
    case 'DaemonSet':
      if (!s.daemonSets.delete(key)) return false;
      terminateOwnedPods(s, kind, ns, name, grace);
      return true;
    default:
      throw new KubeNetsimError('E_DELETE_UNSUPPORTED', `The simulator cannot delete a ${kind}`, { object: `${kind} ${ns}/${name}` });
  }
}

/** Deletes one object and what it owns (background cascading deletion, done at once). */
export function deleteObject(s: ClusterState, ref: ObjectRef, gracePeriodSeconds?: number): void {
  s.actions++;
  if (gracePeriodSeconds !== undefined && (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0)) {
    throw new KubeNetsimError('E_INVALID_DURATION', `Expected gracePeriodSeconds to be an integer ≥ 0, got ${gracePeriodSeconds}`);
  }
  if (ref.kind === 'Node') {
    if (!s.nodes.has(ref.name)) throw notFound(ref);
    // The pod garbage collector removes the pods of a deleted node at once; their controllers replace them elsewhere.
    for (const pod of [...s.pods.values()]) {
      if (pod.spec.nodeName === ref.name || s.podBookkeeping.get(`${pod.metadata.namespace}/${pod.metadata.name}`)?.pinnedNode === ref.name) removePod(s, pod);
    }
    s.ipam.removeNode(ref.name);
    s.nodes.delete(ref.name);
    s.capacityGeneration++;
    return;
  }
  if (ref.kind === 'Namespace') {
    if (!s.namespaces.has(ref.name)) throw notFound(ref);
    if (['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(ref.name)) {
      throw new KubeNetsimError('E_DELETE_FORBIDDEN', `namespaces "${ref.name}" is forbidden: this namespace may not be deleted`, { object: `Namespace ${ref.name}` });
    }
    const ns = ref.name;
    for (const [kind, map] of [['Deployment', s.deployments], ['ReplicaSet', s.replicaSets], ['StatefulSet', s.statefulSets], ['DaemonSet', s.daemonSets], ['Service', s.services], ['EndpointSlice', s.endpointSlices], ['Pod', s.pods]] as const) {
      for (const key of [...map.keys()]) if (key.startsWith(`${ns}/`) && map.has(key)) deleteNamespaced(s, kind, ns, key.slice(ns.length + 1), 0);
    }
    s.namespaces.delete(ns);
    return;
  }
  if (!deleteNamespaced(s, ref.kind, ref.namespace ?? 'default', ref.name, gracePeriodSeconds)) throw notFound(ref);
}

/** Sets `spec.replicas` of a Deployment, ReplicaSet or StatefulSet. */
export function scaleWorkload(s: ClusterState, ref: { kind: ScalableKind; namespace: string; name: string }, replicas: number): void {
  s.actions++;
  const object = `${ref.kind} ${ref.namespace}/${ref.name}`;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new KubeNetsimError('E_WORKLOAD_INVALID', `Expected replicas to be an integer ≥ 0, got ${replicas}`, { object });
  }
  const map = ref.kind === 'Deployment' ? s.deployments : ref.kind === 'ReplicaSet' ? s.replicaSets : ref.kind === 'StatefulSet' ? s.statefulSets : undefined;
  if (!map) throw new KubeNetsimError('E_SCALE_UNSUPPORTED', `A ${String(ref.kind)} cannot be scaled; scale a Deployment, ReplicaSet or StatefulSet`, { object });
  const w = map.get(`${ref.namespace}/${ref.name}`);
  if (!w) throw notFound(ref);
  w.spec.replicas = replicas;
}
