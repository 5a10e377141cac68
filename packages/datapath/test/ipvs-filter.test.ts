// ipvs mode's KUBE-IPVS-FILTER in the datapath, on the WASM core and the reference alike. kube-proxy's chain
// (filter INPUT → KUBE-IPVS-FILTER, pkg/proxy/ipvs/proxier.go writeIptablesRules):
//   -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN   (and KUBE-CLUSTER-IP, KUBE-EXTERNAL-IP, …-LOCAL)
//   -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN          (bitmap:port: the port alone)
//   -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
// KUBE-IPVS-IPS holds the addresses bound to kube-ipvs0: ClusterIPs, and external and LB IPs that are no node address.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResultFlag, Verdict, type Datapath, type PacketInput, type PacketResult, type ProxyMode } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/index.js';
import { ip, newDatapath, send } from './helpers.js';

const NODE_A = '192.168.0.2';
const NODE_B = '192.168.1.2';
const CLUSTER_IP = '10.96.0.10';
const LB = '1.2.3.4';
const EXTERNAL = '44.0.0.1';
const HEALTH_CHECK = 32100;

type Api = Pick<Datapath, 'addNode' | 'setLocalAddress' | 'removeLocalAddress' | 'setServicePort' | 'addServiceAddress' | 'removeServiceAddress' | 'removeServicePort'
  | 'setNodePort' | 'setEndpoints' | 'setHealthCheckNodePort'>;
interface Impl { name: string; create: () => Api; run: (api: Api, packets: PacketInput[]) => PacketResult[] }

const IMPLS: Impl[] = [
  // A small service-address capacity: the tables grow while the test adds addresses.
  { name: 'wasm', create: () => newDatapath({ seed: 3, serviceAddressCapacity: 2 }), run: (api, packets) => send(api as Datapath, packets) },
  { name: 'reference', create: () => new ReferenceDatapath({ seed: 3 }), run: (api, packets) => (api as ReferenceDatapath).processAll(packets) },
];

/**
 * Nodes A and B in `mode`, each with its own address (NodePorts accepted). Service-port 0: ClusterIP, LB IP and
 * external IP on TCP 80, an external IP on node A's own address, NodePort 30080, one endpoint, healthCheckNodePort.
 */
function setup(impl: Impl, mode: ProxyMode): Api {
  const dp = impl.create();
  dp.addNode({ mode });
  dp.addNode({ mode });
  dp.setLocalAddress(0, NODE_A);
  dp.setLocalAddress(1, NODE_B);
  dp.setServicePort(0, { externalTrafficPolicy: 'Local', externallyAccessible: true });
  dp.addServiceAddress('TCP', CLUSTER_IP, 80, 0);
  dp.addServiceAddress('TCP', LB, 80, 0, 'LoadBalancerIP');
  dp.addServiceAddress('TCP', EXTERNAL, 80, 0, 'ExternalIP');
  dp.addServiceAddress('TCP', NODE_A, 80, 0, 'ExternalIP');
  dp.setNodePort('TCP', 30080, 0);
  dp.setEndpoints(0, [{ ip: '10.0.1.5', port: 8080, node: 0, id: 5 }]);
  dp.setHealthCheckNodePort(HEALTH_CHECK, true);
  return dp;
}

let srcPort = 1000;
const packet = (node: number, arrival: PacketInput['arrival'], dstIP: string, dstPort: number, protocol: PacketInput['protocol'] = 'TCP'): PacketInput => ({
  node, arrival, protocol, srcIP: arrival === 'external' ? '203.0.113.9' : arrival === 'host' ? [NODE_A, NODE_B][node]! : '10.0.1.7', srcPort: srcPort++, dstIP, dstPort,
});
const verdictOf = (impl: Impl, dp: Api, p: PacketInput) => impl.run(dp, [p])[0]!.verdict;
const ARRIVALS = ['pod', 'host', 'external'] as const;

describe.each(IMPLS)('KUBE-IPVS-FILTER ($name)', (impl) => {
  it('rejects a new connection to any address on kube-ipvs0 on a port with no virtual server, from pods, host processes and outside', () => {
    const dp = setup(impl, 'ipvs');
    for (const arrival of ARRIVALS) {
      for (const node of [0, 1]) {
        for (const dst of [CLUSTER_IP, LB, EXTERNAL]) {
          expect({ arrival, node, dst, verdict: verdictOf(impl, dp, packet(node, arrival, dst, 8443)) }).toEqual({ arrival, node, dst, verdict: Verdict.REJECT });
          // another protocol on the Service's port is no virtual server either (the sets hold ip,proto:port)
          expect({ arrival, node, dst, verdict: verdictOf(impl, dp, packet(node, arrival, dst, 80, 'UDP')) }).toEqual({ arrival, node, dst, verdict: Verdict.REJECT });
        }
      }
    }
  });

  it('binds no external IP that is the node\'s own address: node A passes other ports of it, node B rejects them', () => {
    const dp = setup(impl, 'ipvs');
    expect(verdictOf(impl, dp, packet(0, 'external', NODE_A, 22))).toBe(Verdict.PASS);
    expect(verdictOf(impl, dp, packet(1, 'pod', NODE_A, 22))).toBe(Verdict.REJECT);
    // the virtual server itself still answers on both
    expect(verdictOf(impl, dp, packet(0, 'external', NODE_A, 80))).toBe(Verdict.DNAT);
    expect(verdictOf(impl, dp, packet(1, 'pod', NODE_A, 80))).toBe(Verdict.DNAT);
    // an own address that takes no NodePorts (nodePortAddresses narrowed) is still the node's own
    dp.setLocalAddress(0, NODE_A, { nodePort: false });
    expect(verdictOf(impl, dp, packet(0, 'external', NODE_A, 22))).toBe(Verdict.PASS);
  });

  it('takes a local address marked kubeIpvs0 as bound (as DatapathProxySync marks them), until it is unmarked or removed', () => {
    const dp = setup(impl, 'ipvs');
    dp.setLocalAddress(1, LB, { nodePort: false, kubeIpvs0: true });
    dp.setLocalAddress(1, EXTERNAL, { nodePort: false, kubeIpvs0: true });
    expect(verdictOf(impl, dp, packet(1, 'host', LB, 8443))).toBe(Verdict.REJECT);
    expect(verdictOf(impl, dp, packet(1, 'external', EXTERNAL, 8443))).toBe(Verdict.REJECT);
    dp.setLocalAddress(1, LB, { nodePort: false }); // now an address of the node's own
    expect(verdictOf(impl, dp, packet(1, 'host', LB, 8443))).toBe(Verdict.PASS);
    dp.removeLocalAddress(1, EXTERNAL); // not local: bound, as kube-proxy binds every Service address it may
    expect(verdictOf(impl, dp, packet(1, 'external', EXTERNAL, 8443))).toBe(Verdict.REJECT);
  });

  it('returns for a health-check node port on any address on kube-ipvs0, for any protocol (bitmap:port), until it is removed', () => {
    const dp = setup(impl, 'ipvs');
    for (const dst of [CLUSTER_IP, LB, EXTERNAL, NODE_A]) {
      for (const protocol of ['TCP', 'UDP'] as const) {
        const r = impl.run(dp, [packet(1, 'external', dst, HEALTH_CHECK, protocol)])[0]!;
        expect({ dst, protocol, r }).toEqual({ dst, protocol, r: { verdict: Verdict.PASS, flags: 0, dstIP: ip(dst), dstPort: HEALTH_CHECK, endpointId: -1, servicePortId: -1 } });
      }
    }
    dp.setHealthCheckNodePort(HEALTH_CHECK, false);
    expect(verdictOf(impl, dp, packet(1, 'external', LB, HEALTH_CHECK))).toBe(Verdict.REJECT);
    expect(verdictOf(impl, dp, packet(1, 'external', CLUSTER_IP, HEALTH_CHECK))).toBe(Verdict.REJECT);
    // a node address that is no service address was never filtered
    expect(verdictOf(impl, dp, packet(1, 'external', NODE_B, HEALTH_CHECK))).toBe(Verdict.PASS);
  });

  it('leaves iptables and nftables as they were: nftables rejects ClusterIPs only (health-check port too), iptables passes all', () => {
    for (const mode of ['iptables', 'nftables'] as const) {
      const dp = setup(impl, mode);
      const clusterIPVerdict = mode === 'nftables' ? Verdict.REJECT : Verdict.PASS;
      expect({ mode, v: verdictOf(impl, dp, packet(0, 'pod', CLUSTER_IP, 8443)) }).toEqual({ mode, v: clusterIPVerdict });
      expect({ mode, v: verdictOf(impl, dp, packet(0, 'pod', CLUSTER_IP, HEALTH_CHECK)) }).toEqual({ mode, v: clusterIPVerdict });
      for (const dst of [LB, EXTERNAL]) expect({ mode, dst, v: verdictOf(impl, dp, packet(0, 'pod', dst, 8443)) }).toEqual({ mode, dst, v: Verdict.PASS });
    }
  });

  it('filters only new connections: an established one keeps its translation after its Service address goes', () => {
    const dp = setup(impl, 'ipvs');
    const first = packet(1, 'external', LB, 80);
    expect(verdictOf(impl, dp, first)).toBe(Verdict.DNAT);
    dp.removeServiceAddress('TCP', LB, 80);
    dp.addServiceAddress('TCP', LB, 443, 0, 'LoadBalancerIP'); // LB stays on kube-ipvs0
    const again = impl.run(dp, [first])[0]!;
    expect({ verdict: again.verdict, hit: (again.flags & ResultFlag.CONNTRACK_HIT) !== 0 }).toEqual({ verdict: Verdict.DNAT, hit: true });
    expect(verdictOf(impl, dp, packet(1, 'external', LB, 80))).toBe(Verdict.REJECT);
  });

  it('keeps an address on kube-ipvs0 while any service address of any kind is on it (kind changes, ports, service-ports)', () => {
    const dp = setup(impl, 'ipvs');
    dp.setServicePort(1, {});
    dp.addServiceAddress('TCP', LB, 443, 1, 'LoadBalancerIP');
    dp.addServiceAddress('UDP', LB, 53, 1, 'ClusterIP');
    dp.addServiceAddress('UDP', LB, 53, 1, 'ExternalIP'); // the same entry again, another kind
    dp.removeServicePort(0); // LB:80 goes with it, LB:443 and LB:53 stay
    expect(verdictOf(impl, dp, packet(1, 'pod', LB, 8443))).toBe(Verdict.REJECT);
    expect(verdictOf(impl, dp, packet(1, 'pod', CLUSTER_IP, 8443))).toBe(Verdict.PASS); // service-port 0's ClusterIP is gone
    dp.removeServiceAddress('TCP', LB, 443);
    expect(verdictOf(impl, dp, packet(1, 'pod', LB, 8443))).toBe(Verdict.REJECT);
    dp.removeServiceAddress('UDP', LB, 53);
    expect(verdictOf(impl, dp, packet(1, 'pod', LB, 8443))).toBe(Verdict.PASS);
  });

  it('checks its arguments', () => {
    const dp = setup(impl, 'ipvs');
    expect(() => dp.setHealthCheckNodePort(0, true)).toThrow(RangeError);
    expect(() => dp.setHealthCheckNodePort(65536, true)).toThrow(/`port`/);
    expect(() => dp.setHealthCheckNodePort(1.5, true)).toThrow(TypeError);
    expect(() => dp.setHealthCheckNodePort(30000, 'yes' as unknown as boolean)).toThrow(/`enabled`/);
    expect(() => dp.setLocalAddress(1, LB, { kubeIpvs0: 1 as unknown as boolean })).toThrow(/options\.kubeIpvs0/);
    // refused calls change nothing
    expect(verdictOf(impl, dp, packet(1, 'pod', LB, 30000))).toBe(Verdict.REJECT);
  });
});

describe('the kube-ipvs0 address set through growth and deletions', () => {
  it('matches the reference while many addresses come and go', () => {
    const op = fc.record({ add: fc.boolean(), host: fc.integer({ min: 0, max: 90 }), port: fc.constantFrom(80, 443), kind: fc.constantFrom('ClusterIP', 'ExternalIP', 'LoadBalancerIP') as fc.Arbitrary<'ClusterIP'> });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 200 }), (ops) => {
        const impls = IMPLS.map((impl) => {
          const dp = impl.create();
          dp.addNode({ mode: 'ipvs' });
          dp.setServicePort(0, {});
          return { impl, dp, present: new Set<string>() };
        });
        for (const o of ops) {
          const addr = `10.97.0.${o.host}`;
          for (const x of impls) {
            const key = `${addr}:${o.port}`;
            if (o.add) { x.dp.addServiceAddress('TCP', addr, o.port, 0, o.kind); x.present.add(key); }
            else if (x.present.delete(key)) x.dp.removeServiceAddress('TCP', addr, o.port);
          }
        }
        const probes = Array.from({ length: 91 }, (_, h) => packet(0, 'pod', `10.97.0.${h}`, 8443));
        const [wasm, reference] = impls.map((x) => x.impl.run(x.dp, probes).map((r) => r.verdict));
        const expected = probes.map((_, h) => ([...impls[0]!.present].some((k) => k.startsWith(`10.97.0.${h}:`)) ? Verdict.REJECT : Verdict.PASS));
        expect(wasm).toEqual(expected);
        expect(reference).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });
});
