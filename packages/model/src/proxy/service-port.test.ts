import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Service } from '../api/core.js';
import { categorizeEndpoints } from './categorize-endpoints.js';
import { masqueradeMarkOf, resolveKubeProxyConfiguration } from './config.js';
import { buildProxyServiceState, endpointsOf } from './service-port.js';

function svc(name: string, spec: Service['spec'], status?: Service['status']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' }, spec, ...(status ? { status } : {}) };
}
function slice(name: string, service: string, endpoints: EndpointSlice['endpoints'], port = 80, portName = 'p80'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'ns', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: portName, port, protocol: 'TCP' }],
  };
}

describe('buildProxyServiceState', () => {
  test('skips headless and ExternalName Services', () => {
    const state = buildProxyServiceState({
      services: [
        svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('ext', { type: 'ExternalName', externalName: 'example.com' }),
        svc('web', { clusterIP: '172.30.0.1', ports: [{ name: 'p80', port: 80 }] }),
      ],
      endpointSlices: [],
      nodeName: 'n1',
    });
    expect(state.skipped).toEqual([
      { service: 'ns/headless', reason: 'headless' },
      { service: 'ns/ext', reason: 'ExternalName' },
    ]);
    expect(state.servicePorts.map((p) => p.name)).toEqual(['ns/web:p80']);
  });

  test('service port fields follow newBaseServiceInfo', () => {
    const state = buildProxyServiceState({
      services: [
        svc(
          'lb',
          {
            type: 'LoadBalancer',
            clusterIP: '172.30.0.2',
            externalTrafficPolicy: 'Local',
            healthCheckNodePort: 30000,
            loadBalancerSourceRanges: [' 203.0.113.0/25', 'bogus'],
            sessionAffinity: 'ClientIP',
            ports: [{ port: 80, nodePort: 3001 }],
          },
          { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8', ipMode: 'Proxy' }] } },
        ),
        svc('np', { type: 'NodePort', clusterIP: '172.30.0.3', healthCheckNodePort: 30001, ports: [{ port: 80, nodePort: 3002 }] }),
      ],
      endpointSlices: [],
      nodeName: 'n1',
    });
    const [lb, np] = state.servicePorts;
    expect(lb).toMatchObject({
      name: 'ns/lb',
      loadBalancerVIPs: ['1.2.3.4'],
      loadBalancerSourceRanges: ['203.0.113.0/25'],
      healthCheckNodePort: 30000,
      externalPolicyLocal: true,
      stickyMaxAgeSeconds: 10800,
    });
    expect(np).toMatchObject({ name: 'ns/np', healthCheckNodePort: 0, externalPolicyLocal: false });
  });

  test('endpoints: condition defaults, sloppy IPs, dedup preferring non-terminating, string order', () => {
    const state = buildProxyServiceState({
      services: [svc('web', { clusterIP: '172.30.0.1', ports: [{ name: 'p80', port: 80 }] })],
      endpointSlices: [
        slice('a', 'web', [
          { addresses: ['10.1.1.1'], nodeName: 'n1' },
          { addresses: ['10.1.1.11'], conditions: { ready: false, serving: true, terminating: true } },
          { addresses: ['10.180.00.001'] },
        ]),
        slice('b', 'web', [{ addresses: ['10.1.1.11'], conditions: { ready: true } }]),
      ],
      nodeName: 'n1',
    });
    const eps = endpointsOf(state, state.servicePorts[0]!);
    expect(eps.map((e) => e.endpoint)).toEqual(['10.1.1.11:80', '10.1.1.1:80', '10.180.0.1:80']);
    expect(eps[0]).toMatchObject({ ready: true, terminating: false });
    expect(eps[1]).toMatchObject({ isLocal: true, ready: true, serving: true, terminating: false });
  });
});

describe('categorizeEndpoints', () => {
  const build = (spec: Partial<Service['spec']>, endpoints: EndpointSlice['endpoints']) => {
    const state = buildProxyServiceState({
      services: [svc('web', { clusterIP: '172.30.0.1', ports: [{ name: 'p80', port: 80, nodePort: 3001 }], type: 'NodePort', ...spec })],
      endpointSlices: [slice('a', 'web', endpoints)],
      nodeName: 'n1',
    });
    const sp = state.servicePorts[0]!;
    return categorizeEndpoints(endpointsOf(state, sp), sp, { nodeName: 'n1', nodeLabels: { 'topology.kubernetes.io/zone': 'a' } });
  };
  const names = (eps: { endpoint: string }[]) => eps.map((e) => e.endpoint);

  test('ready endpoints first; serving-terminating only as fallback; not-serving never', () => {
    const c = build({}, [
      { addresses: ['10.0.0.1'] },
      { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: true } },
    ]);
    expect(names(c.clusterEndpoints)).toEqual(['10.0.0.1:80']);
    const f = build({}, [
      { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: true } },
    ]);
    expect(names(f.clusterEndpoints)).toEqual(['10.0.0.2:80']);
    expect(f.hasAnyEndpoints).toBe(true);
  });

  test('Local sets fall back separately from the Cluster set', () => {
    const c = build({ externalTrafficPolicy: 'Local' }, [
      { addresses: ['10.0.0.1'], nodeName: 'n2' },
      { addresses: ['10.0.0.2'], nodeName: 'n1', conditions: { ready: false, serving: true, terminating: true } },
    ]);
    expect(names(c.clusterEndpoints)).toEqual(['10.0.0.1:80']);
    expect(names(c.localEndpoints)).toEqual(['10.0.0.2:80']);
    expect(names(c.allReachableEndpoints)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    // topology.go: a local Ready endpoint excludes the local serving-terminating ones (KEP-1669 is only a fallback).
    const ready = build({ externalTrafficPolicy: 'Local' }, [
      { addresses: ['10.0.0.1'], nodeName: 'n1' },
      { addresses: ['10.0.0.2'], nodeName: 'n1', conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.3'], nodeName: 'n1', conditions: { ready: false, serving: false, terminating: true } },
    ]);
    expect(names(ready.localEndpoints)).toEqual(['10.0.0.1:80']);
    expect(names(ready.clusterEndpoints)).toEqual(['10.0.0.1:80']);
    expect(names(ready.allReachableEndpoints)).toEqual(['10.0.0.1:80']);
  });

  test('zone hints are used only when every ready endpoint has one and one is for this zone', () => {
    const hinted = build({}, [
      { addresses: ['10.0.0.1'], hints: { forZones: [{ name: 'a' }] } },
      { addresses: ['10.0.0.2'], hints: { forZones: [{ name: 'b' }] } },
    ]);
    expect(names(hinted.clusterEndpoints)).toEqual(['10.0.0.1:80']);
    const partial = build({}, [{ addresses: ['10.0.0.1'], hints: { forZones: [{ name: 'a' }] } }, { addresses: ['10.0.0.2'] }]);
    expect(names(partial.clusterEndpoints)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });
});

describe('resolveKubeProxyConfiguration', () => {
  test('EKS add-on defaults: iptables, no local detector, mark bit 14', () => {
    const c = resolveKubeProxyConfiguration();
    expect(c).toMatchObject({ mode: 'iptables', localDetector: { kind: 'none' }, masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, ipvsScheduler: 'rr' });
    expect(c.conntrack).toMatchObject({ maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: 86400, tcpCloseWaitTimeout: 3600 });
  });
  test('clusterCIDR gives a CIDR detector', () => {
    const c = resolveKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', clusterCIDR: '10.0.0.0/8' });
    expect(c.localDetector).toEqual({ kind: 'cidr', cidr: '10.0.0.0/8' });
  });
  test('the mark is Go %#08x of 1<<bit', () => {
    expect(masqueradeMarkOf(14)).toBe('0x00004000');
    expect(masqueradeMarkOf(0)).toBe('0x00000001');
  });
  test('rejects an unknown mode with E_PROXY_CONFIG', () => {
    expect(() =>
      resolveKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'userspace' as 'iptables' }),
    ).toThrow(expect.objectContaining({ code: 'E_PROXY_CONFIG' }));
  });
});
