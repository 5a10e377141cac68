// kube-proxy's iptables rules, as the simulator renders the node's whole ruleset (kubelet's, kube-proxy's and the
// VPC CNI's chains), loaded with iptables-restore into a network namespace this test creates. Real TCP and UDP
// connections to ClusterIPs and NodePorts must land on an endpoint the simulator allows, be refused where it says
// REJECT, and the nat rules the kernel counted for the connection's first packet must be exactly the rules the
// interpreter names with `statistic` forced to the endpoint that answered.
// Runs as root with `ip` and iptables; otherwise it reports itself skipped with the reason (fails under CI=true).
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Protocol } from '../../src/api/meta.js';
import { cniIptablesRules } from '../../src/cni/iptables.js';
import { resolveKubeProxyConfiguration } from '../../src/proxy/config.js';
import { interpretPacket, ruleHits } from '../../src/proxy/interpreter/evaluate.js';
import { explainIptables, interpreterPacketOf } from '../../src/proxy/interpreter/explain.js';
import { parseIptables } from '../../src/proxy/interpreter/ruleset.js';
import { renderIptablesSave } from '../../src/proxy/iptables/save.js';
import { buildProxyServiceState } from '../../src/proxy/service-port.js';
import { makeService, makeSlice } from '../proxy-modes/fixtures.js';
import { TestNamespace, listenersOf, connectOnce, kernelCapability, requireKernel, runCommand, startListeners } from '../support/kernel.js';

const capability = kernelCapability(['iptables']);
if (capability.reason !== undefined) console.warn(`iptables kernel test skipped: ${capability.reason}`);
else console.info(`iptables kernel test: ${capability.iptablesVersion} (${capability.iptablesBackend})`);

const NODE_IP = '192.168.0.2';
const NODE = 'node-a';

const ep = (port: number, name: string, protocol: Protocol = 'TCP') => [{ name, port, protocol }];

// Endpoints are addresses on lo of the namespace, so every connection stays inside it.
const services = [
  makeService('shop', 'web', { clusterIP: '172.30.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }),
  makeService('shop', 'api', { type: 'NodePort', clusterIP: '172.30.0.11', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080, targetPort: 8081 }] }),
  makeService('kube-system', 'dns', { clusterIP: '172.30.0.12', ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] }),
  makeService('shop', 'empty', { type: 'NodePort', clusterIP: '172.30.0.13', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30081 }] }),
  makeService('shop', 'local', { type: 'NodePort', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.14', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30082, targetPort: 8082 }] }),
  makeService('shop', 'sticky', {
    clusterIP: '172.30.0.15',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8083 }],
  }),
  makeService('shop', 'three', { clusterIP: '172.30.0.16', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8084 }] }),
];
const endpointSlices = [
  makeSlice('shop', 'web', [{ addresses: ['10.180.0.1'], nodeName: NODE }, { addresses: ['10.180.0.2'], nodeName: NODE }], ep(8080, 'http')),
  makeSlice('shop', 'api', [{ addresses: ['10.180.0.3'], nodeName: NODE }], ep(8081, 'http')),
  makeSlice('kube-system', 'dns', [{ addresses: ['10.180.0.4'], nodeName: NODE }], ep(5353, 'dns', 'UDP')),
  // On another node: eTP Local has no local endpoint, but the node's own traffic is routed to all endpoints.
  makeSlice('shop', 'local', [{ addresses: ['10.180.0.5'], nodeName: 'node-b' }], ep(8082, 'http')),
  makeSlice('shop', 'sticky', [{ addresses: ['10.180.0.6'], nodeName: NODE }, { addresses: ['10.180.0.7'], nodeName: NODE }], ep(8083, 'http')),
  makeSlice('shop', 'three', [{ addresses: ['10.180.0.8'] }, { addresses: ['10.180.0.9'] }, { addresses: ['10.180.0.10'] }], ep(8084, 'http')),
];
const LISTENERS = listenersOf(endpointSlices);
const LOCAL_ADDRESSES = [NODE_IP, ...new Set(LISTENERS.map((l) => l.ip))];

// EKS defaults (no clusterCIDR, so no local detector). nfacct counters are not created here, so kube-proxy
// writes no nfacct matches, as it does on a kernel without nfacct.
const saveText = renderIptablesSave({
  state: buildProxyServiceState({ services, endpointSlices, nodeName: NODE }),
  config: resolveKubeProxyConfiguration(),
  node: { name: NODE, ips: [NODE_IP] },
  host: { nfacctCounters: { localhostNodePortsAccepted: false, ctStateInvalidDropped: false } },
  cni: cniIptablesRules({ vpcCIDRs: ['192.168.0.0/16'], nodePrimaryIP: NODE_IP }),
});
const ruleset = parseIptables(saveText);
const simNode = { name: NODE, ips: LOCAL_ADDRESSES };

/** Per-rule packet counters of one table, keyed `table/CHAIN/index` (1-based), from `iptables-save -c`. */
function readCounters(ns: TestNamespace, tool: string, table: string): Map<string, number> {
  const out = new Map<string, number>();
  const index = new Map<string, number>();
  for (const line of ns.exec([`${tool}-save`, '-c', '-t', table]).split('\n')) {
    const m = /^\[(\d+):\d+\] -A (\S+)/.exec(line);
    if (!m) continue;
    const i = (index.get(m[2]!) ?? 0) + 1;
    index.set(m[2]!, i);
    out.set(`${table}/${m[2]}/${i}`, Number(m[1]));
  }
  return out;
}

/** Chain → rules of one table as iptables-save prints them (counters and comments dropped). */
function savedRules(text: string, table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\[\d+:\d+\] /, '');
    if (line.startsWith('*')) current = line.slice(1);
    if (current !== table) continue;
    const chain = /^:(\S+) /.exec(line);
    if (chain && !out.has(chain[1]!)) out.set(chain[1]!, []);
    if (line.startsWith('-A ')) out.get(line.split(' ')[1]!)?.push(line);
  }
  return out;
}

const POD_IP = '10.0.5.5';

// The default `iptables` (here the nf_tables backend) always; iptables-legacy too where it is installed. Each backend
// gets namespaces of its own, so the two never filter the same packets.
const legacyAvailable = capability.reason === undefined && runCommand('iptables-legacy-restore', ['--version']).status === 0;
const backends = [{ tool: 'iptables', label: capability.iptablesBackend ?? 'default' }, ...(legacyAvailable ? [{ tool: 'iptables-legacy', label: 'legacy' }] : [])];

for (const { tool, label } of backends) describe(`iptables ruleset in the kernel (${tool}, ${label})`, () => {
  const ns = new TestNamespace(tool === 'iptables' ? 'knsim-ipt' : 'knsim-iptl');
  // A pod of the node in a namespace of its own: its packets enter the node through nat PREROUTING.
  const podNs = new TestNamespace(tool === 'iptables' ? 'knsim-ipt-pod' : 'knsim-iptl-pod');
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    if (capability.reason !== undefined) return;
    ns.create();
    podNs.create();
    expect(ns.exists()).toBe(true);
    expect(podNs.exists()).toBe(true);
    ns.setUpNode(NODE_IP, LISTENERS.map((l) => l.ip));
    ns.attachPod(podNs, 'eni1', '10.0.5.1', POD_IP);
    // kube-proxy sets route_localnet when localhost NodePorts are on (the default).
    ns.exec(['sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1']);
    ns.exec([`${tool}-restore`], saveText);
    server = await startListeners(ns, LISTENERS);
  });

  afterAll(() => {
    server?.kill();
    if (capability.reason === undefined) {
      ns.delete();
      podNs.delete();
    }
  });

  it('the kernel prints back the rules the simulator rendered (iptables-save view)', (ctx) => {
    requireKernel(ctx, capability);
    const kernel = ns.exec([`${tool}-save`]);
    for (const table of ['mangle', 'nat', 'filter']) {
      expect(savedRules(kernel, table)).toEqual(savedRules(saveText, table));
    }
    // nf_tables: the very text, table and chain order included (legacy orders tables by kernel registration).
    if (label === 'nf_tables') expect(kernel.split('\n').filter((l) => !l.startsWith('#')).join('\n')).toBe(saveText);
  });

  // What kube-proxy does with each flow (its documented behaviour, not the simulator's answer): the endpoints the
  // connection may reach, or REJECT (icmp port-unreachable, so the client sees "connection refused").
  const WEB = ['10.180.0.1:8080', '10.180.0.2:8080'];
  const THREE = ['10.180.0.10:8084', '10.180.0.8:8084', '10.180.0.9:8084'];
  const API = ['10.180.0.3:8081'];
  const DNS = ['10.180.0.4:5353'];
  const flows: { name: string; to: string; port: number; protocol: Protocol; fromPod?: boolean; fromLocalhost?: boolean; expected: string[] | 'REJECT' }[] = [
    { name: 'ClusterIP with two endpoints', to: '172.30.0.10', port: 80, protocol: 'TCP', expected: WEB },
    { name: 'ClusterIP with two endpoints, again', to: '172.30.0.10', port: 80, protocol: 'TCP', expected: WEB },
    { name: 'ClusterIP with three endpoints (statistic 1/3 then 1/2)', to: '172.30.0.16', port: 80, protocol: 'TCP', expected: THREE },
    { name: 'ClusterIP of a NodePort Service', to: '172.30.0.11', port: 80, protocol: 'TCP', expected: API },
    { name: 'NodePort on the node IP (masqueraded)', to: NODE_IP, port: 30080, protocol: 'TCP', expected: API },
    { name: 'UDP ClusterIP', to: '172.30.0.12', port: 53, protocol: 'UDP', expected: DNS },
    { name: 'ClusterIP without endpoints', to: '172.30.0.13', port: 80, protocol: 'TCP', expected: 'REJECT' },
    { name: 'NodePort without endpoints', to: NODE_IP, port: 30081, protocol: 'TCP', expected: 'REJECT' },
    { name: 'eTP Local NodePort from the node itself (routed to all endpoints)', to: NODE_IP, port: 30082, protocol: 'TCP', expected: ['10.180.0.5:8082'] },
    { name: 'ClientIP affinity, first connection', to: '172.30.0.15', port: 80, protocol: 'TCP', expected: ['10.180.0.6:8083', '10.180.0.7:8083'] },
    { name: 'NodePort on localhost (localhostNodePorts)', to: '127.0.0.1', port: 30080, protocol: 'TCP', fromLocalhost: true, expected: API },
    { name: 'from a pod: ClusterIP (nat PREROUTING)', to: '172.30.0.16', port: 80, protocol: 'TCP', fromPod: true, expected: THREE },
    { name: 'from a pod: UDP ClusterIP', to: '172.30.0.12', port: 53, protocol: 'UDP', fromPod: true, expected: DNS },
    { name: 'from a pod: NodePort on the node IP', to: NODE_IP, port: 30080, protocol: 'TCP', fromPod: true, expected: API },
    { name: 'from a pod: ClusterIP without endpoints (filter FORWARD)', to: '172.30.0.13', port: 80, protocol: 'TCP', fromPod: true, expected: 'REJECT' },
    { name: 'from a pod: NodePort without endpoints (filter INPUT)', to: NODE_IP, port: 30081, protocol: 'TCP', fromPod: true, expected: 'REJECT' },
  ];

  for (const flow of flows) {
    it(flow.name, (ctx) => {
      requireKernel(ctx, capability);
      const packet = { from: flow.fromPod ? POD_IP : flow.fromLocalhost ? '127.0.0.1' : NODE_IP, to: flow.to, port: flow.port, protocol: flow.protocol, arrival: flow.fromPod ? ('pod' as const) : ('host' as const) };
      const simulated = explainIptables(ruleset, packet, simNode);
      for (const table of ['nat', 'filter', 'mangle']) ns.exec([tool, '-t', table, '-Z']);
      const answer = connectOnce(flow.fromPod ? podNs : ns, flow.protocol, flow.to, flow.port);
      const nat = readCounters(ns, tool, 'nat');
      const filter = readCounters(ns, tool, 'filter');
      // Simulator and kernel must not merely agree with each other: both must do what kube-proxy does.
      if (flow.expected === 'REJECT') {
        expect(simulated.verdict).toBe('REJECT');
        expect(answer).toBe('REFUSED');
      } else {
        expect(simulated.verdict).toBe('DNAT');
        expect([...simulated.possibleEndpoints].sort()).toEqual(flow.expected);
        expect(flow.expected).toContain(answer);
      }

      if (simulated.verdict === 'DNAT') {
        expect(simulated.possibleEndpoints).toContain(answer);
        if (simulated.possibleEndpoints.length === 1) expect(answer).toBe(simulated.possibleEndpoints[0]);
      } else {
        expect({ verdict: simulated.verdict, answer }).toEqual({ verdict: simulated.verdict, answer: simulated.verdict === 'REJECT' ? 'REFUSED' : 'TIMEOUT' });
      }
      // nat sees only a connection's first packet: its counters are exactly that packet's path.
      const runs = interpretPacket(ruleset, interpreterPacketOf(packet, simNode), { localAddresses: simNode.ips });
      const run = simulated.verdict === 'DNAT' ? runs.find((r) => r.dnat === answer)! : runs[0]!;
      const expectedNat = [...ruleHits(run)].filter(([k]) => k.startsWith('nat/'));
      const kernelNat = [...nat].filter(([, n]) => n > 0);
      expect(new Map(kernelNat)).toEqual(new Map(expectedNat));
      if (simulated.verdict === 'REJECT') {
        // The filter rule that rejected it in the simulation counted the packet in the kernel.
        const decisive = [...ruleHits(run).keys()].filter((k) => k.startsWith('filter/')).at(-1)!;
        expect(run.matched.at(-1)!.rule.target?.name).toBe('REJECT');
        expect(filter.get(decisive)).toBeGreaterThan(0);
      }
    });
  }

  it('keeps a ClientIP-affinity client on one endpoint (recent module)', (ctx) => {
    requireKernel(ctx, capability);
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add(connectOnce(ns, 'TCP', '172.30.0.15', 80));
    expect(answers.size).toBe(1);
    expect(['10.180.0.6:8083', '10.180.0.7:8083']).toContain([...answers][0]);
  });
});
