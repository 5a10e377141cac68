import type { DaemonSet, Deployment, OwnerReference, Pod, PodTemplateSpec, ReplicaSet, StatefulSet, Toleration } from '../api/index.js';
import { type ClusterState, timestamp } from './cluster-state.js';
import { firstUntoleratedTaint, matchesLabelSelector, matchesSelector } from './labels.js';
import { podTemplateHash, randomNameSuffix, stableJSON } from './names.js';
import { createPod, terminatePod } from './pod-lifecycle.js';
import { type PodIndex, controllerOf, ownerKey } from './pod-index.js';
import { isPodFinished, isPodReady, isPodTerminating } from './pods.js';

type Owner = Deployment | ReplicaSet | StatefulSet | DaemonSet;

function ownerRef(owner: Owner): OwnerReference {
  return { apiVersion: 'apps/v1', kind: owner.kind, name: owner.metadata.name, ...(owner.metadata.uid ? { uid: owner.metadata.uid } : {}), controller: true };
}

function isOwnedBy(meta: { namespace?: string; ownerReferences?: OwnerReference[] }, owner: Owner): boolean {
  const ref = controllerOf(meta);
  return ref !== undefined && ref.kind === owner.kind && ref.name === owner.metadata.name && (meta.namespace ?? 'default') === (owner.metadata.namespace ?? 'default');
}

/** Pods the controller owns; orphans matching its selector are adopted, as the real controllers adopt them. */
function ownedPods(s: ClusterState, index: PodIndex, owner: Owner): Pod[] {
  const ns = owner.metadata.namespace ?? 'default';
  const alive = (p: Pod): boolean => s.pods.get(`${ns}/${p.metadata.name}`) === p;
  const out = (index.byOwner.get(ownerKey(ns, owner.kind, owner.metadata.name)) ?? []).filter((p) => alive(p) && isOwnedBy(p.metadata, owner));
  for (const pod of index.orphans.get(ns) ?? []) {
    if (alive(pod) && !controllerOf(pod.metadata) && matchesLabelSelector(owner.spec.selector, pod.metadata.labels)) {
      pod.metadata.ownerReferences = [ownerRef(owner)];
      out.push(pod);
    }
  }
  return out;
}

function newPodFromTemplate(owner: Owner, name: string, template: PodTemplateSpec, extraLabels: Record<string, string> = {}): Pod {
  const t = structuredClone(template);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace ?? 'default',
      labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec: t.spec,
  };
}

function uniquePodName(s: ClusterState, namespace: string, base: string): string {
  for (;;) {
    const name = `${base.slice(0, 58)}-${randomNameSuffix(s.random)}`;
    if (!s.pods.has(`${namespace}/${name}`)) return name;
  }
}

/** Live pods (not being deleted, not finished): what a controller counts toward its replicas. */
function active(pods: Pod[]): Pod[] {
  return pods.filter((p) => !isPodTerminating(p) && !isPodFinished(p));
}

/**
 * The ReplicaSet controller's order for scale-down (`ActivePodsWithRanks`, simplified): unscheduled before
 * scheduled, pending before running, not ready before ready, then the newest first.
 */
function deletionOrder(s: ClusterState, pods: Pod[]): Pod[] {
  const rank = (p: Pod): number[] => [
    p.spec.nodeName ? 1 : 0,
    p.status?.podIP ? 1 : 0,
    isPodReady(p) ? 1 : 0,
    -(s.podBookkeeping.get(`${p.metadata.namespace}/${p.metadata.name}`)?.seq ?? 0),
  ];
  return [...pods].sort((a, b) => {
    const x = rank(a);
    const y = rank(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return a.metadata.name < b.metadata.name ? 1 : -1;
  });
}

/** ReplicaSets by their controller (`ns/Deployment/name`), for the Deployment controller. */
export function replicaSetsByOwner(s: ClusterState): Map<string, ReplicaSet[]> {
  const out = new Map<string, ReplicaSet[]>();
  for (const rs of s.replicaSets.values()) {
    const ref = controllerOf(rs.metadata);
    if (!ref) continue;
    const key = ownerKey(rs.metadata.namespace ?? 'default', ref.kind, ref.name);
    out.set(key, [...(out.get(key) ?? []), rs]);
  }
  return out;
}

/** Templates are compared often and change rarely: their text is kept per template object. */
const templateText = new WeakMap<PodTemplateSpec, string>();

function withoutHashLabel(template: PodTemplateSpec): string {
  let text = templateText.get(template);
  if (text === undefined) {
    const t = structuredClone(template);
    if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
    text = stableJSON(t);
    templateText.set(template, text);
  }
  return text;
}

/**
 * Deployment → ReplicaSet `<name>-<pod-template-hash>`. A changed template gets a new ReplicaSet at full scale and
 * the old ones go to 0 at once (the real rolling update steps through maxSurge/maxUnavailable).
 */
export function reconcileDeployment(s: ClusterState, replicaSetsByOwner: Map<string, ReplicaSet[]>, d: Deployment): void {
  const ns = d.metadata.namespace ?? 'default';
  const owned = (replicaSetsByOwner.get(ownerKey(ns, 'Deployment', d.metadata.name)) ?? []).filter((rs) => isOwnedBy(rs.metadata, d));
  const wanted = withoutHashLabel(d.spec.template);
  let current = owned.find((rs) => withoutHashLabel(rs.spec.template) === wanted);
  if (!current) {
    let collision = 0;
    let hash = podTemplateHash(d.spec.template, collision);
    while (s.replicaSets.has(`${ns}/${d.metadata.name}-${hash}`)) hash = podTemplateHash(d.spec.template, ++collision);
    const template = structuredClone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } };
    const revision = 1 + Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)));
    current = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        uid: s.newUID(),
        creationTimestamp: timestamp(s.now),
        labels: { ...(d.spec.template.metadata?.labels ?? {}), 'pod-template-hash': hash },
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
        ownerReferences: [ownerRef(d)],
      },
      spec: {
        replicas: 0,
        selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), 'pod-template-hash': hash } },
        template,
      },
    };
    s.replicaSets.set(`${ns}/${current.metadata.name}`, current);
    s.record('Normal', 'ScalingReplicaSet', `Deployment ${ns}/${d.metadata.name}`, `Scaled up replica set ${current.metadata.name} from 0 to ${d.spec.replicas ?? 1}`);
  }
  for (const rs of owned) if (rs !== current && rs.spec.replicas !== 0) rs.spec.replicas = 0;
  current.spec.replicas = d.spec.replicas ?? 1;
}

/** ReplicaSet: creates `<rs>-<5 random>` pods up to `replicas`, deletes the surplus. */
export function reconcileReplicaSet(s: ClusterState, index: PodIndex, rs: ReplicaSet): void {
  const ns = rs.metadata.namespace ?? 'default';
  const live = active(ownedPods(s, index, rs));
  const want = rs.spec.replicas ?? 1;
  for (let i = live.length; i < want; i++) {
    const name = uniquePodName(s, ns, rs.metadata.name);
    createPod(s, newPodFromTemplate(rs, name, rs.spec.template));
    s.record('Normal', 'SuccessfulCreate', `ReplicaSet ${ns}/${rs.metadata.name}`, `Created pod: ${name}`);
  }
  const surplus = live.length - want;
  for (const pod of surplus > 0 ? deletionOrder(s, live).slice(0, surplus) : []) {
    terminatePod(s, pod);
    s.record('Normal', 'SuccessfulDelete', `ReplicaSet ${ns}/${rs.metadata.name}`, `Deleted pod: ${pod.metadata.name}`);
  }
}

/**
 * StatefulSet: pods `<name>-0` … `<name>-(n-1)` with hostname = pod name and subdomain = `serviceName`.
 * `OrderedReady` (the default) creates the lowest missing ordinal only when every lower one is Running and Ready,
 * and removes the highest surplus ordinal only when no other pod of the set is terminating — one at a time;
 * `Parallel` creates and removes them all at once. An ordinal whose old pod is still terminating waits for it.
 */
export function reconcileStatefulSet(s: ClusterState, index: PodIndex, ss: StatefulSet): void {
  const ns = ss.metadata.namespace ?? 'default';
  const want = ss.spec.replicas ?? 1;
  const ordered = (ss.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const revision = `${ss.metadata.name}-${podTemplateHash(ss.spec.template)}`;
  for (let i = 0; i < want; i++) {
    const name = `${ss.metadata.name}-${i}`;
    const existing = s.pods.get(`${ns}/${name}`);
    if (existing) {
      if (!controllerOf(existing.metadata)) existing.metadata.ownerReferences = [ownerRef(ss)];
      if (ordered && (!isPodReady(existing) || isPodTerminating(existing))) break;
      continue;
    }
    const pod = newPodFromTemplate(ss, name, ss.spec.template, {
      'statefulset.kubernetes.io/pod-name': name,
      'apps.kubernetes.io/pod-index': String(i),
      'controller-revision-hash': revision,
    });
    pod.spec.hostname = name;
    if (ss.spec.serviceName) pod.spec.subdomain = ss.spec.serviceName;
    createPod(s, pod);
    s.record('Normal', 'SuccessfulCreate', `StatefulSet ${ns}/${ss.metadata.name}`, `create Pod ${name} in StatefulSet ${ss.metadata.name} successful`);
    if (ordered) break;
  }
  const ordinal = new RegExp(`^${ss.metadata.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`);
  const owned = ownedPods(s, index, ss);
  const condemned = active(owned)
    .map((pod) => ({ pod, n: Number(ordinal.exec(pod.metadata.name)?.[1] ?? -1) }))
    .filter(({ n }) => n >= want)
    .sort((a, b) => b.n - a.n);
  if (ordered && owned.some(isPodTerminating)) return;
  for (const { pod } of ordered ? condemned.slice(0, 1) : condemned) {
    terminatePod(s, pod);
    s.record('Normal', 'SuccessfulDelete', `StatefulSet ${ns}/${ss.metadata.name}`, `delete Pod ${pod.metadata.name} in StatefulSet ${ss.metadata.name} successful`);
  }
}

/** Tolerations the DaemonSet controller adds to its pods, so they run on not-ready and cordoned nodes. */
export const DAEMONSET_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * DaemonSet: one pod `<name>-<5 random>` per node whose labels match the template's nodeSelector and whose
 * NoSchedule/NoExecute taints it tolerates; the pod is pinned to its node and still goes through the scheduler
 * (so a full node leaves it Pending with "Too many pods").
 */
export function reconcileDaemonSet(s: ClusterState, index: PodIndex, ds: DaemonSet): void {
  const ns = ds.metadata.namespace ?? 'default';
  const spec = ds.spec.template.spec;
  const tolerations = [...(spec.tolerations ?? []), ...DAEMONSET_TOLERATIONS];
  const pods = active(ownedPods(s, index, ds));
  const nodeOf = (p: Pod): string | undefined => p.spec.nodeName ?? s.podBookkeeping.get(`${ns}/${p.metadata.name}`)?.pinnedNode;
  const eligible = new Set<string>();
  for (const node of s.nodes.values()) {
    if (!matchesSelector(spec.nodeSelector ?? {}, node.metadata.labels)) continue;
    if (firstUntoleratedTaint(node.spec?.taints, tolerations)) continue;
    eligible.add(node.metadata.name);
  }
  for (const nodeName of [...eligible].sort()) {
    if (pods.some((p) => nodeOf(p) === nodeName)) continue;
    const pod = newPodFromTemplate(ds, uniquePodName(s, ns, ds.metadata.name), ds.spec.template, {
      'controller-revision-hash': podTemplateHash(ds.spec.template),
      'pod-template-generation': '1',
    });
    pod.spec.tolerations = tolerations;
    createPod(s, pod, nodeName);
    s.record('Normal', 'SuccessfulCreate', `DaemonSet ${ns}/${ds.metadata.name}`, `Created pod: ${pod.metadata.name}`);
  }
  for (const pod of pods) {
    const n = nodeOf(pod);
    if (n === undefined || !eligible.has(n) || pods.find((p) => nodeOf(p) === n) !== pod) {
      terminatePod(s, pod);
      s.record('Normal', 'SuccessfulDelete', `DaemonSet ${ns}/${ds.metadata.name}`, `Deleted pod: ${pod.metadata.name}`);
    }
  }
}
