import type { ClusterState } from './cluster-state.js';
import { type EndpointSliceContext, deriveEndpointSlices, hasManagedEndpoints, sliceServiceKey } from './endpoint-slices.js';
import { PodIndex } from './pod-index.js';
import { collectTerminated, evictForNoExecuteTaints, runKubelets, runScheduler } from './pod-lifecycle.js';
import { reconcileDaemonSet, reconcileDeployment, replicaSetsByOwner, reconcileReplicaSet, reconcileStatefulSet } from './workloads.js';

/** Bound on controller passes in one instant (a StatefulSet of n pods takes about n under OrderedReady). */
const MAX_PASSES = 1000;

/** ipamd's reconcile period and the simulator's tick: simulated seconds. */
export const TICK_SECONDS = 5;
/** The longest a settle may run: 10 simulated minutes. */
const SETTLE_MAX_TICKS = 120;
/** A settle stops after this many ticks in a row in which no waiting pod made progress (30 s: ipamd acts within a tick). */
const SETTLE_IDLE_TICKS = 6;
/** At most this many ticks (30 s) for the IPAM to reach its warm targets after a change. */
const IPAM_WARMUP_TICKS = 6;

function sorted<T>(map: Map<string, T>): T[] {
  return [...map.keys()].sort().map((k) => map.get(k)!);
}

/**
 * The EndpointSlice controller over every Service it manages (given slices are left as they are). It runs only when
 * something happened since its last run ({@link ClusterState.actions}).
 */
export function reconcileEndpointSlices(s: ClusterState): void {
  if (s.endpointsSyncedAt === s.actions) return;
  s.endpointsSyncedAt = s.actions;
  const byService = new Map<string, string[]>();
  for (const [key, slice] of s.endpointSlices) {
    const svc = sliceServiceKey(slice);
    if (svc) byService.set(svc, [...(byService.get(svc) ?? []), key]);
  }
  const taken = new Map<string, Set<string>>();
  for (const e of s.endpointSlices.values()) {
    const ns = e.metadata.namespace ?? 'default';
    if (!taken.has(ns)) taken.set(ns, new Set());
    taken.get(ns)!.add(e.metadata.name);
  }
  const index = new PodIndex(s.pods.values());
  for (const [svcKey, svc] of [...s.services].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (s.observedSliceServices.has(svcKey)) continue;
    const keys = byService.get(svcKey) ?? [];
    const existing = keys.map((k) => s.endpointSlices.get(k)!);
    for (const k of keys) s.endpointSlices.delete(k);
    if (!hasManagedEndpoints(svc)) continue;
    const ns = svc.metadata.namespace ?? 'default';
    if (!taken.has(ns)) taken.set(ns, new Set());
    const namesInNs = taken.get(ns)!;
    const ctx: EndpointSliceContext = {
      nodeZone: (n) => s.nodes.get(n)?.metadata.labels?.['topology.kubernetes.io/zone'],
      random: s.random,
      takenNames: namesInNs,
    };
    for (const slice of deriveEndpointSlices(svc, index.candidates(ns, svc.spec.selector ?? {}), existing, ctx)) {
      const prev = existing.find((e) => e.metadata.name === slice.metadata.name);
      slice.metadata.uid = prev?.metadata.uid ?? s.newUID();
      s.endpointSlices.set(`${ns}/${slice.metadata.name}`, slice);
      namesInNs.add(slice.metadata.name);
    }
  }
  // Slices of Services that no longer exist go with them (garbage collection through the owner reference).
  for (const [key, slice] of s.endpointSlices) {
    const svc = sliceServiceKey(slice);
    if (svc && !s.services.has(svc) && !s.observedSliceServices.has(svc)) s.endpointSlices.delete(key);
  }
}

/**
 * Every controller at the current instant — Deployments, ReplicaSets, StatefulSets, DaemonSets, the scheduler, the
 * kubelets — repeated until a pass does nothing (a rollout step or a StatefulSet's next ordinal waits for pods to be
 * Ready, which happens in the same instant when they can start), then the EndpointSlice controller.
 * True when a pod changed state.
 */
export function reconcile(s: ClusterState): boolean {
  let any = false;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = s.actions;
    evictForNoExecuteTaints(s);
    const index = new PodIndex(s.pods.values());
    const byOwner = replicaSetsByOwner(s);
    for (const d of sorted(s.deployments)) reconcileDeployment(s, index, byOwner, d);
    for (const rs of sorted(s.replicaSets)) reconcileReplicaSet(s, index, rs);
    for (const ss of sorted(s.statefulSets)) reconcileStatefulSet(s, index, ss);
    for (const ds of sorted(s.daemonSets)) reconcileDaemonSet(s, index, ds);
    const scheduled = runScheduler(s);
    const started = runKubelets(s);
    any ||= scheduled || started;
    if (s.actions === before) break;
  }
  reconcileEndpointSlices(s);
  return any;
}

/** Advances simulated time by one tick: the IPAM's clock, terminations, then every controller. */
export function tick(s: ClusterState, seconds = TICK_SECONDS): boolean {
  s.now += seconds;
  s.ipam.advance(seconds);
  const removed = collectTerminated(s);
  return reconcile(s) || removed;
}

/** Runs `seconds` of simulated time in ticks of at most {@link TICK_SECONDS}. */
export function advanceTime(s: ClusterState, seconds: number): void {
  if (seconds === 0) {
    reconcile(s);
    return;
  }
  let left = seconds;
  while (left > 0) {
    const step = Math.min(TICK_SECONDS, left);
    tick(s, step);
    left -= step;
  }
}

function waitingPods(s: ClusterState): number {
  let n = 0;
  for (const pod of s.pods.values()) if (pod.status?.phase === 'Pending' && pod.metadata.deletionTimestamp === undefined) n++;
  return n;
}

function terminating(s: ClusterState): boolean {
  for (const pod of s.pods.values()) if (pod.metadata.deletionTimestamp !== undefined) return true;
  return false;
}

/**
 * True when time alone may still move a waiting pod: one waits for a sandbox (the IPAM may free or attach
 * addresses), or one waits for a node while a terminating pod will free a slot.
 */
function canProgress(s: ClusterState): boolean {
  let unscheduled = false;
  let terminating = false;
  for (const pod of s.pods.values()) {
    if (pod.metadata.deletionTimestamp !== undefined) terminating = true;
    else if (pod.status?.phase === 'Pending' && pod.spec.nodeName) return true;
    else if (pod.status?.phase === 'Pending') unscheduled = true;
  }
  return unscheduled && terminating;
}

/**
 * Reconciles, then lets time run while pods are still Pending or ContainerCreating and something can still move
 * (ipamd attaching an ENI, a terminating pod freeing a slot), so the cluster shows its steady state.
 */
export function settle(s: ClusterState): void {
  reconcile(s);
  let idle = 0;
  for (let i = 0; i < SETTLE_MAX_TICKS && canProgress(s) && idle < SETTLE_IDLE_TICKS; i++) {
    const before = waitingPods(s);
    const changed = tick(s);
    // Waiting for a grace period to end is not idling: its end is certain.
    idle = changed || waitingPods(s) < before || terminating(s) ? 0 : idle + 1;
  }
  // Let the IPAM refill its warm pools (ipamd's next ticks), as a user looking a few seconds later would see.
  for (let i = 0; i < IPAM_WARMUP_TICKS && s.ipam.pending?.(); i++) tick(s);
}
