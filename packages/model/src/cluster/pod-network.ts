import type { Pod, Protocol } from '../api/index.js';
import type { Cluster } from './cluster.js';
import { isPodFinished, podName } from './pods.js';
import { podHostPorts } from './scheduler.js';

/** What the simulator assumes about processes: a declared container port is a socket listening on it. */
export const LISTENING_ASSUMPTION = 'declared container ports are taken as listening';

/** A socket a container listens on (from its declared ports). */
export interface Listener {
  pod: string;
  container: string;
  port: number;
  protocol: Protocol;
  name?: string;
}

export function podListeners(pod: Pod): Listener[] {
  return pod.spec.containers.flatMap((c) =>
    (c.ports ?? []).map((p) => ({ pod: podName(pod), container: c.name, port: p.containerPort, protocol: p.protocol ?? 'TCP', ...(p.name ? { name: p.name } : {}) })),
  );
}

/** Two or more sockets on one port and protocol in one network namespace: all but the first fail to bind. */
export interface PortConflict {
  /** `Pod shop/web-…` or `Node ip-….ec2.internal` (host network). */
  where: string;
  port: number;
  protocol: Protocol;
  /** Who wants the port, in start order: the first binds, the others fail. */
  listeners: Listener[];
  /** What the later ones would log: `listen tcp :8080: bind: address already in use`. */
  message: string;
}

function conflicts(where: string, listeners: Listener[]): PortConflict[] {
  const byPort = new Map<string, Listener[]>();
  for (const l of listeners) {
    const key = `${l.protocol}/${l.port}`;
    byPort.set(key, [...(byPort.get(key) ?? []), l]);
  }
  return [...byPort.values()]
    .filter((ls) => ls.length > 1)
    .map((ls) => ({
      where,
      port: ls[0]!.port,
      protocol: ls[0]!.protocol,
      listeners: ls,
      message: `listen ${ls[0]!.protocol.toLowerCase()} :${ls[0]!.port}: bind: address already in use`,
    }));
}

/**
 * Containers of a pod share one network namespace: two of them declaring the same port and protocol cannot both
 * listen (the real second container would crash with "address already in use").
 */
export function podPortConflicts(pod: Pod): PortConflict[] {
  return conflicts(podName(pod), podListeners(pod));
}

/** Where `localhost:port` from inside a pod lands. */
export type LocalhostResult =
  | { reachable: true; listener: Listener; assumption: typeof LISTENING_ASSUMPTION }
  | { reachable: false; reason: string };

/**
 * `localhost:port` from inside `pod`: the container of the same pod declaring that port (the first one when two
 * do). For a hostNetwork pod localhost is the node's, so with `cluster` given the other hostNetwork pods on the
 * node are reachable too.
 */
export function podLocalhost(pod: Pod, port: number, protocol: Protocol = 'TCP', cluster?: Cluster): LocalhostResult {
  let candidates = podListeners(pod);
  if (pod.spec.hostNetwork && cluster && pod.spec.nodeName) {
    const neighbours = cluster.podsOnNode(pod.spec.nodeName).filter((p) => p.spec.hostNetwork && p !== pod && !isPodFinished(p));
    candidates = [...candidates, ...neighbours.flatMap(podListeners)];
  }
  const listener = candidates.find((l) => l.port === port && l.protocol === protocol);
  if (listener) return { reachable: true, listener, assumption: LISTENING_ASSUMPTION };
  const where = pod.spec.hostNetwork ? `on node ${pod.spec.nodeName ?? '(unscheduled)'}` : `in ${podName(pod)}`;
  return { reachable: false, reason: `connection refused: no container ${where} declares ${protocol} port ${port}` };
}

/**
 * Port collisions on each node's own network namespace: hostNetwork pods' sockets and hostPort mappings. The
 * scheduler keeps them apart for pods it places; pods given with `spec.nodeName` bypass it, and so do ports a
 * hostNetwork pod listens on without declaring them (which the simulator cannot see).
 */
export function hostNetworkConflicts(cluster: Cluster): PortConflict[] {
  const out: PortConflict[] = [];
  for (const node of cluster.nodes()) {
    const listeners: Listener[] = [];
    for (const pod of cluster.podsOnNode(node.metadata.name)) {
      if (isPodFinished(pod)) continue;
      for (const hp of podHostPorts(pod)) {
        const container = pod.spec.containers.find((c) => (c.ports ?? []).some((p) => (p.hostPort ?? p.containerPort) === hp.port && (p.protocol ?? 'TCP') === hp.protocol));
        listeners.push({ pod: podName(pod), container: container?.name ?? '', port: hp.port, protocol: hp.protocol });
      }
    }
    out.push(...conflicts(`Node ${node.metadata.name}`, listeners).filter((c) => new Set(c.listeners.map((l) => l.pod)).size > 1));
  }
  return out;
}
