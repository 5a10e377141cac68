// Vectors transcribed from kubernetes/kubernetes pkg/proxy/ipvs/proxier_test.go, TestNodePortIPv4 (the IPv4 cases
// of the version with KUBE-IPVS-OUT-FILTER, the v1.30+ generation; commit not recorded by the index it was read
// from): the IPVS virtual servers and
// destinations, and the NodePort ipset entries, kube-proxy's ipvs proxier programs for each input.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../src/api/core.js';
import type { Protocol } from '../../src/api/meta.js';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { buildIpvsState } from '../../src/proxy/ipvs/build.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import { makeService, makeSlice } from './fixtures.js';

function ipvs(services: Service[], slices: EndpointSlice[], nodeIPs: string[], nodePortAddresses: string[]) {
  const s = buildIpvsState({
    state: buildProxyServiceState({ services, endpointSlices: slices, nodeName: 'test-node' }),
    node: { name: 'test-node', ips: nodeIPs },
    config: resolveKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs', nodePortAddresses }),
  });
  return {
    services: Object.fromEntries(s.virtualServers.map((v) => [`${v.address}:${v.port}/${v.protocol}`, { scheduler: v.scheduler, destinations: v.realServers.map((r) => `${r.ip}:${r.port} w${r.weight}`) }])),
    ipsets: Object.fromEntries([...s.ipsets.values()].filter((x) => x.name.startsWith('KUBE-NODE-PORT')).map((x) => [x.name, x.entries])),
  };
}

const svc1 = (protocol: Protocol, eTPLocal = false) =>
  makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }], ...(eTPLocal ? { externalTrafficPolicy: 'Local' as const } : {}) });
const eps = (protocol: Protocol, endpoints: EndpointSlice['endpoints']) => makeSlice('ns1', 'svc1', endpoints, [{ name: 'p80', port: 80, protocol }]);
const rs = (...ips: string[]) => ({ scheduler: 'rr', destinations: ips.map((ip) => `${ip}:80 w1`) });
const noNodePortSets = { 'KUBE-NODE-PORT-TCP': [], 'KUBE-NODE-PORT-LOCAL-TCP': [], 'KUBE-NODE-PORT-UDP': [], 'KUBE-NODE-PORT-LOCAL-UDP': [], 'KUBE-NODE-PORT-SCTP-HASH': [], 'KUBE-NODE-PORT-LOCAL-SCTP-HASH': [] };

describe('ipvs mode against upstream TestNodePortIPv4', () => {
  it('1 service with node port, has 2 endpoints (one of them IPv6, ignored)', () => {
    // The IPv6 slice and node IP 2001:db8::1:1 are the IPv6 proxier's; the simulator is IPv4-only.
    expect(ipvs([svc1('TCP')], [eps('TCP', [{ addresses: ['10.180.0.1'] }])], ['100.101.102.103'], []).services).toEqual({
      '10.20.30.41:80/TCP': rs('10.180.0.1'),
      '100.101.102.103:3001/TCP': rs('10.180.0.1'),
    });
  });

  it('1 UDP service with node port, has endpoints (nodePortAddresses 0.0.0.0/0)', () => {
    const got = ipvs([svc1('UDP')], [eps('UDP', [{ addresses: ['10.180.0.1'] }])], ['100.101.102.103'], ['0.0.0.0/0']);
    expect(got.services).toEqual({ '10.20.30.41:80/UDP': rs('10.180.0.1'), '100.101.102.103:3001/UDP': rs('10.180.0.1') });
    expect(got.ipsets).toEqual({ ...noNodePortSets, 'KUBE-NODE-PORT-UDP': ['3001'] });
  });

  it('service has node port but no endpoints: virtual servers without real servers', () => {
    expect(ipvs([svc1('TCP')], [], ['100.101.102.103'], []).services).toEqual({ '10.20.30.41:80/TCP': rs(), '100.101.102.103:3001/TCP': rs() });
  });

  it('node port service with protocol sctp on a node with multiple nodeIPs', () => {
    const got = ipvs([svc1('SCTP')], [eps('SCTP', [{ addresses: ['10.180.0.1'] }])], ['100.101.102.103', '100.101.102.104', '100.101.102.105'], []);
    expect(got.services).toEqual({
      '10.20.30.41:80/SCTP': rs('10.180.0.1'),
      '100.101.102.103:3001/SCTP': rs('10.180.0.1'),
      '100.101.102.104:3001/SCTP': rs('10.180.0.1'),
      '100.101.102.105:3001/SCTP': rs('10.180.0.1'),
    });
    expect(got.ipsets).toEqual({ ...noNodePortSets, 'KUBE-NODE-PORT-SCTP-HASH': ['100.101.102.103,sctp:3001', '100.101.102.104,sctp:3001', '100.101.102.105,sctp:3001'] });
  });

  it('node port service with protocol sctp and externalTrafficPolicy local', () => {
    const got = ipvs(
      [svc1('SCTP', true)],
      [eps('SCTP', [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }, { addresses: ['10.180.1.1'], nodeName: 'other-node' }])],
      ['100.101.102.103'],
      [],
    );
    expect(got.services).toEqual({ '10.20.30.41:80/SCTP': rs('10.180.0.1', '10.180.1.1'), '100.101.102.103:3001/SCTP': rs('10.180.0.1') });
    expect(got.ipsets).toEqual({ ...noNodePortSets, 'KUBE-NODE-PORT-SCTP-HASH': ['100.101.102.103,sctp:3001'], 'KUBE-NODE-PORT-LOCAL-SCTP-HASH': ['100.101.102.103,sctp:3001'] });
  });
});
