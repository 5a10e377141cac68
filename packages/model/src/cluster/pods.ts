import type { ContainerPort, Pod, ServicePort } from '../api/index.js';

export function podName(pod: Pod): string {
  return `Pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

/** `ns/name`. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

/** The pod's Ready condition is True. The simulator takes declared containers as started and ready. */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Succeeded or Failed: the pod's containers are done and it holds no IP any more. */
export function isPodFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function isPodTerminating(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/** Every container port of the pod, with the container that declares it. */
export function podContainerPorts(pod: Pod): { container: string; port: ContainerPort }[] {
  return pod.spec.containers.flatMap((c) => (c.ports ?? []).map((port) => ({ container: c.name, port })));
}

/**
 * `podutil.FindPort`: a numeric targetPort is used as is; a named one is looked up among the pod's container
 * ports by name and protocol. `undefined` when the pod has no such port (the endpoint then lacks that port).
 */
export function findPodPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  const protocol = servicePort.protocol ?? 'TCP';
  for (const { port } of podContainerPorts(pod)) {
    if (port.name === target && (port.protocol ?? 'TCP') === protocol) return port.containerPort;
  }
  return undefined;
}
