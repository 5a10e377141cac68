import type { Pod, PodCondition } from '../api/index.js';
import { type ClusterState, timestamp } from './cluster-state.js';
import { firstUntoleratedTaint } from './labels.js';
import { podKey, podName } from './pods.js';
import { type SchedulingNode, bindPod, occupiesNode, schedulePod, schedulingNode } from './scheduler.js';

/** The kubelet's default `terminationGracePeriodSeconds`. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

/** The API server's defaults for a new pod: namespace, dnsPolicy, port protocols, hostNetwork host ports. */
export function defaultPod(pod: Pod): Pod {
  pod.metadata.namespace ??= 'default';
  pod.spec.dnsPolicy ??= 'ClusterFirst';
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      p.protocol ??= 'TCP';
      if (pod.spec.hostNetwork && !p.hostPort) p.hostPort = p.containerPort;
    }
  }
  return pod;
}

/** Adds a new pod (status Pending); `pinnedNode` for a DaemonSet pod. */
export function createPod(s: ClusterState, pod: Pod, pinnedNode?: string): void {
  defaultPod(pod);
  pod.metadata.uid ??= s.newUID();
  pod.metadata.creationTimestamp ??= timestamp(s.now);
  pod.status = { phase: 'Pending' };
  s.pods.set(podKey(pod), pod);
  s.podBookkeeping.set(podKey(pod), { seq: s.nextSeq++, ...(pinnedNode !== undefined ? { pinnedNode } : {}) });
  s.actions++;
}

/**
 * Starts deleting a pod: it keeps its IP and node for the grace period, marked with `deletionTimestamp` (endpoints
 * show it terminating), then goes. A pod no kubelet runs yet (unscheduled or without a sandbox) goes at once.
 */
export function terminatePod(s: ClusterState, pod: Pod, gracePeriodSeconds = DEFAULT_GRACE_PERIOD_SECONDS): void {
  const key = podKey(pod);
  if (pod.metadata.deletionTimestamp !== undefined) {
    // Deleting again with a shorter grace period brings the end forward, as the API server does.
    const book = s.podBookkeeping.get(key);
    if (gracePeriodSeconds === 0) removePod(s, pod);
    else if (book && (book.removeAt ?? Infinity) > s.now + gracePeriodSeconds) {
      book.removeAt = s.now + gracePeriodSeconds;
      pod.metadata.deletionTimestamp = timestamp(book.removeAt);
    }
    return;
  }
  if (gracePeriodSeconds === 0 || !pod.spec.nodeName || !pod.status?.podIP) {
    removePod(s, pod);
    return;
  }
  pod.metadata.deletionTimestamp = timestamp(s.now + gracePeriodSeconds);
  s.actions++;
  const book = s.podBookkeeping.get(key) ?? { seq: s.nextSeq++ };
  book.removeAt = s.now + gracePeriodSeconds;
  s.podBookkeeping.set(key, book);
  for (const c of pod.spec.containers) s.record('Normal', 'Killing', podName(pod), `Stopping container ${c.name}`);
}

/** Removes a pod; its IP goes back to the IPAM (which applies its own cooldown before reuse). */
export function removePod(s: ClusterState, pod: Pod): void {
  const key = podKey(pod);
  if (pod.spec.nodeName && pod.status?.podIP && !pod.spec.hostNetwork) s.ipam.releasePodIP(pod.spec.nodeName, key);
  s.pods.delete(key);
  s.podBookkeeping.delete(key);
  s.capacityGeneration++;
  s.actions++;
}

/**
 * The taint eviction controller: a pod on a node with a NoExecute taint it does not tolerate is deleted
 * (`tolerationSeconds` is not modelled: eviction is immediate).
 */
export function evictForNoExecuteTaints(s: ClusterState): void {
  for (const pod of s.pods.values()) {
    if (!pod.spec.nodeName || pod.metadata.deletionTimestamp !== undefined || !occupiesNode(pod)) continue;
    const taints = s.nodes.get(pod.spec.nodeName)?.spec?.taints?.filter((t) => t.effect === 'NoExecute');
    if (!taints?.length || !firstUntoleratedTaint(taints, pod.spec.tolerations)) continue;
    s.record('Normal', 'TaintManagerEviction', podName(pod), `Marking for deletion Pod ${podKey(pod)}`);
    terminatePod(s, pod);
  }
}

/** Removes the terminating pods whose grace period has run out. */
export function collectTerminated(s: ClusterState): boolean {
  let changed = false;
  for (const [key, book] of s.podBookkeeping) {
    if (book.removeAt === undefined || book.removeAt > s.now) continue;
    const pod = s.pods.get(key);
    if (pod) removePod(s, pod);
    changed = true;
  }
  return changed;
}

function setCondition(pod: Pod, condition: PodCondition): void {
  const status = (pod.status ??= {});
  const list = (status.conditions ??= []);
  const i = list.findIndex((c) => c.type === condition.type);
  if (i >= 0) list[i] = condition;
  else list.push(condition);
}

/** Every condition of a pod whose sandbox is up and whose declared containers are taken as started and ready. */
export function markRunning(pod: Pod, hostIP: string, podIP: string): void {
  pod.status = { phase: 'Running', hostIP, podIP, podIPs: [{ ip: podIP }] };
  for (const type of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'] as const) {
    setCondition(pod, { type, status: 'True' });
  }
}

function schedulingNodes(s: ClusterState): SchedulingNode[] {
  const byNode = new Map<string, Pod[]>();
  for (const pod of s.pods.values()) {
    if (!pod.spec.nodeName || !occupiesNode(pod)) continue;
    const list = byNode.get(pod.spec.nodeName);
    if (list) list.push(pod);
    else byNode.set(pod.spec.nodeName, [pod]);
  }
  return [...s.nodes.values()]
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))
    .map((node) => schedulingNode(node, nodeMaxPods(s, node.metadata.name), byNode.get(node.metadata.name) ?? []));
}

/** The node's pod capacity: `status.capacity.pods` (the builder writes the node group's or the IPAM's value there). */
export function nodeMaxPods(s: ClusterState, nodeName: string): number {
  const text = s.nodes.get(nodeName)?.status?.capacity?.pods;
  const n = text === undefined ? NaN : Number(text);
  return Number.isFinite(n) ? n : (s.ipam.node(nodeName)?.defaultMaxPods ?? 110);
}

/** kube-scheduler: binds pending pods oldest first; a pod that fits nowhere gets the FitError message. */
export function runScheduler(s: ClusterState): boolean {
  const pending = [...s.pods.values()]
    .filter((p) => !p.spec.nodeName && p.metadata.deletionTimestamp === undefined && occupiesNode(p))
    .filter((p) => s.podBookkeeping.get(podKey(p))?.unschedulableAt !== s.capacityGeneration)
    .sort((a, b) => (s.podBookkeeping.get(podKey(a))?.seq ?? 0) - (s.podBookkeeping.get(podKey(b))?.seq ?? 0));
  if (pending.length === 0) return false;
  const nodes = schedulingNodes(s);
  let changed = false;
  for (const pod of pending) {
    const book = s.podBookkeeping.get(podKey(pod));
    const result = schedulePod(pod, nodes, book?.pinnedNode);
    if (book) {
      if (result.ok) delete book.unschedulableAt;
      else book.unschedulableAt = s.capacityGeneration;
    }
    if (result.ok) {
      pod.spec.nodeName = result.nodeName;
      pod.status = { phase: 'Pending' };
      setCondition(pod, { type: 'PodScheduled', status: 'True' });
      bindPod(nodes.find((x) => x.node.metadata.name === result.nodeName)!, pod);
      s.record('Normal', 'Scheduled', podName(pod), `Successfully assigned ${podKey(pod)} to ${result.nodeName}`);
      s.actions++;
      changed = true;
    } else {
      const before = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message;
      pod.status = { phase: 'Pending' };
      setCondition(pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: result.message });
      if (before !== result.message) changed = true;
      s.record('Warning', 'FailedScheduling', podName(pod), result.message);
    }
  }
  return changed;
}

/**
 * The kubelets: a bound pod without a sandbox gets one — the node IP for hostNetwork pods, else an IP from the IPAM.
 * When the IPAM has none the pod stays ContainerCreating with the CNI's error and is retried on the next tick.
 */
export function runKubelets(s: ClusterState): boolean {
  let changed = false;
  // Pods a kubelet has admitted (it set their hostIP), per node: what its admission check counts as used.
  const admitted = new Map<string, number>();
  for (const pod of s.pods.values()) {
    if (pod.spec.nodeName && pod.status?.hostIP && occupiesNode(pod)) admitted.set(pod.spec.nodeName, (admitted.get(pod.spec.nodeName) ?? 0) + 1);
  }
  for (const pod of s.pods.values()) {
    const nodeName = pod.spec.nodeName;
    if (!nodeName || pod.status?.podIP || pod.metadata.deletionTimestamp !== undefined || !occupiesNode(pod)) continue;
    const network = s.ipam.node(nodeName);
    if (!network) continue;
    if (!pod.status?.hostIP) {
      // Admission: a pod bound with spec.nodeName skips the scheduler, and the kubelet refuses it when the node is full.
      const used = admitted.get(nodeName) ?? 0;
      const capacity = nodeMaxPods(s, nodeName);
      if (used + 1 > capacity) {
        const message = `Node didn't have enough resource: pods, requested: 1, used: ${used}, capacity: ${capacity}`;
        pod.status = { phase: 'Failed', reason: 'OutOfpods', message: `Pod was rejected: ${message}` };
        s.record('Warning', 'OutOfpods', podName(pod), message);
        const book = s.podBookkeeping.get(podKey(pod));
        if (book) book.rejectedAt = s.now;
        s.capacityGeneration++;
        s.actions++;
        changed = true;
        continue;
      }
      admitted.set(nodeName, used + 1);
    }
    if (pod.spec.hostNetwork) {
      markRunning(pod, network.internalIP, network.internalIP);
      s.actions++;
      changed = true;
      continue;
    }
    const result = s.ipam.assignPodIP(nodeName, podKey(pod));
    if (result.ok) {
      markRunning(pod, network.internalIP, result.ip);
      s.actions++;
      changed = true;
      continue;
    }
    const names = pod.spec.containers.map((c) => c.name).join(' ');
    const wasWaiting = pod.status?.reason === 'ContainerCreating';
    pod.status = { phase: 'Pending', hostIP: network.internalIP, reason: 'ContainerCreating', message: result.message };
    setCondition(pod, { type: 'PodScheduled', status: 'True' });
    setCondition(pod, { type: 'PodReadyToStartContainers', status: 'False' });
    setCondition(pod, { type: 'Initialized', status: 'True' });
    setCondition(pod, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` });
    setCondition(pod, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` });
    if (!wasWaiting) changed = true;
    // Both IPAMs word their failure as the kubelet reports it ("Failed to create pod sandbox: rpc error: …").
    s.record('Warning', result.reason || 'FailedCreatePodSandBox', podName(pod), result.message);
  }
  return changed;
}
