import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Service } from '../../api/core.js';
import { categorizeEndpoints } from '../categorize-endpoints.js';
import { resolveKubeProxyConfiguration } from '../config.js';
import type { Explanation, ProxyPacket } from '../explain-types.js';
import { renderIptablesSave } from '../iptables/save.js';
import { buildNftablesRuleset } from '../nftables/build.js';
import { explainNftables } from '../nftables/explain.js';
import { buildProxyServiceState, endpointsOf, externallyAccessible } from '../service-port.js';
import { explainIptables } from './explain.js';
import { parseIptables } from './ruleset.js';

// Random clusters and packets: the interpreter running the rendered iptables rules, the nftables evaluator running
// the rendered nftables table, and kube-proxy's decision written directly from CategorizeEndpoints (the oracle)
// must agree on the verdict, the possible endpoints and masquerading.

const NODE = { name: 'node-a', ips: ['192.168.0.2'] };
const POD = '10.9.9.9';
const EXTERNAL = '203.0.113.7';

const endpointArb = fc.record({
  octet: fc.integer({ min: 1, max: 40 }),
  local: fc.boolean(),
  ready: fc.option(fc.boolean(), { nil: undefined }),
  serving: fc.option(fc.boolean(), { nil: undefined }),
  terminating: fc.option(fc.boolean(), { nil: undefined }),
});
const serviceArb = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer') as fc.Arbitrary<'ClusterIP' | 'NodePort' | 'LoadBalancer'>,
  eTP: fc.constantFrom('Cluster', 'Local') as fc.Arbitrary<'Cluster' | 'Local'>,
  iTP: fc.constantFrom('Cluster', 'Local') as fc.Arbitrary<'Cluster' | 'Local'>,
  protocol: fc.constantFrom('TCP', 'UDP') as fc.Arbitrary<'TCP' | 'UDP'>,
  endpoints: fc.array(endpointArb, { maxLength: 5 }),
});

type ServiceSpec = typeof serviceArb extends fc.Arbitrary<infer T> ? T : never;

function buildInput(specs: ServiceSpec[]) {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  specs.forEach((s, i) => {
    const name = `svc${i}`;
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'ns' },
      spec: {
        type: s.type,
        clusterIP: `172.30.0.${i + 1}`,
        ...(s.type !== 'ClusterIP' ? { externalTrafficPolicy: s.eTP } : {}),
        internalTrafficPolicy: s.iTP,
        ports: [{ name: 'p', port: 80, protocol: s.protocol, ...(s.type !== 'ClusterIP' ? { nodePort: 30000 + i } : {}) }],
      },
      ...(s.type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip: `198.51.100.${i + 1}` }] } } } : {}),
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: 'ns', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: s.endpoints.map((e) => ({
        addresses: [`10.180.${i}.${e.octet}`],
        nodeName: e.local ? NODE.name : 'node-b',
        conditions: { ...(e.ready !== undefined ? { ready: e.ready } : {}), ...(e.serving !== undefined ? { serving: e.serving } : {}), ...(e.terminating !== undefined ? { terminating: e.terminating } : {}) },
      })),
      ports: [{ name: 'p', port: 8080, protocol: s.protocol }],
    });
  });
  return { services, slices };
}

type Oracle = Pick<Explanation, 'verdict' | 'possibleEndpoints' | 'masquerade'>;

describe('iptables interpreter, nftables evaluator and the CategorizeEndpoints oracle agree', () => {
  test('random Services, policies, endpoint conditions and packets', () => {
    fc.assert(
      fc.property(fc.array(serviceArb, { minLength: 1, maxLength: 4 }), (specs) => {
        const { services, slices } = buildInput(specs);
        const state = buildProxyServiceState({ services, endpointSlices: slices, nodeName: NODE.name });
        const config = resolveKubeProxyConfiguration();
        const iptables = parseIptables(renderIptablesSave({ state, config, node: NODE }));
        const nft = buildNftablesRuleset({ state, config: { ...config, mode: 'nftables' }, node: NODE, serviceCIDRs: ['172.30.0.0/16'] });

        for (const sp of state.servicePorts) {
          const c = categorizeEndpoints(endpointsOf(state, sp), sp, { nodeName: NODE.name });
          const names = (eps: { endpoint: string }[]) => eps.map((e) => e.endpoint);
          const internal: Oracle = !c.hasAnyEndpoints
            ? { verdict: 'REJECT', possibleEndpoints: [], masquerade: false }
            : sp.internalPolicyLocal && c.localEndpoints.length === 0
              ? { verdict: 'DROP', possibleEndpoints: [], masquerade: false }
              : { verdict: 'DNAT', possibleEndpoints: names(sp.internalPolicyLocal ? c.localEndpoints : c.clusterEndpoints), masquerade: false };
          const external: Oracle = !c.hasAnyEndpoints
            ? { verdict: 'REJECT', possibleEndpoints: [], masquerade: false }
            : sp.externalPolicyLocal && c.localEndpoints.length === 0
              ? { verdict: 'DROP', possibleEndpoints: [], masquerade: false }
              : { verdict: 'DNAT', possibleEndpoints: names(sp.externalPolicyLocal ? c.localEndpoints : c.clusterEndpoints), masquerade: !sp.externalPolicyLocal };
          // The node's own traffic to an external destination is masqueraded and may use every endpoint.
          const fromHost: Oracle = !c.hasAnyEndpoints ? external : { verdict: 'DNAT', possibleEndpoints: names(c.clusterEndpoints), masquerade: true };

          const cases: [ProxyPacket, Oracle][] = [[{ from: POD, to: sp.clusterIP, port: sp.port, protocol: sp.protocol, arrival: 'pod' }, internal]];
          if (externallyAccessible(sp)) {
            cases.push([{ from: EXTERNAL, to: NODE.ips[0]!, port: sp.nodePort, protocol: sp.protocol, arrival: 'external' }, external]);
            // Without a local-traffic detector (EKS) a pod's traffic to a NodePort is external traffic too.
            cases.push([{ from: POD, to: NODE.ips[0]!, port: sp.nodePort, protocol: sp.protocol, arrival: 'pod' }, external]);
            cases.push([{ from: NODE.ips[0]!, to: NODE.ips[0]!, port: sp.nodePort, protocol: sp.protocol, arrival: 'host' }, fromHost]);
            for (const lb of sp.loadBalancerVIPs) cases.push([{ from: EXTERNAL, to: lb, port: sp.port, protocol: sp.protocol, arrival: 'external' }, external]);
          }
          for (const [packet, oracle] of cases) {
            const sort = (e: Oracle) => ({ verdict: e.verdict, possibleEndpoints: [...e.possibleEndpoints].sort(), masquerade: e.masquerade });
            const where = { service: sp.name, packet };
            const ipt = explainIptables(iptables, packet, NODE);
            expect({ ...where, ...sort(ipt) }).toEqual({ ...where, ...sort(oracle) });
            // Rule order is endpoint order in both modes.
            expect(ipt.possibleEndpoints).toEqual(oracle.possibleEndpoints);
            const nf = explainNftables(nft, packet, NODE.ips);
            expect({ ...where, verdict: nf.verdict, possibleEndpoints: [...nf.possibleEndpoints].sort(), masquerade: nf.masquerade }).toEqual({ ...where, ...sort(oracle) });
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
