import { describe, expect, it } from 'vitest';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import type { ProxyPacket } from '../../src/proxy/explain-types.js';
import { buildNftablesRuleset } from '../../src/proxy/nftables/build.js';
import { explainNftables } from '../../src/proxy/nftables/explain.js';
import { printNftablesRuleset } from '../../src/proxy/nftables/print.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import type { EndpointSlice, Service } from '../../src/api/core.js';
import { makeService, makeSlice } from './fixtures.js';

// Packet-flow vectors transcribed from kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go (commit
// 030880a5dc5449403c6d1f0aa146a7dc21d6c6dc): TestNoEndpointsReject, TestClusterIPGeneral, TestLoadBalancer,
// TestNodePorts (IPv4 cases), TestExternalTrafficPolicyLocal, TestExternalTrafficPolicyCluster.
// Fake proxier: node test-node, node IPs below, pod CIDR 10.0.0.0/8, service CIDR 172.30.0.0/16.

const NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const config = resolveKubeProxyConfiguration({
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
  kind: 'KubeProxyConfiguration',
  mode: 'nftables',
  clusterCIDR: '10.0.0.0/8',
  nodePortAddresses: ['192.168.0.2/32'],
});

function ruleset(services: Service[], endpointSlices: EndpointSlice[], c = config) {
  return buildNftablesRuleset({
    state: buildProxyServiceState({ services, endpointSlices, nodeName: 'test-node' }),
    node: { name: 'test-node', ips: NODE_IPS },
    config: c,
    serviceCIDRs: ['172.30.0.0/16'],
  });
}

interface Flow {
  name: string;
  from: string;
  to: string;
  port: number;
  protocol?: ProxyPacket['protocol'];
  /** Upstream's `output`: endpoints joined by ", ", or DROP / REJECT. */
  output: string;
  masq?: boolean;
}

function check(rs: ReturnType<typeof ruleset>, flows: Flow[]) {
  for (const f of flows) {
    const e = explainNftables(rs, { from: f.from, to: f.to, port: f.port, protocol: f.protocol ?? 'TCP' }, NODE_IPS);
    const output = e.verdict === 'DNAT' ? e.possibleEndpoints.join(', ') : e.verdict;
    expect({ name: f.name, output, masq: e.masquerade }).toEqual({ name: f.name, output: f.output, masq: f.masq ?? false });
  }
}

describe('explainNftables against upstream packet-flow tests', () => {
  it('TestNoEndpointsReject', () => {
    const rs = ruleset(
      [
        makeService(
          'ns1',
          'svc1',
          { type: 'LoadBalancer', clusterIP: '172.30.0.41', externalIPs: ['192.168.99.11'], ports: [{ name: 'p80', protocol: 'TCP', port: 80, nodePort: 3001 }] },
          { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
        ),
      ],
      [],
    );
    check(rs, [
      { name: 'pod to cluster IP with no endpoints', from: '10.0.0.2', to: '172.30.0.41', port: 80, output: 'REJECT' },
      { name: 'external to external IP with no endpoints', from: '203.0.113.2', to: '192.168.99.11', port: 80, output: 'REJECT' },
      { name: 'pod to NodePort with no endpoints', from: '10.0.0.2', to: '192.168.0.2', port: 3001, output: 'REJECT' },
      { name: 'external to NodePort with no endpoints', from: '203.0.113.2', to: '192.168.0.2', port: 3001, output: 'REJECT' },
      { name: 'pod to LoadBalancer IP with no endpoints', from: '10.0.0.2', to: '1.2.3.4', port: 80, output: 'REJECT' },
      { name: 'external to LoadBalancer IP with no endpoints', from: '203.0.113.2', to: '1.2.3.4', port: 80, output: 'REJECT' },
    ]);
  });

  it('TestClusterIPGeneral', () => {
    const rs = ruleset(
      [
        makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
        makeService('ns2', 'svc2', {
          clusterIP: '172.30.0.42',
          ports: [
            { name: 'http', port: 80, protocol: 'TCP' },
            { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
            { name: 'dns-udp', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 },
            { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
          ],
        }),
      ],
      [
        makeSlice('ns1', 'svc1', [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }], [{ name: 'http', port: 80, protocol: 'TCP' }]),
        makeSlice(
          'ns2',
          'svc2',
          [
            { addresses: ['10.180.0.1'], nodeName: 'test-node' },
            { addresses: ['10.180.2.1'], nodeName: 'node2' },
          ],
          [
            { name: 'http', port: 80, protocol: 'TCP' },
            { name: 'https', port: 8443, protocol: 'TCP' },
            { name: 'dns-udp', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 5353, protocol: 'TCP' },
            { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
          ],
        ),
      ],
    );
    check(rs, [
      { name: 'simple clusterIP', from: '10.180.0.2', to: '172.30.0.41', port: 80, output: '10.180.0.1:80' },
      { name: 'hairpin to cluster IP', from: '10.180.0.1', to: '172.30.0.41', port: 80, output: '10.180.0.1:80', masq: true },
      { name: 'clusterIP with multiple endpoints', from: '10.180.0.2', to: '172.30.0.42', port: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
      { name: 'clusterIP with TargetPort', from: '10.180.0.2', to: '172.30.0.42', port: 443, output: '10.180.0.1:8443, 10.180.2.1:8443' },
      { name: 'TCP on a port shared by protocols', from: '10.180.0.2', to: '172.30.0.42', port: 53, protocol: 'TCP', output: '10.180.0.1:5353, 10.180.2.1:5353' },
      { name: 'UDP on a port shared by protocols', from: '10.180.0.2', to: '172.30.0.42', port: 53, protocol: 'UDP', output: '10.180.0.1:53, 10.180.2.1:53' },
      { name: 'SCTP on a port shared by protocols', from: '10.180.0.2', to: '172.30.0.42', port: 53, protocol: 'SCTP', output: '10.180.0.1:53, 10.180.2.1:53' },
      { name: 'TCP-only port does not match UDP traffic', from: '10.180.0.2', to: '172.30.0.42', port: 80, protocol: 'UDP', output: 'REJECT' },
      { name: "svc1 does not accept svc2's ports", from: '10.180.0.2', to: '172.30.0.41', port: 443, output: 'REJECT' },
      { name: 'packet to unallocated cluster ip', from: '10.180.0.2', to: '172.30.0.50', port: 80, output: 'DROP' },
    ]);
  });

  it('TestLoadBalancer (source ranges apply to LB IPs, not to the NodePort)', () => {
    const rs = ruleset(
      [
        makeService(
          'ns1',
          'svc1',
          {
            type: 'LoadBalancer',
            clusterIP: '172.30.0.41',
            ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
            loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'],
          },
          { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] } },
        ),
      ],
      [makeSlice('ns1', 'svc1', [{ addresses: ['10.180.0.1'] }], [{ name: 'p80', port: 80, protocol: 'TCP' }])],
    );
    check(rs, [
      { name: 'pod to cluster IP', from: '10.0.0.2', to: '172.30.0.41', port: 80, output: '10.180.0.1:80' },
      { name: 'external to nodePort', from: '203.0.113.2', to: '192.168.0.2', port: 3001, output: '10.180.0.1:80', masq: true },
      { name: 'nodePort bypasses LoadBalancerSourceRanges', from: '203.0.113.130', to: '192.168.0.2', port: 3001, output: '10.180.0.1:80', masq: true },
      { name: 'accepted external to LB1', from: '203.0.113.2', to: '1.2.3.4', port: 80, output: '10.180.0.1:80', masq: true },
      { name: 'accepted external to LB2', from: '203.0.113.2', to: '5.6.7.8', port: 80, output: '10.180.0.1:80', masq: true },
      { name: 'blocked external to LB1', from: '203.0.113.130', to: '1.2.3.4', port: 80, output: 'DROP' },
      { name: 'blocked external to LB2', from: '203.0.113.130', to: '5.6.7.8', port: 80, output: 'DROP' },
      { name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)', from: '10.0.0.2', to: '1.2.3.4', port: 80, output: 'DROP' },
      { name: 'node to LB1 (allowed by LoadBalancerSourceRanges)', from: '192.168.0.2', to: '1.2.3.4', port: 80, output: '10.180.0.1:80', masq: true },
      { name: 'same node to LB1, SNATted to LB1 (implicitly allowed)', from: '1.2.3.4', to: '1.2.3.4', port: 80, output: '10.180.0.1:80', masq: true },
    ]);
  });

  const twoEndpoints = [makeSlice('ns1', 'svc1', [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }], [{ name: 'p80', port: 80, protocol: 'TCP' }])];
  const both = '10.180.0.1:80, 10.180.2.1:80';

  it('TestNodePorts (IPv4): the primary IP only by default, every matching address with nodePortAddresses', () => {
    const services = [makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] })];
    const basic: Flow[] = [
      { name: 'pod to cluster IP', from: '10.0.0.2', to: '172.30.0.41', port: 80, output: both },
      { name: 'external to nodePort', from: '203.0.113.2', to: '192.168.0.2', port: 3001, output: both, masq: true },
      { name: 'node to nodePort', from: '192.168.0.2', to: '192.168.0.2', port: 3001, output: both, masq: true },
    ];
    // nodePortAddresses nil: the fake proxier's own default is 192.168.0.2/32, the primary node IP.
    check(ruleset(services, twoEndpoints), [...basic, { name: 'secondary nodeIP ignores NodePorts', from: '203.0.113.2', to: '192.168.1.2', port: 3001, output: 'NONE' }]);
    const multi = { ...config, nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'] };
    check(ruleset(services, twoEndpoints, multi), [...basic, { name: 'external to nodePort on secondary IP', from: '203.0.113.2', to: '192.168.1.2', port: 3001, output: both, masq: true }]);
  });

  const lbService = (policy: 'Local' | 'Cluster') =>
    makeService(
      'ns1',
      'svc1',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: policy,
        clusterIP: '172.30.0.41',
        externalIPs: ['192.168.99.11'],
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001, targetPort: 80 }],
        healthCheckNodePort: 30000,
      },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    );

  it('TestExternalTrafficPolicyLocal', () => {
    check(ruleset([lbService('Local')], twoEndpoints), [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', from: '10.0.0.2', to: '172.30.0.41', port: 80, output: both },
      { name: 'pod to external IP hits both endpoints, unmasqueraded', from: '10.0.0.2', to: '192.168.99.11', port: 80, output: both },
      { name: 'external to external IP hits only local endpoint, unmasqueraded', from: '203.0.113.2', to: '192.168.99.11', port: 80, output: '10.180.2.1:80' },
      { name: 'pod to LB IP hits only both endpoints, unmasqueraded', from: '10.0.0.2', to: '1.2.3.4', port: 80, output: both },
      { name: 'external to LB IP hits only local endpoint, unmasqueraded', from: '203.0.113.2', to: '1.2.3.4', port: 80, output: '10.180.2.1:80' },
      { name: 'pod to NodePort hits both endpoints, unmasqueraded', from: '10.0.0.2', to: '192.168.0.2', port: 3001, output: both },
      { name: 'external to NodePort hits only local endpoint, unmasqueraded', from: '203.0.113.2', to: '192.168.0.2', port: 3001, output: '10.180.2.1:80' },
    ]);
  });

  it('TestExternalTrafficPolicyCluster', () => {
    check(ruleset([lbService('Cluster')], twoEndpoints), [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', from: '10.0.0.2', to: '172.30.0.41', port: 80, output: both },
      { name: 'pod to external IP hits both endpoints, masqueraded', from: '10.0.0.2', to: '192.168.99.11', port: 80, output: both, masq: true },
      { name: 'external to external IP hits both endpoints, masqueraded', from: '203.0.113.2', to: '192.168.99.11', port: 80, output: both, masq: true },
      { name: 'pod to LB IP hits both endpoints, masqueraded', from: '10.0.0.2', to: '1.2.3.4', port: 80, output: both, masq: true },
      { name: 'external to LB IP hits both endpoints, masqueraded', from: '203.0.113.2', to: '1.2.3.4', port: 80, output: both, masq: true },
      { name: 'pod to NodePort hits both endpoints, masqueraded', from: '10.0.0.2', to: '192.168.0.2', port: 3001, output: both, masq: true },
      { name: 'external to NodePort hits both endpoints, masqueraded', from: '203.0.113.2', to: '192.168.0.2', port: 3001, output: both, masq: true },
    ]);
  });

  it('names the printed lines it matched, and follows one branch when an endpoint is forced', () => {
    const rs = ruleset(
      [makeService('ns2', 'svc2', { clusterIP: '172.30.0.42', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })],
      [makeSlice('ns2', 'svc2', [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'] }], [{ name: 'http', port: 80, protocol: 'TCP' }])],
    );
    const printed = new Set(printNftablesRuleset(rs).split('\n'));
    const all = explainNftables(rs, { from: '10.180.2.1', to: '172.30.0.42', port: 80, protocol: 'TCP' }, NODE_IPS);
    for (const r of all.rules) expect(printed.has(r), r).toBe(true);
    expect(all.masquerade).toBe(true); // hairpin on the 10.180.2.1 branch
    const forced = explainNftables(rs, { from: '10.180.2.1', to: '172.30.0.42', port: 80, protocol: 'TCP' }, NODE_IPS, { forceEndpoint: '10.180.0.1:80' });
    expect(forced).toMatchObject({ verdict: 'DNAT', possibleEndpoints: ['10.180.0.1:80'], masquerade: false });
  });
});
