import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { KubeObject, ServiceType } from '../api/index.js';
import { KubeNetsimError } from '../errors.js';
import { CIDR } from '../ip/index.js';
import { buildCluster, defaultIPAM } from './build-cluster.js';
import { resolveClusterConfig } from './eks-defaults.js';
import type { Cluster } from './cluster.js';
import { HostLocalIPAM } from './host-local-ipam.js';
import { FaultyIPAM } from './testing/faulty-ipam.js';
import * as f from './testing/fixtures.js';

// Random operation sequences on a small real cluster, some invalid and some hit by an injected IPAM failure.
// After every operation the cluster's invariants hold, and a failed one leaves everything as it was.

const names = ['a', 'b', 'c'];
const namespaces = ['default', 'shop'];

type Op =
  | { op: 'deploy'; ns: string; name: string; replicas: number; hostNetwork: boolean }
  | { op: 'statefulset'; ns: string; name: string; replicas: number }
  | { op: 'service'; ns: string; name: string; type: ServiceType | 'Headless'; clusterIP?: string; nodePort?: number; udpToo: boolean }
  | { op: 'scale'; ns: string; name: string; replicas: number }
  | { op: 'delete'; kind: 'Pod' | 'Service' | 'Deployment' | 'StatefulSet'; ns: string; pick: number; grace: number }
  | { op: 'advance'; seconds: number };

const ns = fc.constantFrom(...namespaces);
const name = fc.constantFrom(...names);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('deploy' as const), ns, name, replicas: fc.integer({ min: 0, max: 6 }), hostNetwork: fc.boolean() }),
  fc.record({ op: fc.constant('statefulset' as const), ns, name, replicas: fc.integer({ min: 0, max: 3 }) }),
  fc.record(
    {
      op: fc.constant('service' as const),
      ns,
      name,
      type: fc.constantFrom<ServiceType | 'Headless'>('ClusterIP', 'NodePort', 'LoadBalancer', 'Headless'),
      clusterIP: fc.constantFrom('10.100.0.20', '10.100.0.21', '10.100.200.1', '10.99.0.1', '10.100.0.1'),
      nodePort: fc.constantFrom(30000, 30001, 32767, 29999, 40000),
      udpToo: fc.boolean(),
    },
    { requiredKeys: ['op', 'ns', 'name', 'type', 'udpToo'] },
  ),
  fc.record({ op: fc.constant('scale' as const), ns, name, replicas: fc.integer({ min: -1, max: 6 }) }),
  fc.record({ op: fc.constant('delete' as const), kind: fc.constantFrom('Pod' as const, 'Service' as const, 'Deployment' as const, 'StatefulSet' as const), ns, pick: fc.nat(20), grace: fc.constantFrom(0, 30) }),
  fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 40 }) }),
);

function run(c: Cluster, o: Op): void {
  switch (o.op) {
    case 'deploy':
      c.apply([f.deployment(o.ns, o.name, o.replicas, o.hostNetwork ? { hostNetwork: true, containers: [f.container('agent', [{ port: 9100 }])] } : {})]);
      return;
    case 'statefulset':
      c.apply([f.statefulSet(o.ns, `${o.name}-db`, o.replicas, o.name)]);
      return;
    case 'service': {
      const ports = [{ name: 'http', port: 80, targetPort: 'http', ...(o.nodePort && o.type !== 'ClusterIP' && o.type !== 'Headless' ? { nodePort: o.nodePort } : {}) }, ...(o.udpToo ? [{ name: 'udp', port: 80, protocol: 'UDP' as const }] : [])];
      const spec = o.type === 'Headless' ? { clusterIP: 'None' } : { type: o.type, ...(o.clusterIP ? { clusterIP: o.clusterIP } : {}) };
      c.apply([f.service(o.ns, o.name, { app: o.name }, ports, spec)]);
      return;
    }
    case 'scale':
      c.scale({ kind: 'Deployment', namespace: o.ns, name: o.name }, o.replicas);
      return;
    case 'delete': {
      const list =
        o.kind === 'Pod' ? c.pods(o.ns) : o.kind === 'Service' ? c.services(o.ns) : o.kind === 'Deployment' ? c.deployments(o.ns) : c.statefulSets(o.ns);
      const target = list[o.pick % Math.max(1, list.length + 1)];
      c.delete({ kind: o.kind, namespace: o.ns, name: target?.metadata.name ?? 'missing' }, { gracePeriodSeconds: o.grace });
      return;
    }
    case 'advance':
      c.advance(o.seconds);
  }
}

function snapshot(c: Cluster): unknown {
  return { objects: c.objects(), events: structuredClone(c.events()), now: c.now, ips: c.allocatedClusterIPs(), ports: c.allocatedNodePorts() };
}

function checkInvariants(c: Cluster): void {
  const live = c.pods().filter((p) => p.status?.podIP && !p.spec.hostNetwork);
  const podIPs = live.map((p) => p.status!.podIP!);
  expect(new Set(podIPs).size, 'pod IPs unique').toBe(podIPs.length);

  const range = CIDR.parse('10.100.0.0/16');
  const clusterIPs = c.services().map((s) => s.spec.clusterIP).filter((ip): ip is string => ip !== undefined && ip !== 'None');
  expect(new Set(clusterIPs).size, 'ClusterIPs unique').toBe(clusterIPs.length);
  for (const ip of clusterIPs) expect(range.contains(ip) && ip !== '10.100.0.0' && ip !== '10.100.255.255', `ClusterIP ${ip} in range`).toBe(true);
  expect(c.allocatedClusterIPs().sort()).toEqual([...clusterIPs].sort());

  const perService = c.services().map((s) => new Set([...(s.spec.ports ?? []).map((p) => p.nodePort), s.spec.healthCheckNodePort].filter((p): p is number => p !== undefined)));
  const nodePorts = perService.flatMap((s) => [...s]);
  expect(new Set(nodePorts).size, 'NodePorts unique across Services').toBe(nodePorts.length);
  for (const p of nodePorts) expect(p >= 30000 && p <= 32767, `NodePort ${p} in range`).toBe(true);
  expect(c.allocatedNodePorts()).toEqual([...nodePorts].sort((a, b) => a - b));
  for (const s of c.services()) {
    if (s.spec.type === 'ClusterIP' || s.spec.type === undefined) expect(s.spec.ports?.every((p) => p.nodePort === undefined)).toBe(true);
  }

  for (const slice of c.endpointSlices()) {
    for (const e of slice.endpoints) {
      const pod = c.pod(e.targetRef!.namespace!, e.targetRef!.name);
      expect(pod, `endpoint ${e.addresses[0]} of an existing pod`).toBeDefined();
      expect(pod!.status?.podIP).toBe(e.addresses[0]);
    }
  }
}

describe('transactions (property)', () => {
  // host-local with small ranges (pods wait for IPs), and the VPC CNI on t3.small nodes (9 pod IPs each).
  const clusters = {
    'host-local': (seed: number) => {
      const ipam = new FaultyIPAM(new HostLocalIPAM({ nodeCIDRMaskSize: 27 }));
      return buildCluster(
        f.input({
          nodes: [f.node('n1', '10.0.0.11', { pods: 8 }), f.node('n2', '10.0.0.12', { pods: 8, podCIDR: '10.244.9.0/28' })],
          namespaces: [f.namespace('shop')],
          clusterConfig: { apiVersion: 'eksctl.io/v1alpha5', kind: 'ClusterConfig', metadata: { name: 'p' }, kubernetesNetworkConfig: { serviceIPv4CIDR: '10.100.0.0/16' } },
        }),
        { seed, ipam },
      );
    },
    'aws-vpc-cni': (seed: number) => {
      const input = f.input({ clusterConfig: f.clusterConfig({ nodes: 2, instanceType: 't3.small' }), namespaces: [f.namespace('shop')] });
      const ipam = new FaultyIPAM(defaultIPAM(input, resolveClusterConfig(input.clusterConfig)));
      return buildCluster(input, { seed, ipam });
    },
  };

  test.each(Object.keys(clusters) as (keyof typeof clusters)[])('%s: random operation sequences keep the invariants; failed operations change nothing', (kind) => {
    fc.assert(
      fc.property(fc.array(fc.record({ op: opArb, fault: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 4 }) }), { minLength: 1, maxLength: 14 }), fc.integer(), (steps, seed) => {
        const c = clusters[kind](seed);
        expect(c.ipam.name).toBe(kind);
        for (const { op, fault } of steps) {
          const live = c.ipam as FaultyIPAM;
          if (fault !== null) live.arm(fault);
          const before = snapshot(c);
          try {
            run(c, op);
          } catch (e) {
            if (!(e instanceof KubeNetsimError)) throw e;
            expect(snapshot(c)).toEqual(before);
          } finally {
            (c.ipam as FaultyIPAM).disarm();
          }
          checkInvariants(c);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('an injected IPAM failure in the middle of an apply rolls the whole apply back', () => {
    const ipam = new FaultyIPAM(new HostLocalIPAM());
    const c = buildCluster(f.input({ nodes: [f.node('n1', '10.0.0.11')] }), { ipam });
    const before = snapshot(c);
    (c.ipam as FaultyIPAM).arm(3);
    const objects: KubeObject[] = [f.deployment('default', 'web', 5), f.service('default', 'web', { app: 'web' }, [{ port: 80 }], { type: 'NodePort' })];
    expect(() => c.apply(objects)).toThrow('injected failure');
    expect(snapshot(c)).toEqual(before);
    (c.ipam as FaultyIPAM).disarm();
    c.apply(objects);
    expect(c.pods().filter((p) => p.status?.phase === 'Running')).toHaveLength(5);
  });
});
