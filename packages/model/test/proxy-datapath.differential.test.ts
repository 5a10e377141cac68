// The WebAssembly datapath, fed by DatapathProxySync, against the rule evaluators (the iptables interpreter on the
// node's iptables-save, explainNftables, explainIpvs) on random small clusters: for
// every packet the datapath's verdict must be the evaluator's, its endpoint one the evaluator allows, and its
// masquerade decision the evaluator's for that endpoint. LoadBalancer Services have two ingress IPs and
// loadBalancerSourceRanges drawn from ranges that hold the packets' sources or not, node-a's primary IP or not (its
// secondary one does not count), and the load-balancer IPs themselves, which are sources too.
import { ResultFlag, Verdict, loadDatapathSync } from '@kube-netsim/datapath';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint, EndpointSlice, Service } from '../src/api/core.js';
import type { ProxyMode } from '../src/api/config.js';
import { resolveKubeProxyConfiguration } from '../src/proxy/config.js';
import type { Explanation, ProxyPacket } from '../src/proxy/explain-types.js';
import { buildIpvsState } from '../src/proxy/ipvs/build.js';
import { explainIpvs } from '../src/proxy/ipvs/explain.js';
import { explainIptables } from '../src/proxy/interpreter/explain.js';
import { parseIptables } from '../src/proxy/interpreter/ruleset.js';
import { renderIptablesSave } from '../src/proxy/iptables/save.js';
import { buildNftablesRuleset } from '../src/proxy/nftables/build.js';
import { explainNftables } from '../src/proxy/nftables/explain.js';
import { buildProxyServiceState } from '../src/proxy/service-port.js';
import { DatapathProxySync } from '../src/proxy/sync/datapath-sync.js';
import { makeService, makeSlice } from './proxy-modes/fixtures.js';

const NODES = [
  { name: 'node-a', ips: ['192.168.0.2', '192.168.1.2'] },
  { name: 'node-b', ips: ['192.168.0.3'] },
];
/** Pod IPs say where the pod runs: 10.180.0.x on node-a, 10.180.1.x on node-b, 10.180.2.x on a node outside. */
const NODE_OF_SUBNET = ['node-a', 'node-b', 'node-c'];

interface ServiceSpec {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  udp: boolean;
  eTPLocal: boolean;
  iTPLocal: boolean;
  affinity: boolean;
  /** loadBalancerSourceRanges (LoadBalancer Services only). */
  ranges: string[];
  /** One external IP: svc0's is node-b's address (so not on kube-ipvs0 there), the others' 198.51.100.(10 + i). */
  externalIP: boolean;
  endpoints: Array<{ subnet: number; host: number; ready: boolean; serving: boolean; terminating: boolean }>;
}

const serviceArb = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer') as fc.Arbitrary<ServiceSpec['type']>,
  udp: fc.boolean(),
  eTPLocal: fc.boolean(),
  iTPLocal: fc.boolean(),
  affinity: fc.boolean(),
  externalIP: fc.boolean(),
  ranges: fc.oneof(fc.constant<string[]>([]), fc.subarray(['203.0.113.0/24', '192.168.0.2/32', '192.168.0.0/24', '192.168.1.0/24', '10.0.0.0/24', '1.2.3.0/24'], { minLength: 1 })),
  endpoints: fc.uniqueArray(
    fc.record({ subnet: fc.integer({ min: 0, max: 2 }), host: fc.integer({ min: 1, max: 4 }), ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() }),
    { maxLength: 4, selector: (e) => `${e.subnet}.${e.host}` },
  ),
});

const scenarioArb = fc.record({
  mode: fc.constantFrom<ProxyMode>('iptables', 'nftables', 'ipvs'),
  detector: fc.boolean(),
  masqueradeAll: fc.boolean(),
  services: fc.array(serviceArb, { minLength: 1, maxLength: 4 }),
  packets: fc.array(
    fc.record({
      service: fc.nat(),
      target: fc.constantFrom('clusterIP', 'clusterIPOtherPort', 'unallocated', 'nodePort', 'nodePortSecondary', 'localhostNodePort', 'loadBalancer', 'loadBalancer2', 'other',
        'loadBalancerOtherPort', 'externalIP', 'externalIPOtherPort', 'healthCheck', 'healthCheckLoadBalancer', 'healthCheckNode'),
      // lb: the target's own LB IP as the source (see packetOf); lb2Pod: the Service's second LB IP as a pod's source
      source: fc.constantFrom('pod', 'endpoint', 'host', 'external', 'lb', 'lb2Pod'),
      host: fc.integer({ min: 1, max: 4 }),
      srcPort: fc.integer({ min: 1024, max: 65535 }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
});

function cluster(specs: ServiceSpec[]): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  specs.forEach((s, i) => {
    const protocol = s.udp ? 'UDP' : 'TCP';
    const port = { name: 'p', port: 80, protocol, ...(s.type !== 'ClusterIP' ? { nodePort: 30000 + i } : {}) } as const;
    services.push(
      makeService(
        'ns',
        `svc${i}`,
        {
          type: s.type,
          clusterIP: `172.30.0.${10 + i}`,
          ports: [port],
          ...(s.type !== 'ClusterIP' ? { externalTrafficPolicy: s.eTPLocal ? 'Local' : 'Cluster' } : {}),
          internalTrafficPolicy: s.iTPLocal ? 'Local' : 'Cluster',
          ...(s.affinity ? { sessionAffinity: 'ClientIP' as const } : {}),
          ...(s.type === 'LoadBalancer' && s.ranges.length > 0 ? { loadBalancerSourceRanges: s.ranges } : {}),
          ...(s.type === 'LoadBalancer' && s.eTPLocal ? { healthCheckNodePort: healthCheckNodePortOf(i) } : {}),
          ...(s.externalIP ? { externalIPs: [externalIPOf(i)] } : {}),
        },
        s.type === 'LoadBalancer' ? { loadBalancer: { ingress: [{ ip: `1.2.3.${10 + i}` }, { ip: `1.2.3.${100 + i}` }] } } : undefined,
      ),
    );
    const endpoints: Endpoint[] = s.endpoints.map((e) => ({
      addresses: [`10.180.${e.subnet}.${e.host}`],
      nodeName: NODE_OF_SUBNET[e.subnet]!,
      conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
    }));
    slices.push(makeSlice('ns', `svc${i}`, endpoints, [{ name: 'p', port: 8080, protocol }]));
  });
  return { services, slices };
}

const externalIPOf = (i: number) => (i === 0 ? NODES[1]!.ips[0]! : `198.51.100.${10 + i}`);
/** The API server allocates a healthCheckNodePort to LoadBalancer Services with externalTrafficPolicy Local. */
const healthCheckNodePortOf = (i: number) => 32000 + i;

type Mode = ProxyMode;

function configOf(mode: Mode, detector: boolean, masqueradeAll: boolean) {
  return resolveKubeProxyConfiguration({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode,
    ...(detector ? { clusterCIDR: '10.0.0.0/8' } : {}),
    ...(mode === 'nftables' ? { nftables: { masqueradeAll } } : { iptables: { masqueradeAll } }),
  });
}

type Explainer = (p: ProxyPacket, forceEndpoint?: string) => Explanation;

/** The evaluator of `mode` over the rules kube-proxy on `node` would write for these objects. */
function explainerFor(mode: Mode, services: Service[], slices: EndpointSlice[], node: (typeof NODES)[number], config: ReturnType<typeof configOf>): Explainer {
  const state = buildProxyServiceState({ services, endpointSlices: slices, nodeName: node.name });
  const force = (f: string | undefined) => (f === undefined ? {} : { forceEndpoint: f });
  if (mode === 'iptables') {
    const rs = parseIptables(renderIptablesSave({ state, node, config }));
    return (p, f) => explainIptables(rs, p, node, force(f));
  }
  if (mode === 'nftables') {
    const rs = buildNftablesRuleset({ state, node, config, serviceCIDRs: ['172.30.0.0/16'] });
    return (p, f) => explainNftables(rs, p, node.ips, force(f));
  }
  const st = buildIpvsState({ state, node, config });
  return (p, f) => explainIpvs(st, p, node.ips, force(f));
}

type PacketSpec = { service: number; target: string; source: string; host: number; srcPort: number };

/** A packet on `nodeIndex` from a generated description. */
function packetOf(pk: PacketSpec, specs: ServiceSpec[], nodeIndex: number, mode: Mode): ProxyPacket {
  const node = NODES[nodeIndex]!;
  const i = pk.service % specs.length;
  const s = specs[i]!;
  const protocol = s.udp ? 'UDP' : 'TCP';
  const sources: Record<string, string> = {
    pod: `10.0.${nodeIndex}.${pk.host}`,
    endpoint: `10.180.${nodeIndex}.${pk.host}`,
    host: node.ips[0]!,
    external: '203.0.113.7',
    lb: pk.target === 'loadBalancer2' ? `1.2.3.${100 + i}` : `1.2.3.${10 + i}`,
    lb2Pod: `1.2.3.${100 + i}`,
  };
  const from = sources[pk.source]!;
  // The LB IP as a source: in ipvs mode a host process's (the IP is on kube-ipvs0, so the kernel picks it),
  // elsewhere it is no local address, so a packet from outside (a load balancer keeping its own address).
  const arrival = pk.source === 'host' || (pk.source === 'lb' && mode === 'ipvs') ? 'host' : pk.source === 'external' || pk.source === 'lb' ? 'external' : 'pod';
  let to = `172.30.0.${10 + i}`;
  let port = 80;
  if (pk.target === 'nodePort' && s.type !== 'ClusterIP') [to, port] = [node.ips[0]!, 30000 + i];
  if (pk.target === 'nodePortSecondary' && s.type !== 'ClusterIP' && node.ips[1] !== undefined) [to, port] = [node.ips[1], 30000 + i];
  // localhost NodePorts: iptables mode accepts them from host processes (iptables.localhostNodePorts, default true);
  // a process connecting to 127.0.0.1 gets 127.0.0.1 as its source.
  const localhost = pk.target === 'localhostNodePort' && s.type !== 'ClusterIP' && arrival === 'host';
  if (localhost) [to, port] = ['127.0.0.1', 30000 + i];
  if (pk.target === 'loadBalancer' && s.type === 'LoadBalancer') to = `1.2.3.${10 + i}`;
  if (pk.target === 'loadBalancer2' && s.type === 'LoadBalancer') to = `1.2.3.${100 + i}`;
  if (pk.target === 'other') to = '198.51.100.20';
  if (pk.target === 'unallocated') to = '172.30.200.1';
  if (pk.target === 'clusterIPOtherPort') port = 81;
  // ipvs: addresses bound to kube-ipvs0 on a port that is no virtual server meet KUBE-IPVS-FILTER's REJECT, unless
  // the port is a health-check node port (any address; the other targets fall back to the ClusterIP)
  if (pk.target === 'loadBalancerOtherPort' && s.type === 'LoadBalancer') [to, port] = [`1.2.3.${100 + i}`, 81];
  if (pk.target === 'externalIP' && s.externalIP) to = externalIPOf(i);
  if (pk.target === 'externalIPOtherPort' && s.externalIP) [to, port] = [externalIPOf(i), 81];
  if (pk.target === 'healthCheck' || pk.target === 'healthCheckLoadBalancer' || pk.target === 'healthCheckNode') {
    port = healthCheckNodePortOf(i);
    if (pk.target === 'healthCheckLoadBalancer' && s.type === 'LoadBalancer') to = `1.2.3.${10 + i}`;
    if (pk.target === 'healthCheckNode') to = node.ips[0]!;
  }
  return { from: localhost ? '127.0.0.1' : from, to, port, protocol, arrival };
}

/** Runs the packets through the datapath on `nodeIndex` and checks each answer against the evaluator. */
function compare(sync: DatapathProxySync, nodeIndex: number, packets: ProxyPacket[], srcPorts: number[], explain: Explainer, mode: Mode): number {
  if (packets.length === 0) return 0;
  const dp = sync.dp;
  const batch = dp.createBatch(packets.length);
  packets.forEach((p, k) => batch.setPacket(k, { node: nodeIndex, arrival: p.arrival!, protocol: p.protocol, srcIP: p.from, srcPort: srcPorts[k]!, dstIP: p.to, dstPort: p.port }));
  dp.processBatch(batch, packets.length);
  packets.forEach((p, k) => {
    const r = batch.result(k);
    const e = explain(p);
    const where = { mode, node: NODES[nodeIndex]!.name, packet: p, explanation: e.verdict, rules: e.rules };
    if (r.verdict === Verdict.DNAT) {
      const endpoint = sync.endpointName(r.endpointId)!;
      expect({ ...where, verdict: e.verdict, allowed: e.possibleEndpoints.includes(endpoint) }).toEqual({ ...where, verdict: 'DNAT', allowed: true });
      const forced = explain(p, endpoint);
      expect({ ...where, endpoint, masquerade: (r.flags & ResultFlag.MASQUERADE) !== 0 }).toEqual({ ...where, endpoint, masquerade: forced.masquerade });
    } else {
      const verdict = { [Verdict.PASS]: 'NONE', [Verdict.REJECT]: 'REJECT', [Verdict.DROP]: 'DROP' }[r.verdict as 0 | 2 | 3] ?? `datapath verdict ${r.verdict}`;
      // PASS is both: no rule decided, or a filter rule accepted it untranslated (a health-check node port).
      expect({ ...where, verdict }).toEqual({ ...where, verdict: e.verdict === 'ACCEPT' ? 'NONE' : e.verdict });
    }
  });
  return packets.length;
}

function newSync(config: ReturnType<typeof configOf>): DatapathProxySync {
  const sync = new DatapathProxySync(loadDatapathSync({ seed: 7 }));
  for (const node of NODES) sync.addNode({ node, config, serviceCIDRs: ['172.30.0.0/16'] });
  return sync;
}

describe('datapath vs rule evaluators (iptables, nftables, ipvs)', () => {
  it('agree on verdict, endpoint and masquerade for random clusters and packets', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 1 }), (sc, nodeIndex) => {
        const specs = sc.services;
        const { services, slices } = cluster(specs);
        const config = configOf(sc.mode, sc.detector, sc.masqueradeAll);
        const sync = newSync(config);
        sync.syncAll(services, slices);
        const explain = explainerFor(sc.mode, services, slices, NODES[nodeIndex]!, config);
        const packets = sc.packets.map((pk) => packetOf(pk, specs, nodeIndex, sc.mode));
        checked += compare(sync, nodeIndex, packets, sc.packets.map((pk) => pk.srcPort), explain, sc.mode);
      }),
      { numRuns: 200, seed: 20261125 },
    );
    expect(checked).toBeGreaterThan(200);
  });

  it.each(['iptables', 'nftables', 'ipvs'] as const)('%s: agree when only a Service\'s loadBalancerSourceRanges change', (mode) => {
    const config = configOf(mode, true, false);
    const sync = newSync(config);
    const spec = (ranges: string[]): ServiceSpec => ({
      type: 'LoadBalancer', udp: false, eTPLocal: false, iTPLocal: false, affinity: false, externalIP: false, ranges,
      endpoints: [{ subnet: 1, host: 1, ready: true, serving: true, terminating: false }],
    });
    const packets: PacketSpec[] = (['external', 'lb', 'lb2Pod', 'pod'] as const).flatMap((source) =>
      (['loadBalancer', 'loadBalancer2'] as const).map((target) => ({ service: 0, target, source, host: 1, srcPort: 0 })));
    let srcPort = 2000;
    const verdicts: string[][] = [];
    for (const ranges of [['203.0.113.0/24'], ['192.168.0.0/24', '10.0.0.0/24'], []]) {
      const { services, slices } = cluster([spec(ranges)]);
      sync.syncAll(services, slices);
      const explain = explainerFor(mode, services, slices, NODES[0]!, config);
      const ps = packets.map((pk) => packetOf(pk, [spec(ranges)], 0, mode));
      compare(sync, 0, ps, ps.map(() => srcPort++), explain, mode);
      verdicts.push(ps.map((p) => explain(p).verdict));
    }
    // Each set of ranges lets a different set of sources through.
    expect(new Set(verdicts.map((v) => v.join())).size).toBe(3);
  });

  it('stay in agreement while Services and EndpointSlices change one at a time (incremental sync)', () => {
    const opArb = fc.record({
      kind: fc.constantFrom('service', 'slice', 'deleteService', 'deleteSlice'),
      index: fc.nat(),
      spec: serviceArb,
    });
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, fc.array(opArb, { minLength: 1, maxLength: 6 }), (sc, ops) => {
        const config = configOf(sc.mode, sc.detector, sc.masqueradeAll);
        const sync = newSync(config);
        let specs = sc.services;
        const start = cluster(specs);
        const services: Array<Service | undefined> = [...start.services];
        const slices: Array<EndpointSlice | undefined> = [...start.slices];
        sync.syncAll(start.services, start.slices);
        let srcPort = 1024;
        for (const op of ops) {
          const i = op.index % specs.length;
          // A changed Service keeps its name, ClusterIP and NodePort (cluster() derives them from the index).
          const changed = op.spec;
          if (op.kind === 'service') {
            specs = specs.map((s, k) => (k === i ? { ...changed, endpoints: s.endpoints } : s));
            services[i] = cluster(specs).services[i];
            sync.applyService(services[i]!);
          } else if (op.kind === 'slice') {
            specs = specs.map((s, k) => (k === i ? { ...s, endpoints: changed.endpoints } : s));
            slices[i] = cluster(specs).slices[i];
            sync.applyEndpointSlice(slices[i]!);
          } else if (op.kind === 'deleteService' && services[i]) {
            sync.deleteService('ns', `svc${i}`);
            services[i] = undefined;
          } else if (op.kind === 'deleteSlice' && slices[i]) {
            sync.deleteEndpointSlice(slices[i]!);
            slices[i] = undefined;
          }
          const liveServices = services.filter((x): x is Service => x !== undefined);
          const liveSlices = slices.filter((x): x is EndpointSlice => x !== undefined);
          const nodeIndex = op.index % 2;
          const explain = explainerFor(sc.mode, liveServices, liveSlices, NODES[nodeIndex]!, config);
          const packets = sc.packets.map((pk) => packetOf(pk, specs, nodeIndex, sc.mode));
          // Fresh source ports: no packet meets an earlier connection's conntrack entry.
          checked += compare(sync, nodeIndex, packets, packets.map(() => srcPort++), explain, sc.mode);
        }
      }),
      { numRuns: 100, seed: 20261126 },
    );
    expect(checked).toBeGreaterThan(100);
  });
});
