import type { Service, ServicePort } from '../api/index.js';
import { KubeNetsimError } from '../errors.js';
import type { ClusterIPAllocator } from './cluster-ip-allocator.js';
import type { NodePortAllocator } from './node-port-allocator.js';
import type { SeededRandom } from './random.js';

/** How allocation treats values already in a Service: requested by a user, or observed in a dump of a live cluster. */
export type AllocationMode = 'request' | 'observed';

export interface ServiceAllocators {
  clusterIPs: ClusterIPAllocator;
  nodePorts: NodePortAllocator;
  random: SeededRandom;
}

export function serviceName(svc: Service): string {
  return `Service ${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
}

/** `The Service "web" is invalid: <path>: Invalid value: <value>: <detail>` — the API server's 422 wording. */
function invalid(code: `E_${string}`, svc: Service, path: string, value: string, detail: string, cause?: unknown): KubeNetsimError {
  return new KubeNetsimError(code, `The Service "${svc.metadata.name}" is invalid: ${path}: Invalid value: ${value}: ${detail}`, {
    object: serviceName(svc),
    cause,
  });
}

function internal(code: `E_${string}`, svc: Service, detail: string): KubeNetsimError {
  return new KubeNetsimError(code, `Internal error occurred: ${detail}`, { object: serviceName(svc) });
}

export function allocatesNodePorts(svc: Service): boolean {
  return svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer';
}

export function needsHealthCheckNodePort(svc: Service): boolean {
  return svc.spec.type === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
}

export function isHeadless(svc: Service): boolean {
  return svc.spec.clusterIP === 'None';
}

/** The API server's defaults: type ClusterIP, TCP, targetPort = port, traffic policies Cluster, affinity None. */
export function defaultService(input: Service): Service {
  const svc = structuredClone(input);
  svc.metadata.namespace ??= 'default';
  const spec = svc.spec ?? (svc.spec = {});
  spec.type ??= 'ClusterIP';
  if (spec.type !== 'ExternalName') {
    spec.sessionAffinity ??= 'None';
    if (spec.sessionAffinity === 'ClientIP') {
      spec.sessionAffinityConfig ??= {};
      spec.sessionAffinityConfig.clientIP ??= {};
      spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
    }
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
  }
  if (allocatesNodePorts(svc)) spec.externalTrafficPolicy ??= 'Cluster';
  spec.ports = (spec.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port }));
  return svc;
}

/** The validation a user trips over most, in the API server's words (`spec.ports[1].name: Required value`). */
export function validateService(svc: Service): void {
  const fail = (path: string, detail: string): never => {
    throw new KubeNetsimError('E_SERVICE_INVALID', `The Service "${svc.metadata.name}" is invalid: ${path}: ${detail}`, { object: serviceName(svc) });
  };
  const { spec } = svc;
  const ports = spec.ports ?? [];
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) fail('spec.externalName', 'Required value');
    return;
  }
  if (ports.length === 0 && !isHeadless(svc)) fail('spec.ports', 'Required value');
  if (isHeadless(svc) && allocatesNodePorts(svc)) fail('spec.clusterIPs[0]', `Invalid value: "None": may not be set to 'None' for ${spec.type} services`);
  const names = new Set<string>();
  const pairs = new Set<string>();
  ports.forEach((p: ServicePort, i) => {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) fail(`spec.ports[${i}].port`, `Invalid value: ${p.port}: must be between 1 and 65535, inclusive`);
    if (ports.length > 1 && !p.name) fail(`spec.ports[${i}].name`, 'Required value');
    if (p.name) {
      if (names.has(p.name)) fail(`spec.ports[${i}].name`, `Duplicate value: "${p.name}"`);
      names.add(p.name);
    }
    const pair = `${p.port}/${p.protocol}`;
    if (pairs.has(pair)) fail(`spec.ports[${i}]`, `Duplicate value: {"protocol":"${p.protocol}","port":${p.port}}`);
    pairs.add(pair);
    if (typeof p.targetPort === 'number' && (!Number.isInteger(p.targetPort) || p.targetPort < 1 || p.targetPort > 65535)) {
      fail(`spec.ports[${i}].targetPort`, `Invalid value: ${p.targetPort}: must be between 1 and 65535, inclusive`);
    }
    if (p.nodePort !== undefined && !allocatesNodePorts(svc)) {
      fail(`spec.ports[${i}].nodePort`, `Forbidden: may not be used when \`type\` is '${spec.type}'`);
    }
  });
  const seen = new Map<string, number>();
  ports.forEach((p, i) => {
    if (!p.nodePort) return;
    const key = `${p.nodePort}/${p.protocol}`;
    if (seen.has(key)) fail(`spec.ports[${i}].nodePort`, `Duplicate value: ${p.nodePort}`);
    seen.set(key, i);
  });
}

/**
 * Gives a defaulted, validated Service its ClusterIP, NodePorts and healthCheckNodePort as the API server's
 * REST storage does (`pkg/registry/core/service/storage/alloc.go`), mutating `svc`.
 * `mode: 'observed'` keeps values a live cluster already gave (even out of range); 'request' rejects what the API
 * server would reject. On error the allocators may be partly changed: callers run it inside a transaction.
 */
export function allocateService(svc: Service, a: ServiceAllocators, mode: AllocationMode): void {
  const { spec } = svc;
  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    return;
  }
  const requested = spec.clusterIP ?? spec.clusterIPs?.[0];
  if (requested === 'None') {
    spec.clusterIP = 'None';
    spec.clusterIPs = ['None'];
  } else if (requested) {
    if (mode === 'observed') {
      if (a.clusterIPs.inRange(requested) && !a.clusterIPs.isAllocated(requested)) a.clusterIPs.allocate(requested);
    } else {
      try {
        a.clusterIPs.allocate(requested);
      } catch (e) {
        throw invalid((e as KubeNetsimError).code, svc, 'spec.clusterIPs', `[]string{"${requested}"}`, `failed to allocate IP ${requested}: ${(e as Error).message}`, e);
      }
    }
    spec.clusterIP = requested;
    spec.clusterIPs = [requested];
  } else {
    let ip: string;
    try {
      ip = a.clusterIPs.allocateNext(a.random);
    } catch (e) {
      throw internal((e as KubeNetsimError).code, svc, `failed to allocate a serviceIP: ${(e as Error).message}`);
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }
  allocateNodePorts(svc, a, mode);
}

/** `initNodePorts`: in port order; ports with the same `port` number (TCP and UDP) share one NodePort. */
function allocateNodePorts(svc: Service, a: ServiceAllocators, mode: AllocationMode): void {
  const { spec } = svc;
  const ports = spec.ports ?? [];
  if (!allocatesNodePorts(svc)) {
    delete spec.healthCheckNodePort;
    return;
  }
  const take = (port: number, path: string): void => {
    if (mode === 'observed') {
      if (a.nodePorts.inRange(port) && !a.nodePorts.isAllocated(port)) a.nodePorts.allocate(port);
      return;
    }
    try {
      a.nodePorts.allocate(port);
    } catch (e) {
      throw invalid((e as KubeNetsimError).code, svc, path, String(port), (e as Error).message, e);
    }
  };
  const next = (): number => {
    try {
      return a.nodePorts.allocateNext(a.random);
    } catch (e) {
      throw internal((e as KubeNetsimError).code, svc, `failed to allocate a nodePort: ${(e as Error).message}`);
    }
  };
  const byPort = new Map<number, number>();
  ports.forEach((p, i) => {
    const shared = byPort.get(p.port);
    if (shared === undefined) {
      const wanted = p.nodePort ?? ports.slice(i + 1).find((q) => q.port === p.port && q.nodePort)?.nodePort;
      if (wanted) take(wanted, `spec.ports[${i}].nodePort`);
      const np = wanted ?? next();
      p.nodePort = np;
      byPort.set(p.port, np);
    } else if (p.nodePort === undefined) {
      p.nodePort = shared;
    } else if (p.nodePort !== shared) {
      take(p.nodePort, `spec.ports[${i}].nodePort`);
    }
  });
  if (needsHealthCheckNodePort(svc)) {
    const wanted = spec.healthCheckNodePort;
    if (wanted) {
      if (mode === 'observed') take(wanted, 'spec.healthCheckNodePort');
      else {
        try {
          a.nodePorts.allocate(wanted);
        } catch (e) {
          throw invalid((e as KubeNetsimError).code, svc, 'spec.healthCheckNodePort', String(wanted), `failed to allocate requested HealthCheck NodePort ${wanted}: ${(e as Error).message}`, e);
        }
      }
    } else spec.healthCheckNodePort = next();
  } else delete spec.healthCheckNodePort;
}

/** Gives back what {@link allocateService} took (values outside the ranges were never taken). */
export function releaseService(svc: Service, a: ServiceAllocators): void {
  const ip = svc.spec.clusterIP;
  if (ip && ip !== 'None') a.clusterIPs.release(ip);
  const ports = new Set<number>();
  for (const p of svc.spec.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
  if (svc.spec.healthCheckNodePort) ports.add(svc.spec.healthCheckNodePort);
  for (const p of ports) a.nodePorts.release(p);
}
