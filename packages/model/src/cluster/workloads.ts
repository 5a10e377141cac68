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
 * `intstr.GetScaledValueFromIntOrPercent`: a count, or a percentage of `total` rounded up (maxSurge) or down
 * (maxUnavailable).
 */
export function scaledValue(value: number | string | undefined, fallback: string, total: number, roundUp: boolean): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number.isInteger(Number(v)) ? Number(v) : 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** `ResolveFenceposts`: maxSurge and maxUnavailable as counts; both 0 would stall, so maxUnavailable becomes 1. */
export function rollingUpdateBounds(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  const ru = d.spec.strategy?.rollingUpdate;
  const maxSurge = scaledValue(ru?.maxSurge, '25%', replicas, true);
  let maxUnavailable = scaledValue(ru?.maxUnavailable, '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** `Scaled up replica set web-7d4b9c to 3 from 1`: sets `replicas` and records the Deployment's event. */
function scaleReplicaSet(s: ClusterState, d: Deployment, rs: ReplicaSet, replicas: number): void {
  const from = rs.spec.replicas ?? 1;
  if (from === replicas) return;
  rs.spec.replicas = replicas;
  s.actions++;
  const ns = d.metadata.namespace ?? 'default';
  s.record('Normal', 'ScalingReplicaSet', `Deployment ${ns}/${d.metadata.name}`, `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} to ${replicas} from ${from}`);
}

/**
 * Deployment → ReplicaSet `<name>-<pod-template-hash>`. A changed template gets a new ReplicaSet and the rollout
 * follows the strategy as the deployment controller does: RollingUpdate scales the new ReplicaSet up within
 * `replicas + maxSurge` pods and the old ones down while at least `replicas - maxUnavailable` pods are available
 * (Ready, not terminating) — unhealthy old pods first —; Recreate scales the old ones to 0 and starts the new one
 * once their pods are gone.
 */
export function reconcileDeployment(s: ClusterState, index: PodIndex, replicaSetsByOwner: Map<string, ReplicaSet[]>, d: Deployment): void {
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
    s.actions++;
    owned.push(current);
  }
  const newRS = current;
  const revision = (rs: ReplicaSet): number => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  // Oldest first, as the controller scales old ReplicaSets down.
  const olds = owned.filter((rs) => rs !== newRS).sort((a, b) => revision(a) - revision(b));
  const replicas = d.spec.replicas ?? 1;
  const podsOf = (rs: ReplicaSet): Pod[] =>
    (index.byOwner.get(ownerKey(ns, 'ReplicaSet', rs.metadata.name)) ?? []).filter((p) => s.pods.get(`${ns}/${p.metadata.name}`) === p);
  const available = (rs: ReplicaSet): number => active(podsOf(rs)).filter(isPodReady).length;
  const size = (rs: ReplicaSet): number => rs.spec.replicas ?? 1;

  if (d.spec.strategy?.type === 'Recreate') {
    for (const rs of olds) scaleReplicaSet(s, d, rs, 0);
    if (olds.every((rs) => podsOf(rs).every(isPodFinished))) scaleReplicaSet(s, d, newRS, replicas);
    return;
  }
  const { maxSurge, maxUnavailable } = rollingUpdateBounds(d);
  // Scale the new ReplicaSet up, within replicas + maxSurge pods in all.
  if (size(newRS) > replicas) scaleReplicaSet(s, d, newRS, replicas);
  else {
    const total = owned.reduce((n, rs) => n + size(rs), 0);
    const up = Math.min(replicas + maxSurge - total, replicas - size(newRS));
    if (up > 0) scaleReplicaSet(s, d, newRS, size(newRS) + up);
  }
  // Scale old ReplicaSets down while replicas - maxUnavailable pods stay available.
  if (olds.every((rs) => size(rs) === 0)) return;
  const minAvailable = replicas - maxUnavailable;
  const all = owned.reduce((n, rs) => n + size(rs), 0);
  let room = all - minAvailable - (size(newRS) - available(newRS));
  if (room <= 0) return;
  for (const rs of olds) {
    const unhealthy = Math.min(room, size(rs) - available(rs));
    if (unhealthy <= 0) continue;
    scaleReplicaSet(s, d, rs, size(rs) - unhealthy);
    room -= unhealthy;
  }
  const availableNow = owned.reduce((n, rs) => n + available(rs), 0);
  let down = availableNow - minAvailable;
  for (const rs of olds) {
    if (down <= 0) break;
    const by = Math.min(size(rs), down);
    if (by <= 0) continue;
    scaleReplicaSet(s, d, rs, size(rs) - by);
    down -= by;
  }
}

/** ReplicaSet: creates `<rs>-<5 random>` pods up to `replicas`, deletes the surplus. */
export function reconcileReplicaSet(s: ClusterState, index: PodIndex, rs: ReplicaSet): void {
  const ns = rs.metadata.namespace ?? 'default';
  const owned = ownedPods(s, index, rs);
  const live = active(owned);
  const want = rs.spec.replicas ?? 1;
  // A pod the kubelet just rejected is replaced on a later tick (the real controller backs off), not in a loop.
  const justRejected = owned.some((p) => s.podBookkeeping.get(`${ns}/${p.metadata.name}`)?.rejectedAt === s.now);
  for (let i = live.length; i < (justRejected ? 0 : want); i++) {
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
