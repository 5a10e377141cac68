import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCluster } from '../cluster/index.js';
import { readManifests } from './read.js';

// A `kubectl get … -o yaml` dump of a live EKS cluster is observed state: the cluster takes its addresses,
// allocations and EndpointSlices as they are.

const dump = readFileSync(new URL('./fixtures/kubectl-get-o-yaml.yaml', import.meta.url), 'utf8');

describe('a kubectl dump of a live cluster', () => {
  it('reads every item of the List, with nothing ignored', () => {
    const input = readManifests([{ file: 'dump.yaml', text: dump }]);
    expect([input.nodes.length, input.services.length, input.endpointSlices.length, input.pods.length, input.ignored.length]).toEqual([1, 1, 1, 1, 0]);
    expect(input.positions.get('EndpointSlice/shop/web-8xk2p')).toEqual({ file: 'dump.yaml', line: 77, column: 3 });
  });

  it('builds a cluster that keeps the observed ClusterIP, NodePort, pod IP and EndpointSlice conditions', () => {
    const cluster = buildCluster(readManifests([{ file: 'dump.yaml', text: dump }]));
    const web = cluster.service('shop', 'web')!;
    expect(web.spec.clusterIP).toBe('10.100.37.201');
    expect(web.spec.ports![0]!.nodePort).toBe(31380);
    expect(cluster.pod('shop', 'web-7d4b9c6f5d-x2k8p')?.status?.podIP).toBe('192.168.110.20');
    expect(cluster.nodes().map((n) => n.metadata.name)).toEqual(['ip-192-168-101-57.us-west-2.compute.internal']);
    expect(cluster.hasObservedEndpointSlices('shop', 'web')).toBe(true);
    const endpoints = cluster.endpointSlices('shop', 'web').flatMap((s) => s.endpoints);
    expect(endpoints.map((e) => [e.addresses[0], e.conditions])).toEqual([
      ['192.168.110.20', { ready: true, serving: true, terminating: false }],
      ['192.168.99.8', { ready: false, serving: true, terminating: true }],
    ]);
  });
});
