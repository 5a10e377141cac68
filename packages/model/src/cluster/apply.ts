import type {
  DaemonSet,
  Deployment,
  EndpointSlice,
  KubeObject,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../api/index.js';
import { KubeNetsimError } from '../errors.js';
import { type ClusterState, timestamp } from './cluster-state.js';
import { LABEL_MANAGED_BY, MANAGED_BY_CONTROLLER, hasManagedEndpoints, sliceServiceKey } from './endpoint-slices.js';
import { stableJSON } from './names.js';
import { matchesLabelSelector } from './labels.js';
import { addGivenNode, capacityPods } from './nodes.js';
import { DEFAULT_GRACE_PERIOD_SECONDS, createPod, defaultPod, markRunning } from './pod-lifecycle.js';
import { podKey, podName } from './pods.js';
import { type AllocationMode, allocateService, defaultService, releaseService, serviceName, validateService } from './services.js';

type Workload = Deployment | ReplicaSet | StatefulSet | DaemonSet;

/** Namespaces every cluster has. */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export function ensureNamespace(s: ClusterState, name: string): void {
  if (s.namespaces.has(name)) return;
  s.namespaces.set(name, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: s.newUID(), creationTimestamp: timestamp(s.now), labels: { 'kubernetes.io/metadata.name': name } },
  });
}

function nsOf(meta: { namespace?: string }): string {
  return meta.namespace ?? 'default';
}

function applyNamespace(s: ClusterState, ns: Namespace): void {
  const prev = s.namespaces.get(ns.metadata.name);
  const next = structuredClone(ns);
  next.metadata.uid = prev?.metadata.uid ?? next.metadata.uid ?? s.newUID();
  next.metadata.labels = { ...(next.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns.metadata.name };
  s.namespaces.set(ns.metadata.name, next);
}

/** A changed Node keeps its network (IP, pod range); labels, taints, unschedulable and capacity follow the object. */
function applyNode(s: ClusterState, node: Node): void {
  const prev = s.nodes.get(node.metadata.name);
  if (!prev) {
    addGivenNode(s, node);
    return;
  }
  capacityPods(node);
  s.capacityGeneration++;
  prev.metadata.labels = { ...(node.metadata.labels ?? {}) };
  const spec = { ...(prev.spec ?? {}) };
  if (node.spec?.taints?.length) spec.taints = structuredClone(node.spec.taints);
  else delete spec.taints;
  if (node.spec?.unschedulable) spec.unschedulable = true;
  else delete spec.unschedulable;
  prev.spec = spec;
  if (node.status?.capacity?.pods) {
    prev.status = { ...(prev.status ?? {}), capacity: { ...(prev.status?.capacity ?? {}), pods: node.status.capacity.pods } };
  }
}

/**
 * Creates or updates a Service. An update keeps the ClusterIP (changing it is rejected, as the API server does)
 * and the NodePort of every port with the same port and protocol unless the new object names another.
 */
export function applyService(s: ClusterState, given: Service, mode: AllocationMode): void {
  const svc = defaultService(given);
  validateService(svc);
  const key = `${nsOf(svc.metadata)}/${svc.metadata.name}`;
  const prev = s.services.get(key);
  const allocators = { clusterIPs: s.clusterIPs, nodePorts: s.nodePorts, random: s.random };
  if (prev) {
    const prevIP = prev.spec.clusterIP;
    const wanted = svc.spec.clusterIP ?? svc.spec.clusterIPs?.[0];
    if (wanted && prevIP && wanted !== prevIP && svc.spec.type !== 'ExternalName' && prev.spec.type !== 'ExternalName') {
      throw new KubeNetsimError('E_SERVICE_INVALID', `The Service "${svc.metadata.name}" is invalid: spec.clusterIPs[0]: Invalid value: []string{"${wanted}"}: may not change once set`, {
        object: serviceName(svc),
      });
    }
    if (!wanted && prevIP && svc.spec.type !== 'ExternalName' && prev.spec.type !== 'ExternalName') {
      svc.spec.clusterIP = prevIP;
      svc.spec.clusterIPs = [prevIP];
    }
    if (svc.spec.type === prev.spec.type) {
      for (const p of svc.spec.ports ?? []) {
        p.nodePort ??= prev.spec.ports?.find((q) => q.port === p.port && q.protocol === p.protocol)?.nodePort;
      }
      svc.spec.healthCheckNodePort ??= prev.spec.healthCheckNodePort;
    }
    releaseService(prev, allocators);
    svc.metadata.uid = prev.metadata.uid;
    svc.metadata.creationTimestamp = prev.metadata.creationTimestamp;
  }
  allocateService(svc, allocators, mode);
  svc.metadata.uid ??= s.newUID();
  svc.metadata.creationTimestamp ??= timestamp(s.now);
  if (svc.spec.type === 'LoadBalancer' && !svc.status?.loadBalancer?.ingress?.length) {
    const hostname = prev?.status?.loadBalancer?.ingress?.[0]?.hostname ?? classicELBHostname(s, svc.metadata.uid, s.settings.resolved.region);
    svc.status = { loadBalancer: { ingress: [{ hostname }] } };
  }
  s.services.set(key, svc);
}

/**
 * The DNS name AWS gives the load balancer the in-tree cloud provider creates for a LoadBalancer Service:
 * `a` + the Service UID without dashes (32 characters) + `-` + digits + `.<region>.elb.amazonaws.com`.
 */
function classicELBHostname(s: ClusterState, uid: string, region: string): string {
  let digits = '';
  for (let i = 0; i < 10; i++) digits += String(s.random.intn(10));
  return `a${uid.replace(/-/g, '').slice(0, 32)}-${digits}.${region}.elb.amazonaws.com`;
}

/** Given EndpointSlices are observed state: they stand for their Service's endpoints instead of derived ones. */
function applyEndpointSlice(s: ClusterState, slice: EndpointSlice): void {
  const svc = sliceServiceKey(slice);
  if (!svc) {
    throw new KubeNetsimError('E_ENDPOINTSLICE_INVALID', `EndpointSlice ${nsOf(slice.metadata)}/${slice.metadata.name} has no kubernetes.io/service-name label, so no Service uses it`, {
      object: `EndpointSlice ${nsOf(slice.metadata)}/${slice.metadata.name}`,
      hint: 'add metadata.labels["kubernetes.io/service-name"] naming its Service',
    });
  }
  if (!s.observedSliceServices.has(svc)) {
    for (const [k, e] of s.endpointSlices) if (sliceServiceKey(e) === svc) s.endpointSlices.delete(k);
    s.observedSliceServices.add(svc);
  }
  const copy = structuredClone(slice);
  copy.metadata.namespace = nsOf(slice.metadata);
  copy.metadata.uid ??= s.newUID();
  s.endpointSlices.set(`${copy.metadata.namespace}/${copy.metadata.name}`, copy);
}

/**
 * A slice the EndpointSlice controller manages for a Service it manages: applying it would be undone by the
 * controller at once, so `apply` leaves it to the controller. (A dump read by `buildCluster` is observed state
 * instead: there, given slices stand for their Service.)
 */
function isControllerManaged(s: ClusterState, slice: EndpointSlice): boolean {
  const svcKey = sliceServiceKey(slice);
  const svc = svcKey ? s.services.get(svcKey) : undefined;
  return slice.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_CONTROLLER && svc !== undefined && hasManagedEndpoints(svc) && !s.observedSliceServices.has(svcKey!);
}

function validateWorkload(w: Workload): void {
  const object = `${w.kind} ${nsOf(w.metadata)}/${w.metadata.name}`;
  const fail = (message: string): never => {
    throw new KubeNetsimError('E_WORKLOAD_INVALID', `The ${w.kind} "${w.metadata.name}" is invalid: ${message}`, { object });
  };
  if (w.kind !== 'DaemonSet') {
    const r = w.spec.replicas;
    if (r !== undefined && (!Number.isInteger(r) || r < 0)) fail(`spec.replicas: Invalid value: ${r}: must be greater than or equal to 0`);
  }
  const sel = w.spec.selector;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) fail('spec.selector: Required value');
  if (!w.spec.template?.spec?.containers?.length) fail('spec.template.spec.containers: Required value');
  if (w.kind === 'Deployment' && w.spec.strategy) {
    const { type, rollingUpdate } = w.spec.strategy;
    if (type !== undefined && type !== 'RollingUpdate' && type !== 'Recreate') fail(`spec.strategy.type: Unsupported value: "${String(type)}": supported values: "Recreate", "RollingUpdate"`);
    if (type === 'Recreate' && rollingUpdate) fail("spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'");
    for (const field of ['maxSurge', 'maxUnavailable'] as const) {
      const v = rollingUpdate?.[field];
      if (v === undefined) continue;
      const ok = typeof v === 'number' ? Number.isInteger(v) && v >= 0 : /^\d+%$/.test(v) && (field === 'maxSurge' || Number(v.slice(0, -1)) <= 100);
      if (!ok) fail(`spec.strategy.rollingUpdate.${field}: Invalid value: ${JSON.stringify(v)}: must be a whole number ≥ 0 or a percentage such as "25%"`);
    }
  }
  if (!matchesLabelSelector(sel, w.spec.template.metadata?.labels)) {
    fail(`spec.template.metadata.labels: Invalid value: ${JSON.stringify(w.spec.template.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``);
  }
}

function applyWorkload<T extends Workload>(s: ClusterState, map: Map<string, T>, w: T): void {
  validateWorkload(w);
  const key = `${nsOf(w.metadata)}/${w.metadata.name}`;
  const prev = map.get(key);
  const next = structuredClone(w);
  next.metadata.namespace = nsOf(w.metadata);
  next.metadata.uid = prev?.metadata.uid ?? next.metadata.uid ?? s.newUID();
  next.metadata.creationTimestamp = prev?.metadata.creationTimestamp ?? next.metadata.creationTimestamp ?? timestamp(s.now);
  map.set(key, next);
}

/** Fields of a pod an update may change here: labels and annotations. */
function applyPodUpdate(prev: Pod, pod: Pod): void {
  const a = JSON.stringify(defaultPod(structuredClone(pod)).spec.containers);
  const b = JSON.stringify(prev.spec.containers);
  if (a !== b || (pod.spec.nodeName !== undefined && pod.spec.nodeName !== prev.spec.nodeName)) {
    throw new KubeNetsimError('E_POD_IMMUTABLE', `The Pod "${pod.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`, \`spec.activeDeadlineSeconds\`, \`spec.tolerations\` (only additions to existing tolerations), \`spec.terminationGracePeriodSeconds\``, {
      object: podName(prev),
      hint: 'delete the pod and create it again',
    });
  }
  prev.metadata.labels = { ...(pod.metadata.labels ?? {}) };
  if (pod.metadata.annotations) prev.metadata.annotations = { ...pod.metadata.annotations };
}

/**
 * A pod given with its status (a dump of a live cluster): a bound pod with an IP keeps it (claimed from the IPAM);
 * one without goes through the scheduler and kubelet like a new pod; a finished pod is kept as it is.
 */
function addObservedPod(s: ClusterState, given: Pod): void {
  const pod = defaultPod(structuredClone(given));
  const key = podKey(pod);
  const status = pod.status;
  const nodeName = pod.spec.nodeName;
  const phase = status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    pod.metadata.uid ??= s.newUID();
    s.pods.set(key, pod);
    s.podBookkeeping.set(key, { seq: s.nextSeq++ });
    return;
  }
  createPod(s, pod);
  if (given.metadata.deletionTimestamp) {
    // Caught terminating: it goes a grace period after the cluster starts.
    pod.metadata.deletionTimestamp = given.metadata.deletionTimestamp;
    s.podBookkeeping.get(key)!.removeAt = s.now + DEFAULT_GRACE_PERIOD_SECONDS;
  }
  const ip = status?.podIP;
  if (!nodeName || !ip) return;
  const network = s.ipam.node(nodeName);
  if (!network) {
    // Bound to a node the input does not have: kept as observed, outside any IPAM.
    pod.status = structuredClone(status);
    s.record('Warning', 'NodeNotFound', podName(pod), `node ${nodeName} is not in the input; the pod's IP ${ip} is kept as given`);
    return;
  }
  if (!pod.spec.hostNetwork) {
    const claim = s.ipam.claimPodIP(nodeName, key, ip);
    if (!claim.ok) s.record('Warning', 'IPClaimFailed', podName(pod), `${claim.message}; the pod's IP ${ip} is kept as given`);
  }
  markRunning(pod, status?.hostIP ?? network.internalIP, ip);
  if (status?.conditions?.some((c) => c.type === 'Ready' && c.status !== 'True')) pod.status!.conditions = structuredClone(status.conditions);
  if (phase === 'Pending' && status) pod.status = { ...structuredClone(status), hostIP: status.hostIP ?? network.internalIP, podIP: ip, podIPs: [{ ip }] };
}

function applyPod(s: ClusterState, given: Pod, mode: AllocationMode): void {
  const key = podKey(given);
  if (!given.spec?.containers?.length) {
    throw new KubeNetsimError('E_POD_INVALID', `The Pod "${given.metadata.name}" is invalid: spec.containers: Required value`, { object: podName(given) });
  }
  const prev = s.pods.get(key);
  if (prev) {
    applyPodUpdate(prev, given);
    return;
  }
  if (mode === 'observed') {
    addObservedPod(s, given);
    return;
  }
  const pod = structuredClone(given);
  delete pod.status;
  if (pod.spec.nodeName && !s.nodes.has(pod.spec.nodeName)) {
    throw new KubeNetsimError('E_NODE_NOT_FOUND', `nodes "${pod.spec.nodeName}" not found`, { object: podName(pod), hint: 'name an existing node in spec.nodeName, or leave it out for the scheduler' });
  }
  createPod(s, pod);
}

function kindOrder(o: KubeObject): number {
  const order = ['ClusterConfig', 'KubeProxyConfiguration', 'ENIConfig', 'Namespace', 'Node', 'Service', 'EndpointSlice', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Pod'];
  return order.indexOf(o.kind);
}

/**
 * A Service from a dump of a live cluster arrives with its ClusterIP set; its values are observed state. Without one,
 * the simulator allocates it, so a NodePort it asks for is checked like any request (unique whatever the protocol).
 */
function isObservedService(svc: Service): boolean {
  return Boolean(svc.spec?.clusterIP || svc.spec?.clusterIPs?.length);
}

/** Objects with values already set first (observed mode), so a dynamic pick never takes a value a later object holds. */
function holdsValues(svc: Service): boolean {
  return Boolean(svc.spec?.clusterIP || svc.spec?.clusterIPs?.length || svc.spec?.ports?.some((p) => p.nodePort) || svc.spec?.healthCheckNodePort);
}

/**
 * Creates or replaces `objects` in `s` by kind/namespace/name. `request`: as `kubectl apply` (namespaces must
 * exist or come in the same batch; requested ClusterIPs and NodePorts are validated). `observed`: as a dump of a
 * live cluster (missing namespaces are created; set ClusterIPs, NodePorts, pod IPs and statuses are kept).
 */
export function applyObjects(s: ClusterState, objects: readonly KubeObject[], mode: AllocationMode): void {
  s.actions++;
  // In observed mode, dumped Services sort first, then those requesting values, so a request never takes a value a
  // dump holds and a dynamic pick never takes a value a later object holds.
  const serviceRank = (svc: Service): number => (isObservedService(svc) ? 0 : holdsValues(svc) ? 1 : 2);
  const rank = (o: KubeObject): number => kindOrder(o) * 3 + (mode === 'observed' && o.kind === 'Service' ? serviceRank(o) : 0);
  const list = [...objects].sort((a, b) => rank(a) - rank(b));
  const newNamespaces = new Set(list.filter((o) => o.kind === 'Namespace').map((o) => (o as Namespace).metadata.name));
  for (const o of list) {
    const namespaced = !['Node', 'Namespace', 'ClusterConfig', 'KubeProxyConfiguration', 'ENIConfig'].includes(o.kind);
    const meta = 'metadata' in o ? (o.metadata as { name: string; namespace?: string }) : { name: o.kind };
    const ns = meta.namespace ?? 'default';
    if (namespaced && !s.namespaces.has(ns)) {
      if (mode === 'observed') ensureNamespace(s, ns);
      else if (!newNamespaces.has(ns)) {
        throw new KubeNetsimError('E_NAMESPACE_NOT_FOUND', `namespaces "${ns}" not found`, {
          object: `${o.kind} ${ns}/${meta.name}`,
          hint: `create the Namespace ${ns} first, or in the same apply`,
        });
      }
    }
    switch (o.kind) {
      case 'Namespace':
        applyNamespace(s, o);
        break;
      case 'Node':
        applyNode(s, o);
        break;
      case 'Service':
        applyService(s, o, mode === 'observed' && isObservedService(o) ? 'observed' : 'request');
        break;
      case 'EndpointSlice':
        if (mode === 'request' && isControllerManaged(s, o)) break;
        applyEndpointSlice(s, o);
        break;
      case 'Deployment':
        applyWorkload(s, s.deployments, o);
        break;
      case 'ReplicaSet':
        applyWorkload(s, s.replicaSets, o);
        break;
      case 'StatefulSet':
        applyWorkload(s, s.statefulSets, o);
        break;
      case 'DaemonSet':
        applyWorkload(s, s.daemonSets, o);
        break;
      case 'Pod':
        applyPod(s, o, mode);
        break;
      case 'KubeProxyConfiguration':
        s.settings.kubeProxyConfiguration = structuredClone(o);
        break;
      case 'ENIConfig':
        s.settings.eniConfigs = [...s.settings.eniConfigs.filter((e) => e.metadata.name !== o.metadata.name), structuredClone(o)];
        break;
      case 'ClusterConfig':
        // Re-applying the cluster's own ClusterConfig (as `apply(cluster.objects())` does) changes nothing.
        if (s.settings.clusterConfig && stableJSON(s.settings.clusterConfig) === stableJSON(o)) break;
        throw new KubeNetsimError('E_APPLY_UNSUPPORTED', 'A ClusterConfig is read when the cluster is built; its VPC and node groups cannot be changed by apply', {
          object: `ClusterConfig ${o.metadata.name}`,
          hint: 'build a new cluster from the changed input',
        });
    }
  }
}
