// Small builders for Services and EndpointSlices in the shape upstream's proxier tests use
// (makeTestService / makeTestEndpointSlice), shared by the nftables, ipvs and datapath-sync tests.
import type { Endpoint, EndpointPort, EndpointSlice, Service, ServicePort, ServiceSpec, ServiceStatus } from '../../src/api/core.js';

export function makeService(namespace: string, name: string, spec: Partial<ServiceSpec> & { ports: ServicePort[] }, status?: ServiceStatus): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', sessionAffinity: 'None', ...spec },
    ...(status ? { status } : {}),
  };
}

export function makeSlice(namespace: string, service: string, endpoints: Endpoint[], ports: EndpointPort[], suffix = '1'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${service}-${suffix}`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}
