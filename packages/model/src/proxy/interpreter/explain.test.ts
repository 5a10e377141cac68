import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Service } from '../../api/core.js';
import type { Protocol } from '../../api/meta.js';
import { renderIptablesSave } from '../iptables/save.js';
import {
  TEST_EXTERNAL_CLIENT,
  TEST_EXTERNAL_CLIENT_BLOCKED,
  TEST_NODE_IP,
  TEST_NODE_NAME,
  fakeProxierConfig,
  fakeProxierHost,
  fakeProxierNode,
  makeTestEndpointSlice,
  makeTestService,
  overallEndpointSlices,
  overallServices,
} from '../iptables/testing/upstream-fixtures.js';
import { buildProxyServiceState } from '../service-port.js';
import { explainIptables } from './explain.js';
import { interpretPacket, ruleHits } from './evaluate.js';
import { parseIptables } from './ruleset.js';

// Packet-flow expectations transcribed from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go
// (runPacketFlowTests): `output` is the endpoints the packet may be DNATed to (comma-separated), or
// ACCEPT/DROP/REJECT, or "" when no rule decides; `masq` whether it is marked for masquerade. Here the rules are
// the simulator's own full node ruleset and the packet goes through the built-in chains as the kernel runs them.

interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol?: Protocol;
  output: string;
  masq?: boolean;
}

function rulesetFor(services: Service[], slices: EndpointSlice[]) {
  return parseIptables(
    renderIptablesSave({
      state: buildProxyServiceState({ services, endpointSlices: slices, nodeName: TEST_NODE_NAME }),
      config: fakeProxierConfig(),
      node: fakeProxierNode,
      host: fakeProxierHost,
      masqueradeMarkText: '0x4000',
    }),
  );
}

function runFlows(services: Service[], slices: EndpointSlice[], flows: Flow[]) {
  const ruleset = rulesetFor(services, slices);
  for (const f of flows) {
    const e = explainIptables(ruleset, { from: f.sourceIP, to: f.destIP, port: f.destPort, protocol: f.protocol ?? 'TCP', ...(f.sourceIP.startsWith('203.0.113.') ? { arrival: 'external' as const } : {}) }, fakeProxierNode);
    const output = e.verdict === 'DNAT' ? e.possibleEndpoints.join(', ') : e.verdict === 'NONE' ? '' : e.verdict;
    expect({ flow: f.name, output, masq: e.masquerade }).toEqual({ flow: f.name, output: f.output, masq: f.masq ?? false });
  }
}

describe('explainIptables on kube-proxy’s packet-flow tests', () => {
  test('TestTracePacket flows over the TestOverallIPTablesRules services', () => {
    runFlows(overallServices, overallEndpointSlices, [
      { name: 'no match', sourceIP: '10.0.0.2', destIP: '10.0.0.3', destPort: 80, output: '' },
      { name: 'single endpoint', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80' },
      { name: 'multiple endpoints', sourceIP: '10.0.0.2', destIP: '172.30.0.44', destPort: 80, output: '10.180.0.4:80, 10.180.0.5:80' },
      { name: 'LOCAL, KUBE-MARK-MASQ', sourceIP: TEST_NODE_IP, destIP: '192.168.99.22', destPort: 80, output: '10.180.0.2:80', masq: true },
      { name: 'DROP', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '192.168.99.22', destPort: 80, output: 'DROP' },
      { name: 'ACCEPT (NodePortHealthCheck)', sourceIP: TEST_NODE_IP, destIP: TEST_NODE_IP, destPort: 30000, output: 'ACCEPT' },
      { name: 'REJECT', sourceIP: '10.0.0.2', destIP: '172.30.0.46', destPort: 80, output: 'REJECT' },
    ]);
  });

  test('loadBalancerSourceRanges: allowed sources reach the endpoints, others are dropped by KUBE-PROXY-FIREWALL', () => {
    runFlows(overallServices, overallEndpointSlices, [
      { name: 'allowed external client to LB IP', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '5.6.7.8', destPort: 80, output: '10.180.0.3:80', masq: true },
      { name: 'blocked external client to LB IP', sourceIP: TEST_EXTERNAL_CLIENT_BLOCKED, destIP: '5.6.7.8', destPort: 80, output: 'DROP', masq: false },
      { name: 'blocked client to the NodePort (source ranges do not apply)', sourceIP: TEST_EXTERNAL_CLIENT_BLOCKED, destIP: TEST_NODE_IP, destPort: 3002, output: '10.180.0.3:80', masq: true },
      { name: 'pod to eTP Local external IP short-circuits to all endpoints', sourceIP: '10.0.0.2', destIP: '192.168.99.22', destPort: 80, output: '10.180.0.2:80' },
      { name: 'localhost NodePort', sourceIP: '127.0.0.1', destIP: '127.0.0.1', destPort: 3003, output: '10.180.0.3:80', masq: true },
    ]);
  });

  test('TestNoEndpointsReject', () => {
    const svc = makeTestService(
      'ns1',
      'svc1',
      { type: 'LoadBalancer', clusterIP: '172.30.0.41', externalIPs: ['192.168.99.11'], ports: [{ name: 'p80', protocol: 'TCP', port: 80, nodePort: 3001 }] },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    );
    runFlows([svc], [], [
      { name: 'pod to cluster IP with no endpoints', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: 'REJECT' },
      { name: 'external to external IP with no endpoints', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '192.168.99.11', destPort: 80, output: 'REJECT' },
      { name: 'pod to NodePort with no endpoints', sourceIP: '10.0.0.2', destIP: TEST_NODE_IP, destPort: 3001, output: 'REJECT' },
      { name: 'external to NodePort with no endpoints', sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output: 'REJECT' },
      { name: 'pod to LoadBalancer IP with no endpoints', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
      { name: 'external to LoadBalancer IP with no endpoints', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
    ]);
  });

  test('TestInternalTrafficPolicy', () => {
    const cases: { itp: 'Cluster' | 'Local'; eps: [string, string][]; output: string }[] = [
      { itp: 'Cluster', eps: [['10.0.1.1', TEST_NODE_NAME], ['10.0.1.2', 'node1'], ['10.0.1.3', 'node2']], output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80' },
      { itp: 'Local', eps: [['10.0.1.1', TEST_NODE_NAME], ['10.0.1.2', 'node1'], ['10.0.1.3', 'node2']], output: '10.0.1.1:80' },
      { itp: 'Local', eps: [['10.0.1.1', TEST_NODE_NAME], ['10.0.1.2', TEST_NODE_NAME], ['10.0.1.3', 'node2']], output: '10.0.1.1:80, 10.0.1.2:80' },
      { itp: 'Local', eps: [['10.0.1.1', 'node0'], ['10.0.1.2', 'node1'], ['10.0.1.3', 'node2']], output: 'DROP' },
    ];
    for (const c of cases) {
      const svc = makeTestService('ns1', 'svc1', { clusterIP: '172.30.1.1', internalTrafficPolicy: c.itp, ports: [{ name: '', port: 80, protocol: 'TCP' }] });
      const slice = makeTestEndpointSlice('ns1', 'svc1', 1, c.eps.map(([ip, node]) => ({ addresses: [ip], conditions: { ready: true }, nodeName: node })), [{ name: '', port: 80, protocol: 'TCP' }]);
      runFlows([svc], [slice], [{ name: `${c.itp} ${c.output}`, sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: c.output }]);
      runFlows([svc], [], [{ name: 'endpoints deleted', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: 'REJECT' }]);
    }
  });

  const term = (ready: boolean, serving: boolean, terminating: boolean) => ({ ready, serving, terminating });
  const lbService = (etp: 'Local' | 'Cluster') =>
    makeTestService(
      'ns1',
      'svc1',
      { clusterIP: '172.30.1.1', type: 'LoadBalancer', externalTrafficPolicy: etp, ports: [{ name: '', targetPort: 80, port: 80, protocol: 'TCP' }], healthCheckNodePort: 30000 },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    );
  const slice1 = (eps: EndpointSlice['endpoints']) => makeTestEndpointSlice('ns1', 'svc1', 1, eps, [{ name: '', port: 80, protocol: 'TCP' }]);

  test('TestTerminatingEndpointsTrafficPolicyLocal', () => {
    const svc = lbService('Local');
    runFlows([svc], [slice1([
      { addresses: ['10.0.1.1'], conditions: term(true, true, false), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.2'], conditions: term(true, true, false), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.3'], conditions: term(false, true, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.4'], conditions: term(false, false, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.5'], conditions: term(true, true, false), nodeName: 'node-1' },
    ])], [
      { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80' },
      { name: 'external to LB', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80' },
    ]);
    runFlows([svc], [slice1([
      { addresses: ['10.0.1.2'], conditions: term(false, true, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.3'], conditions: term(false, true, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.4'], conditions: term(false, false, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.5'], conditions: term(true, true, false), nodeName: 'node-1' },
    ])], [
      { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.5:80' },
      { name: 'external to LB', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.2:80, 10.0.1.3:80' },
    ]);
    runFlows([svc], [slice1([{ addresses: ['10.0.1.5'], conditions: term(false, true, true), nodeName: 'node-1' }])], [
      { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.5:80' },
      { name: 'external to LB, no locally-usable endpoints', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: 'DROP' },
    ]);
    runFlows([svc], [slice1([
      { addresses: ['10.0.1.5'], conditions: term(false, false, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.5'], conditions: term(false, false, true), nodeName: 'node-1' },
    ])], [
      { name: 'pod to clusterIP, no usable endpoints', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: 'REJECT' },
      { name: 'external to LB, no usable endpoints', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
    ]);
  });

  test('TestTerminatingEndpointsTrafficPolicyCluster', () => {
    const svc = lbService('Cluster');
    runFlows([svc], [slice1([
      { addresses: ['10.0.1.1'], conditions: term(true, true, false), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.2'], conditions: term(true, true, false), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.3'], conditions: term(false, true, true), nodeName: 'another-node' },
      { addresses: ['10.0.1.4'], conditions: term(false, false, true), nodeName: 'another-node' },
      { addresses: ['10.0.1.5'], conditions: term(true, true, false), nodeName: 'another-node' },
    ])], [
      { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80' },
      { name: 'external to LB', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80', masq: true },
    ]);
    runFlows([svc], [slice1([
      { addresses: ['10.0.1.2'], conditions: term(false, true, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.3'], conditions: term(false, true, true), nodeName: TEST_NODE_NAME },
      { addresses: ['10.0.1.4'], conditions: term(false, false, true), nodeName: 'another-node' },
      { addresses: ['10.0.1.5'], conditions: term(false, true, true), nodeName: 'another-node' },
    ])], [
      { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80' },
      { name: 'external to LB', sourceIP: TEST_EXTERNAL_CLIENT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80', masq: true },
    ]);
  });
});

describe('interpreter mechanics', () => {
  const rules = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A PREROUTING -j A
-A PREROUTING -d 10.0.0.9/32 -j DNAT --to-destination 10.9.9.9:1
-A A -g B
-A A -j DNAT --to-destination 10.1.1.1:1
-A B -p udp -j RETURN
-A B -m statistic --mode random --probability 0.25 -j DNAT --to-destination 10.2.2.2:2
COMMIT
`;
  test('goto returns past the calling chain; statistic is explored both ways; RETURN and -p', () => {
    const ruleset = parseIptables(rules);
    const tcp = interpretPacket(ruleset, { src: '10.0.0.1', dst: '10.0.0.9', dport: 80, protocol: 'TCP', path: 'prerouting' }, { localAddresses: [] });
    expect(tcp.map((r) => r.dnat)).toEqual(['10.2.2.2:2', '10.9.9.9:1']);
    const udp = interpretPacket(ruleset, { src: '10.0.0.1', dst: '10.0.0.9', dport: 80, protocol: 'UDP', path: 'prerouting' }, { localAddresses: [] });
    // B RETURNs to PREROUTING (not to A), so A's own DNAT is never reached.
    expect(udp.map((r) => r.dnat)).toEqual(['10.9.9.9:1']);
    expect(ruleHits(tcp[0]!)).toEqual(new Map([['nat/PREROUTING/1', 1], ['nat/A/1', 1], ['nat/B/2', 1]]));
  });

  test('unreadable input is E_IPTABLES_PARSE with the line number', () => {
    expect(() => parseIptables('*nat\n-A NOPE -j ACCEPT\nCOMMIT\n')).toThrow(expect.objectContaining({ code: 'E_IPTABLES_PARSE', message: expect.stringContaining('line 2') }));
    expect(() => parseIptables('*nat\n:X - [0:0]\n-A X --frobnicate 1 -j ACCEPT\nCOMMIT\n')).toThrow(expect.objectContaining({ code: 'E_IPTABLES_PARSE' }));
  });

  test('ClientIP affinity: a recent entry pins the client to its endpoint', () => {
    const ruleset = rulesetFor(overallServices, [
      ...overallEndpointSlices.filter((s) => s.metadata.namespace !== 'ns5'),
      makeTestEndpointSlice('ns5', 'svc5', 1, [{ addresses: ['10.180.0.3'] }, { addresses: ['10.180.0.4'] }], [{ name: 'p80', port: 80, protocol: 'TCP' }]),
    ]);
    const packet = { from: '10.0.0.2', to: '172.30.0.45', port: 80, protocol: 'TCP' as const };
    expect(explainIptables(ruleset, packet, fakeProxierNode).possibleEndpoints).toEqual(['10.180.0.3:80', '10.180.0.4:80']);
    const sep = [...ruleset.tables.get('nat')!.chains.keys()].find((c) =>
      ruleset.tables.get('nat')!.chains.get(c)!.rules.some((r) => r.text.includes('--to-destination 10.180.0.4:80') && r.text.includes('ns5')),
    )!;
    const pinned = explainIptables(ruleset, packet, fakeProxierNode, { recent: new Map([[sep, new Map([['10.0.0.2', [100]]])]]), now: 200 });
    expect(pinned.possibleEndpoints).toEqual(['10.180.0.4:80']);
    const expired = explainIptables(ruleset, packet, fakeProxierNode, { recent: new Map([[sep, new Map([['10.0.0.2', [100]]])]]), now: 100 + 10801 });
    expect(expired.possibleEndpoints).toEqual(['10.180.0.3:80', '10.180.0.4:80']);
  });
});
