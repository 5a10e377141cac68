// The WebAssembly datapath, fed by DatapathProxySync, against the rule evaluators (the iptables interpreter on the
// node's iptables-save, explainNftables, explainIpvs) on random small clusters: for
// every packet the datapath's verdict must be the evaluator's, its endpoint one the evaluator allows, and its
// masquerade decision the evaluator's for that endpoint.
//
// Not generated, because the datapath does not model them (see packages/datapath/docs/core.md and the report of
// packages/model/docs/proxy.md "Datapath sync"): loadBalancerSourceRanges; nftables' REJECT of unknown ports of a
// ClusterIP and DROP of unallocated service-CIDR addresses; in ipvs mode, traffic policy Local (kube-proxy's ipvs
// mode falls back to all endpoints and has no pod short-circuit, the datapath applies iptables' rules); in iptables
// mode, a host process's packet to a load-balancer IP of a Service without endpoints (iptables rejects it only on
// INPUT and FORWARD, so it leaves the node; the datapath rejects it as nftables mode does).
import { type Datapath, ResultFlag, Verdict, loadDatapathSync } from '@kube-netsim/datapath';
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
  endpoints: Array<{ subnet: number; host: number; ready: boolean; serving: boolean; terminating: boolean }>;
}

const serviceArb = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer') as fc.Arbitrary<ServiceSpec['type']>,
  udp: fc.boolean(),
  eTPLocal: fc.boolean(),
  iTPLocal: fc.boolean(),
  affinity: fc.boolean(),
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
      target: fc.constantFrom('clusterIP', 'nodePort', 'nodePortSecondary', 'loadBalancer', 'other'),
      source: fc.constantFrom('pod', 'endpoint', 'host', 'external'),
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
        },
        s.type === 'LoadBalancer' ? { loadBalancer: { ingress: [{ ip: `1.2.3.${10 + i}` }] } } : undefined,
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

let datapath: Datapath | undefined;

describe('datapath vs rule evaluators (iptables, nftables, ipvs)', () => {
  it('agree on verdict, endpoint and masquerade for random clusters and packets', () => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        // ipvs mode's Local policies differ from the datapath's (see the header): Cluster only there.
        const specs = sc.services.map((s) => (sc.mode === 'ipvs' ? { ...s, eTPLocal: false, iTPLocal: false } : s));
        const { services, slices } = cluster(specs);
        const config = resolveKubeProxyConfiguration({
          apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
          kind: 'KubeProxyConfiguration',
          mode: sc.mode,
          ...(sc.detector ? { clusterCIDR: '10.0.0.0/8' } : {}),
          ...(sc.mode === 'nftables' ? { nftables: { masqueradeAll: sc.masqueradeAll } } : { iptables: { masqueradeAll: sc.masqueradeAll } }),
        });
        datapath = loadDatapathSync({ seed: 7 });
        const sync = new DatapathProxySync(datapath);
        for (const node of NODES) sync.addNode({ node, config });
        sync.syncAll(services, slices);

        const node = NODES[0]!;
        const state = buildProxyServiceState({ services, endpointSlices: slices, nodeName: node.name });
        const force = (f: string | undefined) => (f === undefined ? {} : { forceEndpoint: f });
        const explain: (p: ProxyPacket, force?: string) => Explanation =
          sc.mode === 'iptables'
            ? ((rs) => (p, f) => explainIptables(rs, p, node, force(f)))(parseIptables(renderIptablesSave({ state, node, config })))
            : sc.mode === 'nftables'
            ? ((rs) => (p, f) => explainNftables(rs, p, node.ips, force(f)))(
                buildNftablesRuleset({ state, node, config, serviceCIDRs: ['172.30.0.0/16'] }),
              )
            : ((st) => (p, f) => explainIpvs(st, p, node.ips, force(f)))(buildIpvsState({ state, node, config }));

        const batch = datapath.createBatch(sc.packets.length);
        const packets: ProxyPacket[] = sc.packets.map((pk) => {
          const i = pk.service % specs.length;
          const s = specs[i]!;
          const protocol = s.udp ? 'UDP' : 'TCP';
          const from = pk.source === 'pod' ? `10.0.0.${pk.host}` : pk.source === 'endpoint' ? `10.180.0.${pk.host}` : pk.source === 'host' ? node.ips[0]! : '203.0.113.7';
          const arrival = pk.source === 'host' ? 'host' : pk.source === 'external' ? 'external' : 'pod';
          let to = `172.30.0.${10 + i}`;
          let port = 80;
          if (pk.target === 'nodePort' && s.type !== 'ClusterIP') [to, port] = [node.ips[0]!, 30000 + i];
          if (pk.target === 'nodePortSecondary' && s.type !== 'ClusterIP') [to, port] = [node.ips[1]!, 30000 + i];
          const hostToLoadBalancer = sc.mode === 'iptables' && pk.source === 'host';
          if (pk.target === 'loadBalancer' && s.type === 'LoadBalancer' && !hostToLoadBalancer) to = `1.2.3.${10 + i}`;
          if (pk.target === 'other') to = '198.51.100.20';
          return { from, to, port, protocol, arrival };
        });
        packets.forEach((p, k) =>
          batch.setPacket(k, { node: 0, arrival: p.arrival!, protocol: p.protocol, srcIP: p.from, srcPort: sc.packets[k]!.srcPort, dstIP: p.to, dstPort: p.port }),
        );
        datapath.processBatch(batch, packets.length);

        packets.forEach((p, k) => {
          const r = batch.result(k);
          const e = explain(p);
          const where = { mode: sc.mode, packet: p, explanation: e.verdict, rules: e.rules };
          if (r.verdict === Verdict.DNAT) {
            const endpoint = sync.endpointName(r.endpointId)!;
            expect({ ...where, verdict: e.verdict, allowed: e.possibleEndpoints.includes(endpoint) }).toEqual({ ...where, verdict: 'DNAT', allowed: true });
            const forced = explain(p, endpoint);
            expect({ ...where, endpoint, masquerade: (r.flags & ResultFlag.MASQUERADE) !== 0 }).toEqual({ ...where, endpoint, masquerade: forced.masquerade });
          } else {
            const verdict = { [Verdict.PASS]: 'NONE', [Verdict.REJECT]: 'REJECT', [Verdict.DROP]: 'DROP' }[r.verdict as 0 | 2 | 3] ?? `datapath verdict ${r.verdict}`;
            expect({ ...where, verdict }).toEqual({ ...where, verdict: e.verdict });
          }
          checked++;
        });
      }),
      { numRuns: 200, seed: 20261125 },
    );
    expect(checked).toBeGreaterThan(200);
  });
});
