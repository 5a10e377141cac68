import type { Node, Pod, Protocol } from '../api/index.js';
import { firstUntoleratedTaint, matchesSelector, toleratesTaint } from './labels.js';

/**
 * A node as the scheduler sees it: the Node, its pod capacity, how many pods hold a place on it (terminating
 * ones included, finished ones not) and the host ports they occupy. {@link bindPod} updates it.
 */
export interface SchedulingNode {
  node: Node;
  maxPods: number;
  podCount: number;
  hostPorts: HostPortUse[];
}

/** The scheduler's view of a node from the pods bound to it. */
export function schedulingNode(node: Node, maxPods: number, pods: readonly Pod[]): SchedulingNode {
  const placed = pods.filter(occupiesNode);
  return { node, maxPods, podCount: placed.length, hostPorts: placed.flatMap(podHostPorts) };
}

/** Accounts a pod just bound to `n`. */
export function bindPod(n: SchedulingNode, pod: Pod): void {
  n.podCount++;
  n.hostPorts.push(...podHostPorts(pod));
}

export type ScheduleResult = { ok: true; nodeName: string } | { ok: false; message: string };

/** The scheduler's filter reasons, worded as the in-tree plugins word them. */
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const REASON_HOST_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const REASON_NODE_SELECTOR = "node(s) didn't match Pod's node affinity/selector";
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';

/** A host port a pod occupies on its node: `hostNetwork` pods occupy every container port. */
export interface HostPortUse {
  hostIP: string;
  protocol: Protocol;
  port: number;
}

/** The host ports `pod` needs (`hostPort`s; for hostNetwork pods the API server defaults hostPort to containerPort). */
export function podHostPorts(pod: Pod): HostPortUse[] {
  const out: HostPortUse[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      const port = p.hostPort ?? (pod.spec.hostNetwork ? p.containerPort : undefined);
      if (port) out.push({ hostIP: p.hostIP || '0.0.0.0', protocol: p.protocol ?? 'TCP', port });
    }
  }
  return out;
}

/** Two host-port uses conflict on one node when protocol and port match and either binds every address. */
export function hostPortsConflict(a: HostPortUse, b: HostPortUse): boolean {
  return a.protocol === b.protocol && a.port === b.port && (a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0' || a.hostIP === b.hostIP);
}

/** Pods that still hold a place on their node (a finished pod frees its slot). */
export function occupiesNode(pod: Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

type Verdict = { fits: true } | { fits: false; reason: string; resolvable: boolean };

/** The default profile's filters in their order; the first that fails names the node's reason. */
function filter(pod: Pod, n: SchedulingNode, pinnedNode: string | undefined): Verdict {
  const { node } = n;
  const tolerations = pod.spec.tolerations ?? [];
  if (node.spec?.unschedulable && !tolerations.some((t) => toleratesTaint(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))) {
    return { fits: false, reason: REASON_UNSCHEDULABLE, resolvable: false };
  }
  const taint = firstUntoleratedTaint(node.spec?.taints, tolerations);
  if (taint) return { fits: false, reason: `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`, resolvable: false };
  if ((pinnedNode !== undefined && pinnedNode !== node.metadata.name) || !matchesSelector(pod.spec.nodeSelector ?? {}, node.metadata.labels)) {
    return { fits: false, reason: REASON_NODE_SELECTOR, resolvable: false };
  }
  const wanted = podHostPorts(pod);
  if (wanted.length > 0 && wanted.some((w) => n.hostPorts.some((u) => hostPortsConflict(w, u)))) {
    return { fits: false, reason: REASON_HOST_PORTS, resolvable: true };
  }
  if (n.podCount + 1 > n.maxPods) return { fits: false, reason: REASON_TOO_MANY_PODS, resolvable: true };
  return { fits: true };
}

/** `"<count> <reason>"` entries, sorted as text the way the scheduler sorts its histogram. */
function histogram(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, c]) => `${c} ${r}`).sort().join(', ');
}

/**
 * Picks a node for `pod` as kube-scheduler's default profile filters (NodeUnschedulable, TaintToleration,
 * NodeAffinity/nodeSelector, NodePorts, NodeResourcesFit's pod count), or the FitError message it would report.
 * Scoring is simplified: the feasible node with the fewest pods wins, ties by name (the real scorers spread by
 * requested CPU/memory — equal for request-less pods —, topology spread and image locality).
 * `pinnedNode` is a DaemonSet pod's node (its required node affinity on `metadata.name`).
 */
export function schedulePod(pod: Pod, nodes: readonly SchedulingNode[], pinnedNode?: string): ScheduleResult {
  let best: SchedulingNode | undefined;
  const failed: { reason: string; resolvable: boolean }[] = [];
  for (const n of nodes) {
    const v = filter(pod, n, pinnedNode);
    if (!v.fits) {
      failed.push(v);
      continue;
    }
    if (!best || n.podCount < best.podCount || (n.podCount === best.podCount && n.node.metadata.name < best.node.metadata.name)) best = n;
  }
  if (best) return { ok: true, nodeName: best.node.metadata.name };
  const total = nodes.length;
  if (total === 0) return { ok: false, message: 'no nodes available to schedule pods' };
  const filterMsg = histogram(failed.map((f) => f.reason));
  const preemption = histogram(failed.map((f) => (f.resolvable ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling')));
  return { ok: false, message: `0/${total} nodes are available: ${filterMsg}. preemption: 0/${total} nodes are available: ${preemption}.` };
}
