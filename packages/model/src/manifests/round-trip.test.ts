import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type Cluster, buildCluster } from '../cluster/index.js';
import { readManifests } from './read.js';
import { writeManifests } from './write.js';

// read → build → write → read → build gives the same cluster: the export carries every allocation (ClusterIPs,
// NodePorts, pod IPs and nodes, names) and the cluster takes it back as observed state.

const shop = readFileSync(new URL('../../examples/shop.yaml', import.meta.url), 'utf8');

const rebuild = (cluster: Cluster) => buildCluster(readManifests([{ file: 'export.yaml', text: writeManifests(cluster) }]));

/** The cluster's objects; `creationTimestamp` left out, since the cluster stamps objects it adopts from a dump. */
const state = (cluster: Cluster) => JSON.parse(JSON.stringify(cluster.objects(), (k, v: unknown) => (k === 'creationTimestamp' ? undefined : v))) as unknown;

describe('manifests round trip through the cluster', () => {
  it('the example: every object, allocation and pod status comes back the same', () => {
    const first = buildCluster(readManifests([{ file: 'shop.yaml', text: shop }]));
    const second = rebuild(first);
    expect(state(second)).toEqual(state(first));
    expect(second.allocatedClusterIPs()).toEqual(first.allocatedClusterIPs());
    expect(second.allocatedNodePorts()).toEqual(first.allocatedNodePorts());
    // Once exported, the export is a fixed point.
    expect(writeManifests(rebuild(second))).toBe(writeManifests(second));
  });

  it('after scaling: the new pods and their IPs survive the export', () => {
    const cluster = buildCluster(readManifests([{ file: 'shop.yaml', text: shop }]));
    cluster.scale({ kind: 'Deployment', namespace: 'shop', name: 'web' }, 5);
    const again = rebuild(cluster);
    expect(again.pods('shop').filter((p) => p.metadata.name.startsWith('web-'))).toHaveLength(5);
    expect(state(again)).toEqual(state(cluster));
  });

  it('any mix of Deployments and Services (random replicas and types) round-trips', () => {
    const app = fc.record({
      replicas: fc.integer({ min: 0, max: 4 }),
      type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'Headless'),
      port: fc.integer({ min: 1, max: 65535 }),
      targetPort: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(
      fc.property(fc.array(app, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 3 }), (apps, nodes) => {
        const docs = [
          `apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: p}\nnodeGroups: [{name: ng, desiredCapacity: ${nodes}}]\n`,
          ...apps.flatMap((a, i) => [
            `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app${i}, namespace: ns}\nspec:\n  replicas: ${a.replicas}\n  selector: {matchLabels: {app: app${i}}}\n  template:\n    metadata: {labels: {app: app${i}}}\n    spec: {containers: [{name: c, ports: [{containerPort: ${a.targetPort}}]}]}\n`,
            `apiVersion: v1\nkind: Service\nmetadata: {name: app${i}, namespace: ns}\nspec:\n  type: ${a.type === 'Headless' ? 'ClusterIP' : a.type}\n${a.type === 'Headless' ? '  clusterIP: None\n' : ''}  selector: {app: app${i}}\n  ports: [{port: ${a.port}, targetPort: ${a.targetPort}}]\n`,
          ]),
        ];
        const cluster = buildCluster(readManifests([{ file: 'in.yaml', text: docs.join('---\n') }]));
        expect(state(rebuild(cluster))).toEqual(state(cluster));
      }),
      { numRuns: 25 },
    );
  });
});
