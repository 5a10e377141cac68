// kube-proxy's nftables table, as the simulator renders it, loaded into a real kernel: in a network namespace this
// test creates, real connections to ClusterIPs and NodePorts must land on an endpoint the simulator allows, be
// rejected or dropped where it says so, and pass through exactly the per-service rules its evaluator names.
// Runs as root with `ip` and `nft`; otherwise it reports itself skipped with the reason (and fails under CI=true).
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Protocol } from '../../src/api/meta.js';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { buildNftablesRuleset } from '../../src/proxy/nftables/build.js';
import { explainNftables } from '../../src/proxy/nftables/explain.js';
import { nftRuleText, printNftablesRuleset } from '../../src/proxy/nftables/print.js';
import type { NftRuleset } from '../../src/proxy/nftables/ruleset.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import { makeService, makeSlice } from '../proxy-modes/fixtures.js';
import { TestNamespace, listenersOf, connectOnce, kernelCapability, requireKernel, startListeners } from '../support/kernel.js';

const capability = kernelCapability(['nft']);
if (capability.reason !== undefined) console.warn(`nftables kernel test skipped: ${capability.reason}`);

// Two namespaces of the test's own: the node, and a client outside it on the node's link (traffic from there takes
// the prerouting path: filter-prerouting-pre-dnat, nat-prerouting, then filter-input or filter-forward).
const ns = new TestNamespace('knsim-nft');
const client = new TestNamespace('knsim-nftc');
const NODE_IP = '192.168.0.2';
const CLIENT_IP = '192.168.0.9';

// The cluster the node sees. Endpoints are all "on this node" (addresses on lo) so connections stay inside.
const ep = (port: number, name: string, protocol: Protocol = 'TCP') => [{ name, port, protocol }];
const services = [
  makeService('shop', 'web', { clusterIP: '172.30.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }),
  makeService('shop', 'api', { type: 'NodePort', clusterIP: '172.30.0.11', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080, targetPort: 8081 }] }),
  makeService('kube-system', 'dns', { clusterIP: '172.30.0.12', ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] }),
  makeService('shop', 'empty', { type: 'NodePort', clusterIP: '172.30.0.13', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }] }),
  makeService('shop', 'local', {
    type: 'NodePort',
    externalTrafficPolicy: 'Local',
    clusterIP: '172.30.0.14',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30082, targetPort: 8082 }],
  }),
  makeService(
    'shop',
    'lb',
    { type: 'LoadBalancer', clusterIP: '172.30.0.16', loadBalancerSourceRanges: [`${CLIENT_IP}/32`], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30083, targetPort: 8085 }] },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  ),
  makeService(
    'shop',
    'lb-closed',
    { type: 'LoadBalancer', clusterIP: '172.30.0.17', loadBalancerSourceRanges: ['203.0.113.0/24'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30084, targetPort: 8085 }] },
    { loadBalancer: { ingress: [{ ip: '1.2.3.5' }] } },
  ),
  makeService('shop', 'sticky', {
    clusterIP: '172.30.0.15',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8083 }],
  }),
];
const endpointSlices = [
  makeSlice('shop', 'web', [{ addresses: ['10.180.0.1'], nodeName: 'node-a' }, { addresses: ['10.180.0.2'], nodeName: 'node-a' }], ep(8080, 'http')),
  makeSlice('shop', 'api', [{ addresses: ['10.180.0.3'], nodeName: 'node-a' }], ep(8081, 'http')),
  makeSlice('kube-system', 'dns', [{ addresses: ['10.180.0.4'], nodeName: 'node-a' }], ep(5353, 'dns', 'UDP')),
  // On another node: eTP Local has no local endpoint, but host traffic is short-circuited to all endpoints.
  makeSlice('shop', 'local', [{ addresses: ['10.180.0.5'], nodeName: 'node-b' }], ep(8082, 'http')),
  makeSlice('shop', 'lb', [{ addresses: ['10.180.0.8'], nodeName: 'node-a' }], ep(8085, 'http')),
  makeSlice('shop', 'lb-closed', [{ addresses: ['10.180.0.8'], nodeName: 'node-a' }], ep(8085, 'http')),
  makeSlice('shop', 'sticky', [{ addresses: ['10.180.0.6'], nodeName: 'node-a' }, { addresses: ['10.180.0.7'], nodeName: 'node-a' }], ep(8083, 'http')),
];
const LISTENERS = listenersOf(endpointSlices);
const LOCAL_ADDRESSES = [NODE_IP, ...new Set(LISTENERS.map((l) => l.ip))];

const ruleset: NftRuleset = buildNftablesRuleset({
  state: buildProxyServiceState({ services, endpointSlices, nodeName: 'node-a' }),
  node: { name: 'node-a', ips: [NODE_IP] },
  config: resolveKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'nftables', clusterCIDR: '10.0.0.0/8' }),
  serviceCIDRs: ['172.30.0.0/16'],
});

/** Packets counted per rule, keyed `chain#index` (rule order within a chain is the structure's order). */
function readCounters(): Map<string, number> {
  const json = JSON.parse(ns.exec(['nft', '-j', 'list', 'table', 'ip', 'kube-proxy'])) as { nftables: Array<{ rule?: { chain: string; expr: Array<Record<string, unknown>> } }> };
  const out = new Map<string, number>();
  const index = new Map<string, number>();
  for (const item of json.nftables) {
    if (!item.rule) continue;
    const i = index.get(item.rule.chain) ?? 0;
    index.set(item.rule.chain, i + 1);
    const counter = item.rule.expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
    out.set(`${item.rule.chain}#${i}`, counter?.packets ?? 0);
  }
  return out;
}

/** `chain#index` of a printed rule line of the explanation. */
function ruleKeys(lines: readonly string[]): Set<string> {
  const byText = new Map<string, string>();
  for (const chain of ruleset.chains.values()) {
    chain.rules.forEach((r, i) => byText.set(`add rule ip kube-proxy ${chain.name} ${nftRuleText(r)}`, `${chain.name}#${i}`));
  }
  return new Set(lines.map((l) => byText.get(l)).filter((k): k is string => k !== undefined));
}

/** Per-service chains (their names carry `/`): traversed only by the connection under test. */
const isServiceRule = (key: string) => key.split('#')[0]!.includes('/');

describe('nftables ruleset in the kernel', () => {
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    if (capability.reason !== undefined) return;
    // create() asserts each namespace exists before any socket is opened in it.
    ns.create();
    client.create();
    for (const n of [ns, client]) n.exec(['ip', 'link', 'set', 'lo', 'up']);
    ns.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name]);
    ns.exec(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
    client.exec(['ip', 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0']);
    for (const n of [ns, client]) n.exec(['ip', 'link', 'set', 'eth0', 'up']);
    // The client reaches ClusterIPs and LB IPs through the node; the node routes them out of eth0, as to the VPC.
    client.exec(['ip', 'route', 'add', 'default', 'via', NODE_IP]);
    ns.exec(['ip', 'route', 'add', 'default', 'via', CLIENT_IP]);
    ns.exec(['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']); // a node forwards (pod and service traffic)
    // The kernel rate-limits ICMP errors per peer and a new peer starts with no tokens, so the REJECT of a client's
    // first SYN would go unanswered; without the limit every REJECT answers at once (loopback is never limited).
    ns.exec(['sh', '-c', 'echo 0 > /proc/sys/net/ipv4/icmp_ratelimit']);
    for (const ip of new Set(LISTENERS.map((l) => l.ip))) ns.exec(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
    ns.exec(['nft', '-f', '-'], printNftablesRuleset(ruleset, { counters: true }));
    server = await startListeners(ns, LISTENERS);
  });

  afterAll(() => {
    server?.kill();
    if (capability.reason === undefined) for (const n of [ns, client]) n.delete();
  });

  // What kube-proxy's nftables mode does with each flow (upstream behaviour, not the evaluator's answer): the endpoints
  // the connection may reach, REJECT (the client sees "connection refused") or DROP (the client times out).
  const WEB = ['10.180.0.1:8080', '10.180.0.2:8080'];
  const API = ['10.180.0.3:8081'];
  const DNS = ['10.180.0.4:5353'];
  type Expected = string[] | 'REJECT' | 'DROP';
  const flows: Array<{ name: string; to: string; port: number; protocol: Protocol; from?: 'client'; expected: Expected }> = [
    { name: 'ClusterIP with two endpoints', to: '172.30.0.10', port: 80, protocol: 'TCP', expected: WEB },
    { name: 'ClusterIP with two endpoints, again', to: '172.30.0.10', port: 80, protocol: 'TCP', expected: WEB },
    { name: 'ClusterIP of a NodePort Service', to: '172.30.0.11', port: 80, protocol: 'TCP', expected: API },
    { name: 'NodePort on the node IP', to: NODE_IP, port: 30080, protocol: 'TCP', expected: API },
    { name: 'UDP ClusterIP', to: '172.30.0.12', port: 53, protocol: 'UDP', expected: DNS },
    { name: 'ClusterIP without endpoints', to: '172.30.0.13', port: 80, protocol: 'TCP', expected: 'REJECT' },
    { name: 'NodePort without endpoints', to: NODE_IP, port: 30081, protocol: 'TCP', expected: 'REJECT' },
    { name: 'valid ClusterIP, port not in the Service', to: '172.30.0.10', port: 81, protocol: 'TCP', expected: 'REJECT' },
    { name: 'unallocated address in the service CIDR', to: '172.30.0.99', port: 80, protocol: 'TCP', expected: 'DROP' },
    { name: 'eTP Local NodePort from the node itself (short-circuit)', to: NODE_IP, port: 30082, protocol: 'TCP', expected: ['10.180.0.5:8082'] },
    { name: 'ClientIP affinity, first connection', to: '172.30.0.15', port: 80, protocol: 'TCP', expected: ['10.180.0.6:8083', '10.180.0.7:8083'] },
    { name: 'from outside: ClusterIP', to: '172.30.0.10', port: 80, protocol: 'TCP', from: 'client', expected: WEB },
    { name: 'from outside: NodePort', to: NODE_IP, port: 30080, protocol: 'TCP', from: 'client', expected: API },
    { name: 'from outside: UDP ClusterIP', to: '172.30.0.12', port: 53, protocol: 'UDP', from: 'client', expected: DNS },
    { name: 'from outside: eTP Local NodePort without a local endpoint (DROP)', to: NODE_IP, port: 30082, protocol: 'TCP', from: 'client', expected: 'DROP' },
    { name: 'from outside: ClusterIP without endpoints (forwarded, REJECT)', to: '172.30.0.13', port: 80, protocol: 'TCP', from: 'client', expected: 'REJECT' },
    { name: 'from outside: NodePort without endpoints', to: NODE_IP, port: 30081, protocol: 'TCP', from: 'client', expected: 'REJECT' },
    { name: 'from outside: unallocated service-CIDR address', to: '172.30.0.99', port: 80, protocol: 'TCP', from: 'client', expected: 'DROP' },
    { name: 'from outside: LB IP, source in loadBalancerSourceRanges', to: '1.2.3.4', port: 80, protocol: 'TCP', from: 'client', expected: ['10.180.0.8:8085'] },
    { name: 'from outside: LB IP, source not in loadBalancerSourceRanges (DROP)', to: '1.2.3.5', port: 80, protocol: 'TCP', from: 'client', expected: 'DROP' },
  ];

  for (const flow of flows) {
    it(flow.name, (ctx) => {
      requireKernel(ctx, capability);
      const packet = flow.from === 'client'
        ? { from: CLIENT_IP, to: flow.to, port: flow.port, protocol: flow.protocol, arrival: 'external' as const }
        : { from: NODE_IP, to: flow.to, port: flow.port, protocol: flow.protocol };
      const simulated = explainNftables(ruleset, packet, LOCAL_ADDRESSES);
      const before = readCounters();
      const answer = connectOnce(flow.from === 'client' ? client : ns, flow.protocol, flow.to, flow.port);
      const after = readCounters();
      // Evaluator and kernel must not merely agree with each other: both must do what kube-proxy does.
      if (Array.isArray(flow.expected)) {
        expect(simulated.verdict).toBe('DNAT');
        expect([...simulated.possibleEndpoints].sort()).toEqual(flow.expected);
        expect(flow.expected).toContain(answer);
      } else {
        expect(simulated.verdict).toBe(flow.expected);
        expect(answer).toBe(flow.expected === 'REJECT' ? 'REFUSED' : 'TIMEOUT');
      }

      if (simulated.verdict === 'DNAT') {
        expect(simulated.possibleEndpoints).toContain(answer);
        if (simulated.possibleEndpoints.length === 1) expect(answer).toBe(simulated.possibleEndpoints[0]);
      } else {
        expect({ verdict: simulated.verdict, answer }).toEqual({ verdict: simulated.verdict, answer: simulated.verdict === 'REJECT' ? 'REFUSED' : 'TIMEOUT' });
      }
      // The per-service rules the kernel counted are the ones the evaluator names for the endpoint it chose.
      const forced = simulated.verdict === 'DNAT' ? explainNftables(ruleset, packet, LOCAL_ADDRESSES, { forceEndpoint: answer }) : simulated;
      const hit = [...after].filter(([k, n]) => isServiceRule(k) && n > (before.get(k) ?? 0)).map(([k]) => k);
      expect(new Set(hit)).toEqual(new Set([...ruleKeys(forced.rules)].filter(isServiceRule)));
      if (simulated.verdict !== 'DNAT') {
        // The rule that rejected or dropped it in the simulation is the one the kernel counted.
        const decisive = [...ruleKeys(simulated.rules)].at(-1)!;
        expect(decisive).toMatch(/^(reject-chain|cluster-ips-check|nodeport-endpoints-check|firewall-[A-Z2-7]{8}-)/);
        expect(after.get(decisive)! - (before.get(decisive) ?? 0)).toBeGreaterThan(0);
      }
    });
  }

  it('nft accepts every kind of rule the builder writes (check mode)', (ctx) => {
    requireKernel(ctx, capability);
    // Unnamed port, UDP and SCTP, eTP Local with local endpoints (local- chain), iTP Local without, affinity, LB
    // source ranges containing the node, external IPs, masqueradeAll, NodePorts on every address (fib rules).
    const wide = buildNftablesRuleset({
      state: buildProxyServiceState({
        services: [
          makeService('a', 'unnamed', { clusterIP: '172.30.1.1', ports: [{ port: 80, protocol: 'TCP' }] }),
          makeService('a', 'multi', {
            type: 'LoadBalancer',
            externalTrafficPolicy: 'Local',
            internalTrafficPolicy: 'Local',
            clusterIP: '172.30.1.2',
            externalIPs: ['192.168.99.5'],
            loadBalancerSourceRanges: ['192.168.0.0/16', '203.0.113.0/24'],
            sessionAffinity: 'ClientIP',
            ports: [
              { name: 'dns', port: 53, protocol: 'UDP', nodePort: 31000 },
              { name: 'sig', port: 3868, protocol: 'SCTP', nodePort: 31001 },
            ],
          }, { loadBalancer: { ingress: [{ ip: '1.2.3.9' }] } }),
        ],
        endpointSlices: [
          makeSlice('a', 'unnamed', [{ addresses: ['10.180.5.1'] }], [{ port: 8080, protocol: 'TCP' }]),
          makeSlice('a', 'multi', [{ addresses: ['10.180.5.2'], nodeName: 'node-a' }, { addresses: ['10.180.5.3'], nodeName: 'node-b' }], [
            { name: 'dns', port: 5353, protocol: 'UDP' },
            { name: 'sig', port: 3868, protocol: 'SCTP' },
          ]),
        ],
        nodeName: 'node-a',
      }),
      node: { name: 'node-a', ips: [NODE_IP] },
      config: resolveKubeProxyConfiguration({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'nftables',
        clusterCIDR: '10.0.0.0/8',
        nodePortAddresses: ['0.0.0.0/0'],
        nftables: { masqueradeAll: true },
      }),
      serviceCIDRs: ['172.30.0.0/16', '172.31.0.0/16'],
    });
    const text = printNftablesRuleset(wide).replaceAll(' kube-proxy ', ' kube-proxy-check ');
    for (const fragment of ['add chain ip kube-proxy-check local-', 'fib daddr type local', 'meta l4proto sctp dnat to', 'update @affinity-', '{ 172.30.0.0/16,172.31.0.0/16 }']) {
      expect(text).toContain(fragment);
    }
    ns.exec(['nft', '-c', '-f', '-'], text); // throws with nft's message when a line is rejected
  });

  it('keeps a ClientIP-affinity client on one endpoint', (ctx) => {
    requireKernel(ctx, capability);
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(connectOnce(ns, 'TCP', '172.30.0.15', 80));
    expect(answers.size).toBe(1);
    expect(['10.180.0.6:8083', '10.180.0.7:8083']).toContain([...answers][0]);
  });
});
