import type { Endpoint, EndpointPort, EndpointSlice, Pod, Service } from '../api/index.js';
import { matchesSelector } from './labels.js';
import { randomNameSuffix } from './names.js';
import { findPodPort, isPodFinished, isPodReady, isPodTerminating } from './pods.js';
import type { SeededRandom } from './random.js';

/** The EndpointSlice controller's default `--max-endpoints-per-slice`. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';

export interface EndpointSliceContext {
  /** The zone of a node (`topology.kubernetes.io/zone`), for `endpoints[].zone`. */
  nodeZone(nodeName: string): string | undefined;
  random: SeededRandom;
  /** Names already used by EndpointSlices in the namespace, so a generated name never collides. */
  takenNames: Set<string>;
}

/** A Service the EndpointSlice controller manages: it has a non-empty selector and is not ExternalName. */
export function hasManagedEndpoints(svc: Service): boolean {
  return svc.spec.type !== 'ExternalName' && Object.keys(svc.spec.selector ?? {}).length > 0;
}

/** The Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label), as `ns/name`. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  return name ? `${slice.metadata.namespace ?? 'default'}/${name}` : undefined;
}

/**
 * The endpoint of one pod: `serving` = Ready, `terminating` = being deleted, `ready` = serving and not terminating;
 * with `publishNotReadyAddresses` both `serving` and `ready` are true (the controller's `podToEndpoint`).
 */
export function podEndpoint(svc: Service, pod: Pod, zone: string | undefined): Endpoint {
  const publish = svc.spec.publishNotReadyAddresses === true;
  const serving = publish || isPodReady(pod);
  const terminating = isPodTerminating(pod);
  const endpoint: Endpoint = {
    addresses: [pod.status!.podIP!],
    conditions: { ready: publish || (serving && !terminating), serving, terminating },
  };
  // The hostname is published only for a pod whose subdomain is this Service (StatefulSet pods and their headless Service).
  if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name) endpoint.hostname = pod.spec.hostname;
  if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
  if (zone) endpoint.zone = zone;
  endpoint.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) };
  return endpoint;
}

/** The ports of one pod's endpoint: each Service port whose targetPort the pod has. */
function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = findPodPort(pod, sp);
    if (port === undefined) continue;
    out.push({ name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

/**
 * The EndpointSlices the controller keeps for `svc`: every pod in its namespace that matches the selector, has an IP
 * and has not finished, grouped by their resolved port set (a pod lacking a named port lands in a slice without it),
 * at most {@link MAX_ENDPOINTS_PER_SLICE} per slice, endpoints ordered by pod name. A Service with no such pod gets
 * one empty placeholder slice, as the real controller keeps. Names of `existing` slices with the same port set are
 * reused; new ones are `<service>-<5 random characters>`.
 */
export function deriveEndpointSlices(svc: Service, pods: readonly Pod[], existing: readonly EndpointSlice[], ctx: EndpointSliceContext): EndpointSlice[] {
  const namespace = svc.metadata.namespace ?? 'default';
  const selector = svc.spec.selector ?? {};
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const members = pods
    .filter((p) => (p.metadata.namespace ?? 'default') === namespace && p.status?.podIP && !isPodFinished(p) && matchesSelector(selector, p.metadata.labels))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const pod of members) {
    const ports = endpointPorts(svc, pod);
    // Port objects are built with a fixed key order, so plain JSON is a faithful key.
    const key = JSON.stringify(ports);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ports, endpoints: [] }));
    group.endpoints.push(podEndpoint(svc, pod, pod.spec.nodeName ? ctx.nodeZone(pod.spec.nodeName) : undefined));
  }
  const wanted: { ports: EndpointPort[] | undefined; endpoints: Endpoint[] }[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) wanted.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
  }
  if (wanted.length === 0) wanted.push({ ports: undefined, endpoints: [] });

  const reusable = new Map<string, string[]>();
  for (const s of existing) {
    const key = JSON.stringify(s.ports ?? null);
    reusable.set(key, [...(reusable.get(key) ?? []), s.metadata.name]);
  }
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [LABEL_SERVICE_NAME]: svc.metadata.name, [LABEL_MANAGED_BY]: MANAGED_BY_CONTROLLER };
  if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  return wanted.map(({ ports, endpoints }) => {
    const name = reusable.get(JSON.stringify(ports ?? null))?.shift() ?? generateSliceName(svc.metadata.name, ctx);
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace,
        labels: { ...labels },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, ...(svc.metadata.uid ? { uid: svc.metadata.uid } : {}), controller: true }],
      },
      addressType: 'IPv4',
      endpoints,
    };
    if (ports) slice.ports = ports;
    return slice;
  });
}

/** `generateName: <service>-`: the base is cut to 58 characters so the name fits 63. */
function generateSliceName(service: string, ctx: EndpointSliceContext): string {
  for (;;) {
    const name = `${service.slice(0, 58)}-${randomNameSuffix(ctx.random)}`;
    if (!ctx.takenNames.has(name)) {
      ctx.takenNames.add(name);
      return name;
    }
  }
}
